// Tokens and who a request acts as. A token is "sw_" + 43 URL-safe characters of
// randomness; only its SHA-256 is stored. Roles nest: viewer < operator < admin;
// `agent` is apart (it only claims and completes agent tasks).
//
// Thread-safe (stateless functions and a Store that is thread-safe).
#pragma once

#include <string>

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
// The principal of a UI session cookie, or kUnauthenticated.
Result<Principal> AuthenticateSession(Store& store, const std::string& cookie, int64_t now);

}  // namespace sw
