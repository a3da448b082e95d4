#include "control/connections.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <future>

#include "control/connection_settings.h"
#include "core/time_format.h"
#include "engine/oauth_client.h"

namespace sw {

using nlohmann::json;

namespace {

constexpr int64_t kAuthorizationTtlMs = 10 * 60 * 1000;
constexpr int64_t kIdempotencyTtlMs = 24 * 60 * 60 * 1000;

std::string Base64Url(const unsigned char* data, size_t len) {
  std::string out(sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// RFC 7636 §4: 32 random bytes as the verifier, its SHA-256 as the S256 challenge.
std::pair<std::string, std::string> NewPkcePair() {
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  std::string verifier = Base64Url(random, sizeof random);
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(verifier.data()),
                     verifier.size());
  return {verifier, Base64Url(hash, sizeof hash)};
}

// Waits for a token request's answer.
Result<TokenGrant> Await(std::function<void(TokenDone)> request) {
  auto answered = std::make_shared<std::promise<Result<TokenGrant>>>();
  request([answered](Result<TokenGrant> r) { answered->set_value(std::move(r)); });
  return answered->get_future().get();
}

}  // namespace

AuditEntry Connections::Audit(const std::string& workspace_id, const std::string& actor,
                              const std::string& request_id, std::string action,
                              const std::string& target, std::string before, std::string after) {
  AuditEntry a;
  a.id = ids_.Next("aud");
  a.workspace_id = workspace_id;
  a.at = clock_.NowMs();
  a.actor = actor;
  a.action = std::move(action);
  a.target = target;
  a.request_id = request_id;
  a.status_before = std::move(before);
  a.status_after = std::move(after);
  return a;
}

Result<ConnectionRecord> Connections::Create(const RequestContext& ctx, const json& body,
                                             const std::optional<std::string>& idempotency_key) {
  Result<ConnectionRecord> parsed = ParseNewConnection(body);
  if (!parsed.ok()) {
    return parsed;
  }
  ConnectionRecord c = std::move(*parsed);
  const int64_t now = clock_.NowMs();
  c.id = ids_.Next("conn");
  c.workspace_id = ctx.principal.workspace_id;
  c.created_at = now;
  c.updated_at = now;
  std::optional<IdempotencyKey> key;
  if (idempotency_key) {
    key = IdempotencyKey{*idempotency_key, HashToken("connection:" + body.dump()),
                         now - kIdempotencyTtlMs};
  }
  Result<ConnectionRecord> created =
      store_.CreateConnection(c,
                              Audit(c.workspace_id, ctx.principal.actor(), ctx.request_id,
                                    "connection.create", c.id, "", std::string(ToString(c.status))),
                              key);
  if (!created.ok() || created->id != c.id) {
    return created;  // an error, or the first connection of this key
  }
  spdlog::info("event=connection.create connection={} name={} actor={} request_id={}", c.id, c.name,
               ctx.principal.actor(), ctx.request_id);
  return c;
}

Result<ConnectionRecord> Connections::Load(const RequestContext& ctx, const std::string& id) {
  Result<ConnectionRecord> c = store_.GetConnection(id);
  if (!c.ok() || c->workspace_id != ctx.principal.workspace_id) {
    return NotFound("connection " + id + " not found");
  }
  return c;
}

Result<ConnectionPage> Connections::List(const RequestContext& ctx,
                                         const ConnectionFilter& filter) {
  return store_.ListConnections(ctx.principal.workspace_id, filter);
}

Result<ConnectionRecord> Connections::Get(const RequestContext& ctx, const std::string& id) {
  return Load(ctx, id);
}

Result<ConnectionRecord> Connections::Refresh(const RequestContext& ctx, const std::string& id) {
  Result<ConnectionRecord> c = Load(ctx, id);
  if (!c.ok()) {
    return c;
  }
  Result<ConnectionRecord> refreshed = engine_.connections().RefreshNow(
      *c, Audit(c->workspace_id, ctx.principal.actor(), ctx.request_id, "connection.refresh", id,
                std::string(ToString(c->status)), std::string(ToString(c->status))));
  if (refreshed.ok()) {
    spdlog::info("event=connection.refresh connection={} actor={} request_id={}", id,
                 ctx.principal.actor(), ctx.request_id);
  }
  return refreshed;
}

Result<ConnectionRecord> Connections::Activate(const ConnectionRecord& before,
                                               ConnectionRecord after, const std::string& actor,
                                               const std::string& request_id,
                                               const std::string& action) {
  after.status = ConnectionStatus::kActive;
  after.error_message.clear();
  after.error_at = 0;
  after.updated_at = clock_.NowMs();
  ConnectionWrite w;
  w.connection = std::move(after);
  w.expected_version = before.version;
  w.audit =
      Audit(before.workspace_id, actor, request_id, action, before.id,
            std::string(ToString(before.status)), std::string(ToString(ConnectionStatus::kActive)));
  Result<ConnectionRecord> written = store_.UpdateConnection(w);
  if (!written.ok()) {
    return written;
  }
  spdlog::info("event={} connection={} actor={} request_id={}", action, before.id, actor,
               request_id);
  engine_.ConnectionChanged(before.id);
  engine_.ReleaseReauthWaits(before.id);
  return written;
}

Result<ConnectionRecord> Connections::Reconnect(const RequestContext& ctx, const std::string& id,
                                                const json& body) {
  Result<ConnectionRecord> before = Load(ctx, id);
  if (!before.ok()) {
    return before;
  }
  if (!body.contains("oauth2")) {
    return ConnectionFieldError("oauth2", "'oauth2' is required");
  }
  const json& oauth2 = body["oauth2"];
  ConnectionRecord after = *before;
  if (Status s = ParseOAuth2Settings(oauth2, /*creating=*/false, after.oauth2); !s.ok()) {
    return s;
  }
  if (oauth2.contains("refresh_token") && !oauth2.contains("access_token")) {
    after.oauth2.access_token.clear();  // the old one came from the old grant
    after.oauth2.expires_at = 0;
  }
  return Activate(*before, std::move(after), ctx.principal.actor(), ctx.request_id,
                  "connection.reconnect");
}

Status Connections::Delete(const RequestContext& ctx, const std::string& id) {
  Result<ConnectionRecord> before = Load(ctx, id);
  if (!before.ok()) {
    return before.status();
  }
  Status s = store_.DeleteConnection(
      before->workspace_id, id,
      Audit(before->workspace_id, ctx.principal.actor(), ctx.request_id, "connection.delete", id,
            std::string(ToString(before->status)), "deleted"));
  if (s.ok()) {
    engine_.ConnectionChanged(id);
    // Runs waiting for it go on, and their step fails: it names no connection now.
    engine_.ReleaseReauthWaits(id);
  }
  return s;
}

Result<std::string> Connections::Authorize(const RequestContext& ctx, const std::string& id) {
  Result<ConnectionRecord> c = Load(ctx, id);
  if (!c.ok()) {
    return c.status();
  }
  if (c->oauth2.authorize_url.empty()) {
    return ConnectionFieldError("oauth2.authorize_url",
                                "connection " + id +
                                    " has no 'oauth2.authorize_url' to authorize at; "
                                    "reconnect it with new tokens instead");
  }
  const auto [verifier, challenge] = NewPkcePair();
  const std::string state = NewTokenSecret();
  const int64_t now = clock_.NowMs();
  OAuthStateRecord st;
  st.state_hash = HashToken(state);
  st.connection_id = c->id;
  st.workspace_id = c->workspace_id;
  st.code_verifier = verifier;
  {
    std::lock_guard lock(mu_);
    st.redirect_uri = public_url_ + "/oauth/callback";
  }
  st.expires_at = now + kAuthorizationTtlMs;
  st.created_at = now;
  if (Status s = store_.CreateOAuthState(st); !s.ok()) {
    return s;
  }
  std::vector<std::pair<std::string, std::string>> query = {
      {"response_type", "code"},         {"client_id", c->oauth2.client_id},
      {"redirect_uri", st.redirect_uri}, {"state", state},
      {"code_challenge", challenge},     {"code_challenge_method", "S256"}};
  if (!c->oauth2.scopes.empty()) {
    std::string scope;
    for (const std::string& s : c->oauth2.scopes) {
      scope += (scope.empty() ? "" : " ") + s;
    }
    query.emplace_back("scope", scope);
  }
  const std::string& base = c->oauth2.authorize_url;
  return base + (base.find('?') == std::string::npos ? "?" : "&") + FormEncode(query);
}

Result<AuthorizationDone> Connections::Callback(const std::string& code, const std::string& state,
                                                const std::string& error) {
  if (state.empty()) {
    return InvalidArgument("the provider's answer carries no 'state'");
  }
  Result<OAuthStateRecord> st = store_.TakeOAuthState(HashToken(state), clock_.NowMs());
  if (!st.ok()) {
    return InvalidArgument(st.status().message());
  }
  if (!error.empty()) {
    return InvalidArgument("the provider refused the authorization: " + error);
  }
  if (code.empty()) {
    return InvalidArgument("the provider's answer carries no 'code'");
  }
  Result<ConnectionRecord> before = store_.GetConnection(st->connection_id);
  if (!before.ok()) {
    return InvalidArgument("the connection of this authorization no longer exists");
  }
  HttpClient& http = engine_.Services(nullptr).http;
  Result<TokenGrant> grant = Await([&](TokenDone done) {
    RequestCodeExchange(http, before->oauth2, code, st->redirect_uri, st->code_verifier,
                        clock_.NowMs(), std::move(done));
  });
  if (!grant.ok()) {
    return InvalidArgument("the token endpoint did not exchange the code: " +
                           grant.status().message());
  }
  ConnectionRecord after = *before;
  after.oauth2.access_token = grant->access_token;
  after.oauth2.expires_at = grant->expires_at;
  if (!grant->refresh_token.empty()) {
    after.oauth2.refresh_token = grant->refresh_token;
  }
  Result<ConnectionRecord> written =
      Activate(*before, std::move(after), "oauth:" + before->app, "", "connection.authorize");
  if (!written.ok()) {
    return written.status();
  }
  Result<WorkspaceRecord> ws = store_.FindWorkspace(written->workspace_id);
  return AuthorizationDone{*written, ws.ok() ? ws->slug : std::string()};
}

}  // namespace sw
