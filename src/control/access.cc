#include "control/access.h"

namespace sw {

AccessService::AccessService(Store& store, ControlService& control, const Clock& clock,
                             int64_t session_ttl_ms)
    : store_(store), control_(control), clock_(clock), session_ttl_ms_(session_ttl_ms) {}

Result<Principal> AccessService::AuthenticateToken(const std::string& secret) {
  return tokens_.Authenticate(store_, secret);
}

Result<Principal> AccessService::AuthenticateSession(const std::string& session_secret) {
  return sw::AuthenticateSession(store_, session_secret, clock_.NowMs());
}

Result<SessionInfo> AccessService::DescribeSession(const std::string& session_secret) {
  Result<Principal> principal = AuthenticateSession(session_secret);
  if (!principal.ok()) {
    return principal.status();
  }
  Result<WorkspaceRecord> workspace = store_.FindWorkspace(principal->workspace_id);
  if (!workspace.ok()) {
    return workspace.status();
  }
  return SessionInfo{*std::move(principal), *std::move(workspace)};
}

Result<std::string> AccessService::SignIn(const std::string& token) {
  Result<Principal> principal = Authenticate(store_, token);
  if (!principal.ok()) {
    return principal.status();
  }
  std::string session = NewTokenSecret();
  Status created = store_.CreateSession(HashToken(session), principal->token_id,
                                        clock_.NowMs() + session_ttl_ms_);
  if (!created.ok()) {
    return created;
  }
  return session;
}

void AccessService::SignOut(const std::string& session_secret) {
  if (!session_secret.empty()) {
    store_.DeleteSession(HashToken(session_secret));
  }
}

Status AccessService::RevokeToken(const RequestContext& ctx, const std::string& token_id) {
  Status revoked = control_.RevokeToken(ctx, token_id);
  if (revoked.ok()) {
    tokens_.Clear();
  }
  return revoked;
}

}  // namespace sw
