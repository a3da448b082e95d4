// ConnectionTokens hands `http` steps the access tokens of their connections
// (`with.connection`), refreshing them (RFC 6749 §6) when missing, expiring within
// 60 s, or refused by a target (a 401): one refresh in flight per connection however
// many steps need it (a single flight: 1,000 runs needing a fresh token cause one
// refresh), the rotated refresh token stored with the new access token.
//
// What a refresh failure does (engine/oauth_client.h tells the two kinds apart):
// - transient: the flight is tried again after about 1 s, 2 s, 4 s … (at most 5 min
//   apart, on the engine's Clock) while its steps wait; nothing is held;
// - permanent: the connection is put in `error` (its message and time), audited and
//   notified (`connection_error`) in one commit, and every waiting step is answered
//   kFailedPrecondition "connection_needs_reauth" so its run is held before the call.
// A connection already in `error` is answered the same at once, without a request.
//
// Fresh tokens are cached in memory, so a step whose token is good costs no store
// read; Forget drops the cache of a connection changed elsewhere (a reconnect).
//
// Thread-safe. Owns one thread, which reads and writes the store and runs the
// back-offs; `done` runs on it, or on the caller's thread when a cached token answers.
// Borrows the store, clock, HTTP client and id source: they outlive it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "engine/cancellation.h"
#include "engine/clock.h"
#include "engine/http_client.h"
#include "engine/id_source.h"
#include "engine/oauth_client.h"
#include "store/store.h"

namespace sw {

struct AccessToken {
  std::string connection_id;
  std::string value;
};

// kFailedPrecondition "connection_needs_reauth" with the contract's sentence and
// the connection in its detail (connection_id).
Status ConnectionNeedsReauth(const std::string& connection_id);

class ConnectionTokens {
 public:
  ConnectionTokens(Store& store, const Clock& clock, HttpClient& http, IdSource& ids);
  ~ConnectionTokens();
  ConnectionTokens(const ConnectionTokens&) = delete;
  ConnectionTokens& operator=(const ConnectionTokens&) = delete;

  // Stops the thread; steps still waiting are never answered (they run again after a
  // restart, as work in flight does).
  void Stop();
  // The clock moved (fake clock): look at the back-offs now.
  void Poke();

  using Done = std::function<void(Result<AccessToken>)>;
  // The access token of connection `name` of `workspace_id`. `refused`: the token a
  // target just answered 401 to ("" for none): a different one is answered. Errors:
  // kNotFound "connection_not_found"; ConnectionNeedsReauth; kCancelled once `cancel`
  // (may be null) fires.
  void Get(const std::string& workspace_id, const std::string& name, const std::string& refused,
           std::shared_ptr<CancellationToken> cancel, Done done);

  // Refreshes `connection` now (joining a refresh in flight) and answers it as stored
  // after. ConnectionNeedsReauth when it is in `error` or the refresh failed
  // permanently; kUnavailable "refresh_failed" on a transient failure (not retried).
  // `audit` is committed with the refreshed tokens.
  Result<ConnectionRecord> RefreshNow(const ConnectionRecord& connection, AuditEntry audit);

  // The connection changed or was deleted: drop its cached token, and try a refresh
  // backing off now.
  void Forget(const std::string& connection_id);

 private:
  struct Waiter {
    uint64_t id = 0;
    Done done;
    bool first_outcome_only = false;  // answered by a transient failure too
  };
  struct Entry {
    std::string workspace_id;
    std::string name;
    std::string connection_id;
    bool cached = false;
    std::string token;
    int64_t expires_at = 0;
    bool in_flight = false;
    bool force = false;               // the next flight refreshes even a fresh token
    std::string refused;              // the next flight must not answer this token
    int failures = 0;                 // transient failures in a row
    int64_t retry_at = 0;             // the back-off's end; 0: none
    std::optional<AuditEntry> audit;  // of a refresh asked for: goes with its tokens
    std::vector<Waiter> waiters;
  };

  void Loop();
  void Post(std::function<void()> task);
  // Takes `key`'s waiter list under mu_ and starts a flight unless one is on.
  void StartFlightLocked(const std::string& key, Entry& e);
  void Fly(const std::string& key);
  void Landed(const std::string& key, const ConnectionRecord& used, Result<TokenGrant> grant);
  Status MarkError(const ConnectionRecord& used, const std::string& message);
  // Answers `key`'s waiters with `r` (all of them, or only first_outcome_only ones
  // when `transient`) and ends the flight.
  void Resolve(const std::string& key, const Result<AccessToken>& r, bool transient = false);
  bool Fresh(const std::string& token, int64_t expires_at, const std::string& refused) const;

  Store& store_;
  const Clock& clock_;
  HttpClient& http_;
  IdSource& ids_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;     // by workspace + '\n' + name; guarded by mu_
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  uint64_t next_waiter_ = 1;                 // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  // Token requests whose answer has not come back: Stop aborts them (through
  // `shutdown_`) and waits for their callbacks, which reach this object.
  int requests_out_ = 0;  // guarded by mu_
  std::shared_ptr<CancellationToken> shutdown_ = std::make_shared<CancellationToken>();
  std::thread thread_;
};

}  // namespace sw
