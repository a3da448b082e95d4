#include "control/connections.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <future>
#include <regex>

#include "core/time_format.h"
#include "engine/oauth_client.h"

namespace sw {

using nlohmann::json;

namespace {

constexpr int64_t kAuthorizationTtlMs = 10 * 60 * 1000;
constexpr size_t kMaxFieldLength = 4096;
constexpr int64_t kIdempotencyTtlMs = 24 * 60 * 60 * 1000;

Status Invalid(const std::string& field, const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message, "invalid_request", json{{"field", field}});
}

bool IsHttpUrl(const std::string& s) {
  return (s.starts_with("http://") || s.starts_with("https://")) && s.size() <= kMaxFieldLength &&
         s.find_first_of(" \t\r\n") == std::string::npos;
}

// A string field of `obj`: kInvalidArgument when present but not a non-empty string
// (or, `required`, absent).
Status ReadString(const json& obj, const std::string& prefix, const char* key, bool required,
                  std::string& into) {
  const std::string field = prefix + key;
  if (!obj.contains(key) || obj[key].is_null()) {
    return required ? Invalid(field, "'" + field + "' is required") : Status::Ok();
  }
  if (!obj[key].is_string() || obj[key].get<std::string>().empty() ||
      obj[key].get<std::string>().size() > kMaxFieldLength) {
    return Invalid(field, "'" + field + "' must be a non-empty string of at most 4096 bytes");
  }
  into = obj[key].get<std::string>();
  return Status::Ok();
}

// Reads `oauth2` into `into`, replacing what it carries. `creating`: the fields a new
// connection needs are required.
Status ReadOAuth2(const json& oauth2, bool creating, OAuth2Settings& into) {
  if (!oauth2.is_object()) {
    return Invalid("oauth2", "'oauth2' must be an object");
  }
  static const char* const kKnown[] = {"token_url",     "client_id",    "client_secret",
                                       "refresh_token", "access_token", "expires_at",
                                       "authorize_url", "scopes"};
  for (const auto& [key, value] : oauth2.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return Invalid("oauth2." + key, "Unknown field 'oauth2." + key + "'");
    }
  }
  struct Field {
    const char* key;
    bool required;
    std::string* into;
  };
  for (const Field& f : {Field{"token_url", creating, &into.token_url},
                         Field{"client_id", creating, &into.client_id},
                         Field{"client_secret", creating, &into.client_secret},
                         Field{"refresh_token", creating, &into.refresh_token},
                         Field{"access_token", false, &into.access_token},
                         Field{"authorize_url", false, &into.authorize_url}}) {
    if (Status s = ReadString(oauth2, "oauth2.", f.key, f.required, *f.into); !s.ok()) {
      return s;
    }
  }
  for (const char* key : {"token_url", "authorize_url"}) {
    const std::string& url = std::string(key) == "token_url" ? into.token_url : into.authorize_url;
    if (oauth2.contains(key) && !IsHttpUrl(url)) {
      return Invalid(std::string("oauth2.") + key,
                     std::string("'oauth2.") + key + "' must be an http or https URL");
    }
  }
  if (oauth2.contains("access_token")) {
    into.expires_at = 0;  // a new token's expiry is what comes with it, or unknown
  }
  if (oauth2.contains("expires_at") && !oauth2["expires_at"].is_null()) {
    Result<int64_t> at = oauth2["expires_at"].is_string()
                             ? ParseTime(oauth2["expires_at"].get<std::string>())
                             : Result<int64_t>(InvalidArgument(""));
    if (!at.ok()) {
      return Invalid("oauth2.expires_at", "'oauth2.expires_at' must be an RFC 3339 time");
    }
    into.expires_at = *at;
  }
  if (oauth2.contains("scopes") && !oauth2["scopes"].is_null()) {
    const json& scopes = oauth2["scopes"];
    if (!scopes.is_array() || scopes.size() > 100 ||
        !std::all_of(scopes.begin(), scopes.end(), [](const json& s) {
          return s.is_string() && !s.get<std::string>().empty() &&
                 s.get<std::string>().find(' ') == std::string::npos;
        })) {
      return Invalid("oauth2.scopes", "'oauth2.scopes' must be a list of scope names");
    }
    into.scopes = scopes.get<std::vector<std::string>>();
  }
  return Status::Ok();
}

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
  static const std::regex kName("[a-z0-9][a-z0-9_-]{0,62}");
  ConnectionRecord c;
  if (Status s = ReadString(body, "", "name", true, c.name); !s.ok()) {
    return s;
  }
  if (!std::regex_match(c.name, kName)) {
    return Invalid("name", "'name' must match [a-z0-9][a-z0-9_-]{0,62}");
  }
  if (Status s = ReadString(body, "", "app", true, c.app); !s.ok()) {
    return s;
  }
  if (c.app.size() > 64) {
    return Invalid("app", "'app' must be at most 64 bytes");
  }
  if (!body.contains("oauth2")) {
    return Invalid("oauth2", "'oauth2' is required");
  }
  if (Status s = ReadOAuth2(body["oauth2"], /*creating=*/true, c.oauth2); !s.ok()) {
    return s;
  }
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
  engine_.connections().Forget(before.id);
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
    return Invalid("oauth2", "'oauth2' is required");
  }
  const json& oauth2 = body["oauth2"];
  ConnectionRecord after = *before;
  if (Status s = ReadOAuth2(oauth2, /*creating=*/false, after.oauth2); !s.ok()) {
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
    engine_.connections().Forget(id);
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
    return Invalid("oauth2.authorize_url", "connection " + id +
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
