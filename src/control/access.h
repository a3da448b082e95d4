// AccessService decides who a request acts as: a bearer token (checked through a
// TokenCache, so a request costs no store read for a token seen lately) or a web UI
// session. A session is made by signing in with a token; its cookie holds a secret of
// its own (stored hashed), so signing out ends it for good. Revoking a token through
// here also forgets the cached tokens, so the revoked one is refused from the next
// request on.
//
// Thread-safe. Borrows the store, the control service and the clock, which outlive it.
#pragma once

#include <cstdint>
#include <string>

#include "control/auth.h"
#include "control/service.h"
#include "core/result.h"
#include "engine/clock.h"
#include "store/records.h"
#include "store/store.h"

namespace sw {

struct SessionInfo {
  Principal principal;
  WorkspaceRecord workspace;
};

class AccessService {
 public:
  static constexpr int64_t kDefaultSessionTtlMs = 24LL * 3600 * 1000;

  AccessService(Store& store, ControlService& control, const Clock& clock,
                int64_t session_ttl_ms = kDefaultSessionTtlMs);

  // kUnauthenticated when the secret is empty, unknown or revoked.
  Result<Principal> AuthenticateToken(const std::string& secret);
  // kUnauthenticated when the session is unknown, ended or expired.
  Result<Principal> AuthenticateSession(const std::string& session_secret);
  // Who the session is signed in as, and its workspace.
  Result<SessionInfo> DescribeSession(const std::string& session_secret);
  // A new session for `token` (kUnauthenticated for a bad token): its secret.
  Result<std::string> SignIn(const std::string& token);
  // Ends the session; an unknown one is no error.
  void SignOut(const std::string& session_secret);
  Status RevokeToken(const RequestContext& ctx, const std::string& token_id);

  int64_t session_ttl_ms() const { return session_ttl_ms_; }

 private:
  Store& store_;
  ControlService& control_;
  const Clock& clock_;
  const int64_t session_ttl_ms_;
  TokenCache tokens_;
};

}  // namespace sw
