// Connections (API.md "Connections and reauthorization"): the CRUD of a workspace's
// OAuth 2.0 connections, a refresh now, a reconnect with new tokens, and the
// authorization-code flow: GET .../authorize redirects the browser to the provider,
// which sends it back to the public GET /oauth/callback (authorized by its one-use
// state). A connection is answered without its secrets.
#include "api/html_page.h"
#include "api/render.h"
#include "api/routes.h"
#include "control/connections.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

namespace {

json ConnectionJson(const ConnectionRecord& c) {
  return json{{"id", c.id},
              {"name", c.name},
              {"app", c.app},
              {"status", ToString(c.status)},
              {"error", c.status == ConnectionStatus::kError
                            ? json{{"message", c.error_message}, {"at", TimeOrNull(c.error_at)}}
                            : json(nullptr)},
              {"token_url", c.oauth2.token_url},
              {"client_id", c.oauth2.client_id},
              {"authorize_url",
               c.oauth2.authorize_url.empty() ? json(nullptr) : json(c.oauth2.authorize_url)},
              {"scopes", c.oauth2.scopes},
              {"expires_at", TimeOrNull(c.oauth2.expires_at)},
              {"created_at", FormatTime(c.created_at)},
              {"updated_at", FormatTime(c.updated_at)}};
}

void ReplyConnection(Call& call, int status, const Result<ConnectionRecord>& c) {
  c.ok() ? call.Reply(status, ConnectionJson(*c)) : call.Fail(c.status());
}

}  // namespace

void ListConnections(ApiContext& api, Call& call) {
  ConnectionFilter filter;
  if (Status s = ParsePaging(call, {"status"}, filter.limit, filter.cursor, "conn_"); !s.ok()) {
    call.Fail(s);
    return;
  }
  if (const std::string status = call.Query("status"); !status.empty()) {
    filter.status = ParseConnectionStatus(status);
    if (!filter.status) {
      call.Fail(InvalidArgument("'status' must be active or error", {.field = "status"}));
      return;
    }
  }
  Result<ConnectionPage> page = api.connections.List(call.ctx, filter);
  if (!page.ok()) {
    call.Fail(page.status());
    return;
  }
  json items = json::array();
  for (const ConnectionRecord& c : page->items) {
    items.push_back(ConnectionJson(c));
  }
  call.Reply(200, json{{"items", items}, {"next_cursor", CursorJson(page->next_cursor)}});
}

void CreateConnection(ApiContext& api, Call& call) {
  if (!call.ParseObject({"name", "app", "oauth2"}, true)) return;
  Result<std::optional<std::string>> key = IdempotencyKeyOf(call);
  if (!key.ok()) {
    call.Fail(key.status());
    return;
  }
  ReplyConnection(call, 201, api.connections.Create(call.ctx, call.body, *key));
}

void GetConnection(ApiContext& api, Call& call) {
  ReplyConnection(call, 200, api.connections.Get(call.ctx, call.Param("connection_id")));
}

void DeleteConnection(ApiContext& api, Call& call) {
  Status s = api.connections.Delete(call.ctx, call.Param("connection_id"));
  if (!s.ok()) {
    call.Fail(s);
    return;
  }
  Response r;
  r.status = 204;
  r.headers = {{"X-Request-Id", call.request_id}};
  call.ex->Respond(std::move(r));
}

void RefreshConnection(ApiContext& api, Call& call) {
  if (!call.ParseObject({})) return;
  // The token endpoint may take seconds: not on an I/O thread.
  api.scripts.RunBlocking([&api, call]() mutable {
    ReplyConnection(call, 200, api.connections.Refresh(call.ctx, call.Param("connection_id")));
  });
}

void ReconnectConnection(ApiContext& api, Call& call) {
  if (!call.ParseObject({"oauth2"}, true)) return;
  ReplyConnection(call, 200,
                  api.connections.Reconnect(call.ctx, call.Param("connection_id"), call.body));
}

void AuthorizeConnection(ApiContext& api, Call& call) {
  Result<std::string> to = api.connections.Authorize(call.ctx, call.Param("connection_id"));
  if (!to.ok()) {
    call.Fail(to.status());
    return;
  }
  Response r;
  r.status = 302;
  r.headers = {{"Location", *to}, {"Cache-Control", "no-store"}, {"X-Request-Id", call.request_id}};
  call.ex->Respond(std::move(r));
}

void OAuthCallback(ApiContext& api, Call& call) {
  api.scripts.RunBlocking([&api, call]() mutable {
    Result<AuthorizationDone> done =
        api.connections.Callback(call.Query("code"), call.Query("state"), call.Query("error"));
    if (!done.ok()) {
      ReplyHtml(call, 400, "Connection not authorized",
                "<h1>The connection was not authorized</h1><p>" +
                    HtmlEscape(done.status().message()) +
                    "</p><p><a href=\"/\">Back to Stepwell</a>: open the connection and "
                    "start Reconnect again.</p>");
      return;
    }
    Response r;
    r.status = 303;
    r.headers = {{"Location", "/" + done->workspace_slug + "/connections/" + done->connection.id +
                                  "?reconnected=1"},
                 {"Cache-Control", "no-store"},
                 {"X-Request-Id", call.request_id}};
    call.ex->Respond(std::move(r));
  });
}

}  // namespace sw::routes
