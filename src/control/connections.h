// Connections is what the API calls for connections (API.md "Connections and
// reauthorization"): create, list, read, refresh, reconnect, delete, and the
// authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636) that the UI's Reconnect
// starts. It validates what a caller sends, scopes every connection to the caller's
// workspace (another workspace's is "not found"), audits every change, and tells the
// engine what a change means for runs: a reconnected connection's cached token is
// dropped and the agent-mode runs waiting for it go on.
//
// Records carry their secrets (the engine uses them); the API renders a connection
// without them.
//
// Thread-safe; blocks on commits and on token requests.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "control/service.h"
#include "core/result.h"
#include "engine/engine.h"
#include "store/store.h"

namespace sw {

// Where an authorization-code flow ended: the connection, now active, and its
// workspace's slug (the UI page to send the browser to).
struct AuthorizationDone {
  ConnectionRecord connection;
  std::string workspace_slug;
};

class Connections {
 public:
  Connections(Store& store, Engine& engine, const Clock& clock, IdSource& ids)
      : store_(store), engine_(engine), clock_(clock), ids_(ids) {}

  // The server's address as browsers reach it: the OAuth redirect URI is this +
  // "/oauth/callback". Set once the server listens.
  void SetPublicUrl(std::string url) {
    std::lock_guard lock(mu_);
    public_url_ = std::move(url);
  }

  // `body`: {"name", "app", "oauth2": {...}} (API.md); kInvalidArgument naming the field.
  // `idempotency_key`: a repeat answers the first connection.
  Result<ConnectionRecord> Create(const RequestContext& ctx, const nlohmann::json& body,
                                  const std::optional<std::string>& idempotency_key);
  Result<ConnectionPage> List(const RequestContext& ctx, const ConnectionFilter& filter);
  Result<ConnectionRecord> Get(const RequestContext& ctx, const std::string& id);
  // A refresh now: ConnectionNeedsReauth (409) when it cannot be refreshed;
  // kUnavailable "refresh_failed" when the token endpoint failed for now.
  Result<ConnectionRecord> Refresh(const RequestContext& ctx, const std::string& id);
  // `body`: {"oauth2": {...}}: what it carries replaces what is stored; the connection
  // is active again.
  Result<ConnectionRecord> Reconnect(const RequestContext& ctx, const std::string& id,
                                     const nlohmann::json& body);
  Status Delete(const RequestContext& ctx, const std::string& id);

  // Starts the authorization-code flow: answers the provider's authorize URL to send
  // the browser to (with state and a PKCE challenge; the state is kept 10 minutes).
  Result<std::string> Authorize(const RequestContext& ctx, const std::string& id);
  // The provider sent the browser back: `state` (one use) names the flow; `code` is
  // exchanged at the token URL and the connection becomes active. `error`: the
  // provider's refusal.
  Result<AuthorizationDone> Callback(const std::string& code, const std::string& state,
                                     const std::string& error);

 private:
  Result<ConnectionRecord> Load(const RequestContext& ctx, const std::string& id);
  // Writes `after` over `before` as active, audited as `action` by `actor`, then tells
  // the engine.
  Result<ConnectionRecord> Activate(const ConnectionRecord& before, ConnectionRecord after,
                                    const std::string& actor, const std::string& request_id,
                                    const std::string& action);
  AuditEntry Audit(const std::string& workspace_id, const std::string& actor,
                   const std::string& request_id, std::string action, const std::string& target,
                   std::string before, std::string after);

  Store& store_;
  Engine& engine_;
  const Clock& clock_;
  IdSource& ids_;
  std::mutex mu_;
  std::string public_url_;  // guarded by mu_
};

}  // namespace sw
