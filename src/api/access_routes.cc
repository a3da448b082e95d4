// Access: the web UI's session (sign in, who am I, sign out), tokens, and the audit log.

#include "api/render.h"
#include "api/routes.h"
#include "core/ids.h"

namespace sw::routes {

using nlohmann::json;

// Who the UI is signed in as: its workspace (the UI's URLs carry the slug) and role.
void GetSession(ApiContext& api, Call& call) {
  Result<SessionInfo> session =
      api.access.DescribeSession(CookieValue(call.req.Header("cookie"), kSessionCookie));
  if (!session.ok()) {
    call.Fail(session.status());
    return;
  }
  call.Reply(200,
             json{{"workspace", {{"id", session->workspace.id}, {"slug", session->workspace.slug}}},
                  {"role", ToString(session->principal.role)},
                  {"token_name", session->principal.token_name}});
}

void SignIn(ApiContext& api, Call& call) {
  if (!call.ParseObject({"token"}, true)) return;
  if (!call.body.contains("token") || !call.body["token"].is_string()) {
    call.Fail(InvalidArgument("'token' must be a string"));
    return;
  }
  Result<std::string> session = api.access.SignIn(call.body["token"].get<std::string>());
  if (!session.ok()) {
    call.Fail(session.status());
    return;
  }
  call.Reply(204, nullptr,
             {{"Set-Cookie", std::string(kSessionCookie) + "=" + *session +
                                 "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                 std::to_string(api.access.session_ttl_ms() / 1000)}});
}

void SignOut(ApiContext& api, Call& call) {
  api.access.SignOut(CookieValue(call.req.Header("cookie"), kSessionCookie));
  call.Reply(204, nullptr,
             {{"Set-Cookie",
               std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"}});
}

void ListTokens(ApiContext& api, Call& call) {
  Result<std::vector<TokenRecord>> tokens = api.control.ListTokens(call.ctx);
  if (!tokens.ok()) {
    call.Fail(tokens.status());
    return;
  }
  json items = json::array();
  for (const TokenRecord& t : *tokens) {
    items.push_back(TokenJson(t));
  }
  call.Reply(200, json{{"items", items}, {"next_cursor", nullptr}});
}

void CreateToken(ApiContext& api, Call& call) {
  if (!call.ParseObject({"role", "name"}, true)) return;
  std::optional<Role> role = call.body.contains("role") && call.body["role"].is_string()
                                 ? ParseRole(call.body["role"].get<std::string>())
                                 : std::nullopt;
  if (!role) {
    call.Fail(
        InvalidArgument("'role' must be viewer, operator, admin or agent", {.field = "role"}));
    return;
  }
  if (!call.body.contains("name") || !call.body["name"].is_string() ||
      call.body["name"].get<std::string>().empty() ||
      call.body["name"].get<std::string>().size() > 100) {
    call.Fail(InvalidArgument("'name' must be a non-empty string (at most 100 characters)",
                              {.field = "name"}));
    return;
  }
  Result<CreatedToken> created =
      api.control.CreateToken(call.ctx, *role, call.body["name"].get<std::string>());
  if (!created.ok()) {
    call.Fail(created.status());
    return;
  }
  json body = TokenJson(created->record);
  body["token"] = created->secret;
  call.Reply(201, body);
}

void RevokeToken(ApiContext& api, Call& call) {
  Status s = api.access.RevokeToken(call.ctx, call.Param("token_id"));
  s.ok() ? call.Reply(204, nullptr) : call.Fail(s);
}

void ListAudit(ApiContext& api, Call& call) {
  int limit = 50;
  if (auto l = call.req.query.find("limit"); l != call.req.query.end()) {
    std::optional<int64_t> v = ParseInt(l->second);
    if (!v || *v < 1 || *v > 500) {
      call.Fail(InvalidArgument("'limit' must be an integer from 1 to 500"));
      return;
    }
    limit = static_cast<int>(*v);
  }
  const std::string cursor = call.Query("cursor");
  if (!cursor.empty() && !IsWellFormedId("aud", cursor)) {
    call.Fail(
        InvalidArgument("'cursor' is not a cursor this server gave out", {.field = "cursor"}));
    return;
  }
  Result<std::vector<AuditEntry>> entries =
      api.control.ListAudit(call.ctx, call.Query("target"), cursor, limit + 1);
  if (!entries.ok()) {
    call.Fail(entries.status());
    return;
  }
  json items = json::array();
  json next = nullptr;
  for (size_t i = 0; i < entries->size(); ++i) {
    if (i == static_cast<size_t>(limit)) {
      next = (*entries)[i - 1].id;
      break;
    }
    items.push_back(AuditJson((*entries)[i]));
  }
  call.Reply(200, json{{"items", items}, {"next_cursor", next}});
}

}  // namespace sw::routes
