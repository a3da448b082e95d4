// Tokens and who a request acts as. A token is "sw_" + 43 URL-safe characters of
// randomness; only its SHA-256 is stored. Roles nest: viewer < operator < admin;
// `agent` is apart (it only claims and completes agent tasks).
//
// Thread-safe (stateless functions, a Store that is thread-safe, a locked cache).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/result.h"
#include "store/records.h"
#include "store/store.h"

namespace sw {

struct Principal {
  std::string workspace_id;
  std::string token_id;
  std::string token_name;
  Role role = Role::kViewer;
  std::string actor() const { return "token:" + token_name; }
};

std::string NewTokenSecret();
std::string HashToken(const std::string& secret);

// True when `role` may do what `needed` may.
bool RoleAllows(Role role, Role needed);

// The principal of a bearer secret, or kUnauthenticated.
Result<Principal> Authenticate(Store& store, const std::string& secret);
// Authenticate, remembering the principals of tokens seen lately so that a request
// costs no store read for its token. Clear() after a revoke; an entry also lapses
// after `ttl`, the longest a revoke made elsewhere (another server on the same store)
// goes unnoticed.
class TokenCache {
 public:
  explicit TokenCache(std::chrono::milliseconds ttl = std::chrono::seconds(1)) : ttl_(ttl) {}
  Result<Principal> Authenticate(Store& store, const std::string& secret);
  void Clear();

 private:
  struct Entry {
    Principal principal;
    std::chrono::steady_clock::time_point lapses_at;
  };
  static constexpr size_t kMaxEntries = 1024;

  const std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // by token hash; guarded by mu_
  // Bumped by Clear: a read that began before a revoke must not be remembered after it.
  uint64_t generation_ = 0;  // guarded by mu_
};

// The principal of a UI session cookie, or kUnauthenticated.
Result<Principal> AuthenticateSession(Store& store, const std::string& cookie, int64_t now);

}  // namespace sw
