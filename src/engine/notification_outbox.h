// NotificationOutbox sends the deliveries of notifications: it takes the due ones from
// the store (where each notification's commit queued them), sends each (email through
// the SmtpClient, webhooks through the HttpClient) and records the outcome with a
// compare-and-set on the delivery. A failed attempt is tried again after a back-off of
// about 1 s, 2 s, 4 s … at most 5 min; after kMaxAttempts attempts the delivery is
// `failed`. An email with no SMTP server configured fails at once, with a last error
// that says so. Delivery is at least once: a delivery stays pending in the store until
// its outcome is recorded, so one in flight when the process dies is sent again after
// a restart.
//
// Several instances on one store each run an outbox: an attempt is sent only by the
// instance that claimed it in the store (Store::ClaimDueDeliveries, `claimer`: the
// instance's id), for `claim_ms`, longer than any send takes. The claim ends with the
// attempt's outcome; a killed instance's claims lapse and another sends them, or its
// own successor (same id) takes them back at once.
//
// Webhooks go through the engine's HttpClient, not libcurl: it applies the http step's
// target rules (private addresses refused unless allowed, checked after name
// resolution and on every redirect), so a webhook reaches nothing an http step could
// not, and it is asynchronous, so a slow receiver holds no thread.
//
// The outbox looks at the store when poked (the store's outbox listener: a commit queued
// deliveries; the fake clock moved), when a send finishes, when a back-off ends, and at
// least every `poll_ms`. Times come from the engine's Clock, so `--fake-clock` moves
// back-offs.
//
// Thread-safe. Owns one thread, which reads and writes the store; sends finish on the
// clients' threads and hand their outcome to it. Borrows the store, clock and clients:
// they outlive it; a send that finishes after Stop is dropped (it stays pending).
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

#include "core/result.h"
#include "engine/cancellation.h"
#include "engine/clock.h"
#include "engine/http_client.h"
#include "engine/notification_message.h"
#include "engine/smtp_client.h"
#include "store/store.h"

namespace sw {

struct OutboxOptions {
  int max_attempts = 10;
  int64_t first_backoff_ms = 1000;
  int64_t max_backoff_ms = 5 * 60 * 1000;
  int batch = 64;          // deliveries read per look at the store
  int max_in_flight = 32;  // sends at once
  int64_t poll_ms = 1000;  // the longest wait between two looks (wall time)
  int64_t webhook_timeout_ms = 10000;
  std::string claimer = "local";  // this instance's id: whose claims are its own
  // How long a claim holds: longer than a webhook's timeout and an email's SMTP
  // exchange, so a claim lapses only when its instance is gone.
  int64_t claim_ms = 60 * 1000;
  std::string public_url;  // links in messages: this + the web UI path
  std::string smtp_from;   // the email's sender
};

// Mints a magic link for `recipient` to decide approval `approval_id`: a path such as
// "/approve/<token>". An error: the message goes without approve/deny links.
using LinkMinter = std::function<Result<std::string>(const std::string& approval_id,
                                                     const std::string& recipient)>;

class NotificationOutbox {
 public:
  // `smtp` may be null (no --smtp-url): email deliveries then fail.
  NotificationOutbox(Store& store, const Clock& clock, HttpClient& http, SmtpClient* smtp,
                     LinkMinter mint, OutboxOptions options);
  ~NotificationOutbox();
  NotificationOutbox(const NotificationOutbox&) = delete;
  NotificationOutbox& operator=(const NotificationOutbox&) = delete;

  void Start();
  // Stops looking and aborts the webhooks in flight; what was not recorded stays
  // pending in the store.
  void Stop();
  // Look at the store now: deliveries were queued, or the clock moved.
  void Poke();

 private:
  // An attempt's outcome, handed from a client's thread to the outbox's.
  struct Finished {
    DeliveryRecord delivery;
    Status outcome;
    bool permanent = false;  // no further attempt can do better
  };
  // Shared (shared_ptr) by the outbox and the callbacks of its sends in flight, which
  // may finish after the outbox stopped.
  struct Mailbox {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Finished> finished;  // guarded by mu
    bool poked = false;             // guarded by mu
    bool stopping = false;          // guarded by mu
    void Push(Finished f);
  };

  void Loop();
  // Claims and sends the due deliveries; answers when the soonest pending one not yet
  // due is due (0: none within the horizon).
  int64_t DispatchDue(int64_t now);
  // Claims the due deliveries that nobody else holds and sends them.
  void ClaimAndDispatch(int64_t now);
  void Dispatch(const OutboxItem& item, int64_t now);
  void SendWebhook(const OutboxItem& item, const std::optional<ApprovalLinks>& links);
  void SendEmail(const OutboxItem& item, const std::optional<ApprovalLinks>& links, int64_t now);
  std::optional<ApprovalLinks> MintLinks(const OutboxItem& item);
  void Record(const Finished& f);

  Store& store_;
  const Clock& clock_;
  HttpClient& http_;
  SmtpClient* const smtp_;
  const LinkMinter mint_;
  const OutboxOptions options_;
  const std::shared_ptr<Mailbox> mailbox_;
  std::thread thread_;
  // Owned by the outbox's thread: the sends in flight, by delivery id, and the tokens
  // that abort their webhooks.
  std::map<std::string, std::shared_ptr<CancellationToken>> in_flight_;
};

}  // namespace sw
