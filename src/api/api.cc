#include "api/api.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <mutex>
#include <set>

#include "api/render.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace sw {

using nlohmann::json;

namespace {

constexpr char kCookieName[] = "stepwell_session";

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      slash = path.size();
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (!out.empty() && out.back().empty()) {
    out.pop_back();
  }
  return out;
}

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    size_t first = part.find_first_not_of(' ');
    part = first == std::string::npos ? "" : part.substr(first);
    if (part.rfind(name + "=", 0) == 0) {
      return part.substr(name.size() + 1);
    }
    pos = end + 1;
  }
  return "";
}

bool IsJsonContentType(const std::string& ct) {
  std::string media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  std::transform(media.begin(), media.end(), media.begin(), ::tolower);
  return media == "application/json";
}

// The deepest nesting of arrays and objects in `text` (strings skipped). Checked
// before parsing: very deep JSON would exhaust the stack when it is freed or printed.
int JsonDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// Run ids are "run_" + 26 Crockford base32 characters.
bool LooksLikeRunId(const std::string& s) {
  if (s.size() != 30 || s.rfind("run_", 0) != 0) {
    return false;
  }
  for (size_t i = 4; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) {
      return false;
    }
  }
  return true;
}

Status MethodNotAllowed() {
  return Status(StatusCode::kInvalidArgument, "Method not allowed on this path",
                "method_not_allowed");
}

}  // namespace

// One request: its exchange, who is asking and helpers to answer.
struct Api::Call {
  std::shared_ptr<Exchange> ex;
  const Request& req;
  std::string request_id;
  RequestContext ctx;
  bool via_cookie = false;
  json body;
  int max_json_depth = 64;

  void Reply(int status, const json& body_json,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    Response r;
    r.status = status;
    r.headers = std::move(headers);
    r.headers.emplace_back("X-Request-Id", request_id);
    if (status != 204) {
      r.body = body_json.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    ex->Respond(std::move(r));
  }

  void Fail(const Status& s) {
    int status = s.api_code() == "method_not_allowed" ? 405 : HttpStatusFor(s);
    if (status >= 500) {
      spdlog::error("event=http.error method={} path={} status={} request_id={} message={}",
                    req.method, req.path, status, request_id, s.message());
    }
    if (s.api_code() == "unsupported_media_type") status = 415;
    Reply(status, ErrorJson(s));
  }

  bool Require(Role role) {
    if (!RoleAllows(ctx.principal.role, role)) {
      Fail(Status(StatusCode::kPermissionDenied,
                  "This action needs the " + std::string(ToString(role)) + " role", "forbidden"));
      return false;
    }
    return true;
  }

  // Parses the body as a JSON object with only `allowed` keys. An empty body is {}.
  bool ParseObject(std::initializer_list<std::string_view> allowed, bool required = false) {
    if (!ParseJson(required)) {
      return false;
    }
    if (!body.is_object()) {
      Fail(InvalidArgument("The request body must be a JSON object"));
      return false;
    }
    for (const auto& [key, value] : body.items()) {
      bool known = false;
      for (std::string_view a : allowed) known = known || a == key;
      if (!known) {
        Fail(InvalidArgument("Unknown field '" + key + "'", json{{"field", key}}));
        return false;
      }
    }
    return true;
  }

  bool ParseJson(bool required) {
    if (req.body.empty()) {
      if (required) {
        Fail(InvalidArgument("A JSON request body is required"));
        return false;
      }
      body = json::object();
      return true;
    }
    if (!IsJsonContentType(req.Header("content-type"))) {
      Fail(Status(StatusCode::kInvalidArgument, "Content-Type must be application/json",
                  "unsupported_media_type"));
      return false;
    }
    if (JsonDepth(req.body) > max_json_depth) {
      Fail(
          InvalidArgument("JSON nested deeper than " + std::to_string(max_json_depth) + " levels"));
      return false;
    }
    try {
      body = json::parse(req.body);
    } catch (const json::parse_error& e) {
      Fail(InvalidArgument(std::string("Malformed JSON: ") + e.what()));
      return false;
    }
    return true;
  }
};

Api::Api(ControlService& control, Store& store, Engine& engine, AgentQueue& agents, RunWatch& watch,
         const Clock& clock, ManualClock* manual_clock, ApiOptions options)
    : control_(control),
      store_(store),
      engine_(engine),
      agents_(agents),
      watch_(watch),
      clock_(clock),
      manual_clock_(manual_clock),
      options_(options),
      ui_(options_.ui_dir) {}

void Api::Handle(std::shared_ptr<Exchange> ex) {
  const Request& req = ex->request();
  Call call{ex, req, req.Header("x-request-id"), {}, false, json(), options_.max_json_depth};
  if (call.request_id.empty() || call.request_id.size() > 128) {
    static std::atomic<uint64_t> counter{0};
    call.request_id = "req_" + std::to_string(++counter);
  }
  call.ctx.request_id = call.request_id;
  Route(call);
}

void Api::Route(Call& call) {
  const Request& req = call.req;
  if (req.path == "/healthz") {
    if (!store_.Healthy()) {
      call.Reply(503, json{{"status", "store_failed"}});
      return;
    }
    call.Reply(200, json{{"status", "ok"}});
    return;
  }
  if (req.path == "/metrics") {
    Metrics(call);
    return;
  }
  std::vector<std::string> seg = Split(req.path);
  if (seg.empty() || seg[0] != "api") {
    // Everything outside /api/ is the web UI (its deep links answer index.html).
    if (req.method != "GET" && req.method != "HEAD") {
      call.Fail(MethodNotAllowed());
      return;
    }
    Result<Response> file = ui_.Serve(req.path);
    if (!file.ok()) {
      call.Fail(file.status());
      return;
    }
    call.ex->Respond(std::move(file).value());
    return;
  }
  if (seg.size() < 2 || seg[1] != "v1") {
    call.Fail(NotFound("No route for " + req.path));
    return;
  }
  seg.erase(seg.begin(), seg.begin() + 2);
  if (!seg.empty() && seg[0] == "session") {
    Session(call);
    return;
  }
  // Authenticate: the bearer token, else the UI's session cookie.
  std::string auth = req.Header("authorization");
  std::string secret;
  if (auth.rfind("Bearer ", 0) == 0) {
    secret = auth.substr(7);
  } else if (auth.empty()) {
    secret = CookieValue(req.Header("cookie"), kCookieName);
    call.via_cookie = !secret.empty();
  }
  Result<Principal> principal = call.via_cookie
                                    ? AuthenticateSession(store_, secret, clock_.NowMs())
                                    : tokens_.Authenticate(store_, secret);
  if (!principal.ok()) {
    call.Fail(principal.status());
    return;
  }
  call.ctx.principal = *principal;
  if (call.via_cookie && req.method != "GET" && req.method != "HEAD" &&
      !IsJsonContentType(req.Header("content-type"))) {
    call.Fail(Status(StatusCode::kPermissionDenied,
                     "Requests authenticated by the session cookie that change state must be "
                     "Content-Type: application/json",
                     "forbidden"));
    return;
  }
  if (seg.empty()) {
    call.Fail(NotFound("No route for " + req.path));
    return;
  }
  if (seg[0] == "runs") {
    RouteRuns(call, seg);
  } else if (seg[0] == "agents" && seg.size() == 2 && seg[1] == "claim") {
    ClaimTask(call);
  } else if (seg[0] == "agent-tasks") {
    RouteAgentTask(call, seg);
  } else if (seg[0] == "workflows") {
    RouteWorkflows(call, seg);
  } else if (seg[0] == "tokens") {
    RouteTokens(call, seg);
  } else if (seg[0] == "audit" && seg.size() == 1) {
    if (req.method != "GET") {
      call.Fail(MethodNotAllowed());
      return;
    }
    if (!call.Require(Role::kAdmin)) return;
    int limit = 50;
    if (auto l = req.query.find("limit"); l != req.query.end()) {
      std::optional<int64_t> v = ParseInt(l->second);
      if (!v || *v < 1 || *v > 500) {
        call.Fail(InvalidArgument("'limit' must be an integer from 1 to 500"));
        return;
      }
      limit = static_cast<int>(*v);
    }
    std::string target = req.query.contains("target") ? req.query.at("target") : "";
    std::string cursor = req.query.contains("cursor") ? req.query.at("cursor") : "";
    Result<std::vector<AuditEntry>> entries =
        control_.ListAudit(call.ctx, target, cursor, limit + 1);
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
  } else if (seg[0] == "testing" && manual_clock_ != nullptr && seg.size() == 3 &&
             seg[1] == "clock" && seg[2] == "advance" && req.method == "POST") {
    if (!call.Require(Role::kAdmin) || !call.ParseObject({"ms"}, true)) return;
    if (!call.body.contains("ms") || !call.body["ms"].is_number_integer() ||
        call.body["ms"].get<int64_t>() < 0) {
      call.Fail(InvalidArgument("'ms' must be a non-negative integer"));
      return;
    }
    manual_clock_->Advance(call.body["ms"].get<int64_t>());
    engine_.PokeTimers();
    call.Reply(200, json{{"now", FormatTime(manual_clock_->NowMs())}});
  } else {
    call.Fail(NotFound("No route for " + req.path));
  }
}

void Api::Session(Call& call) {
  const Request& req = call.req;
  if (req.method == "GET") {
    // Who the UI is signed in as: its workspace (the URLs carry the slug) and role.
    Result<Principal> principal =
        AuthenticateSession(store_, CookieValue(req.Header("cookie"), kCookieName), clock_.NowMs());
    if (!principal.ok()) {
      call.Fail(principal.status());
      return;
    }
    Result<WorkspaceRecord> ws = store_.FindWorkspace(principal->workspace_id);
    if (!ws.ok()) {
      call.Fail(ws.status());
      return;
    }
    call.Reply(200, json{{"workspace", {{"id", ws->id}, {"slug", ws->slug}}},
                         {"role", ToString(principal->role)},
                         {"token_name", principal->token_name}});
    return;
  }
  if (req.method == "DELETE") {
    std::string cookie = CookieValue(req.Header("cookie"), kCookieName);
    if (!cookie.empty()) {
      store_.DeleteSession(HashToken(cookie));
    }
    call.Reply(204, nullptr,
               {{"Set-Cookie",
                 std::string(kCookieName) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"}});
    return;
  }
  if (req.method != "POST") {
    call.Fail(MethodNotAllowed());
    return;
  }
  if (!call.ParseObject({"token"}, true)) return;
  if (!call.body.contains("token") || !call.body["token"].is_string()) {
    call.Fail(InvalidArgument("'token' must be a string"));
    return;
  }
  Result<Principal> principal = Authenticate(store_, call.body["token"].get<std::string>());
  if (!principal.ok()) {
    call.Fail(principal.status());
    return;
  }
  // The cookie holds a session secret of its own, so signing out ends it for good.
  const std::string session = NewTokenSecret();
  Status created = store_.CreateSession(HashToken(session), principal->token_id,
                                        clock_.NowMs() + options_.session_ttl_ms);
  if (!created.ok()) {
    call.Fail(created);
    return;
  }
  call.Reply(204, nullptr,
             {{"Set-Cookie", std::string(kCookieName) + "=" + session +
                                 "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                 std::to_string(options_.session_ttl_ms / 1000)}});
}

namespace {

json TaskJson(const AgentTaskRecord& t) {
  return {{"id", t.id},
          {"run_id", t.run_id},
          {"step_id", t.step_id},
          {"queue", t.queue},
          {"input", t.input},
          {"attempt", t.attempt},
          {"lease_expires_at", FormatTime(t.lease_expires_at)}};
}

// `agent_id` of a body: absent, or 1 to 128 characters.
std::optional<std::string> AgentIdOf(const json& body) {
  if (!body.contains("agent_id")) {
    return std::string();
  }
  const json& id = body["agent_id"];
  if (!id.is_string() || id.get<std::string>().empty() || id.get<std::string>().size() > 128) {
    return std::nullopt;
  }
  return id.get<std::string>();
}

}  // namespace

void Api::ClaimTask(Call& call) {
  if (call.req.method != "POST") {
    call.Fail(MethodNotAllowed());
    return;
  }
  if (!call.Require(Role::kAgent)) return;
  if (!call.ParseObject({"agent_id", "queues", "wait_ms"}, true)) return;
  std::optional<std::string> agent_id = AgentIdOf(call.body);
  if (!agent_id || agent_id->empty()) {
    call.Fail(InvalidArgument("'agent_id' must be a string of 1 to 128 characters"));
    return;
  }
  const json& queues_json = call.body.value("queues", json());
  std::vector<std::string> queues;
  if (queues_json.is_array() && !queues_json.empty() && queues_json.size() <= 32) {
    for (const json& q : queues_json) {
      if (!q.is_string() || !IsValidSlug(q.get<std::string>())) {
        queues.clear();
        break;
      }
      queues.push_back(q.get<std::string>());
    }
  }
  if (queues.empty()) {
    call.Fail(InvalidArgument("'queues' must be a list of 1 to 32 queue names"));
    return;
  }
  int64_t wait_ms = 0;
  if (call.body.contains("wait_ms")) {
    const json& w = call.body["wait_ms"];
    if (!w.is_number_integer() || w.get<int64_t>() < 0 || w.get<int64_t>() > options_.max_wait_ms) {
      call.Fail(InvalidArgument("'wait_ms' must be an integer from 0 to " +
                                std::to_string(options_.max_wait_ms)));
      return;
    }
    wait_ms = w.get<int64_t>();
  }
  // Long-poll: try now, then whenever a task is queued in one of the queues, and at
  // least every 250 ms (a retried task becomes available after its back-off).
  struct Poll {
    Poll(std::shared_ptr<Exchange> e, const Call& c) : ex(std::move(e)), call(c) {}
    std::shared_ptr<Exchange> ex;
    Call call;
    std::mutex mu;
    bool answered = false;  // guarded by mu
    uint64_t waiter = 0;    // guarded by mu
    std::chrono::steady_clock::time_point deadline;
  };
  auto poll = std::make_shared<Poll>(call.ex, call);
  poll->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  auto attempt = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = attempt;
  *attempt = [this, poll, weak, queues, agent_id = *agent_id] {
    std::lock_guard lock(poll->mu);
    if (poll->answered) {
      return;
    }
    agents_.CancelWait(poll->waiter);
    if (poll->ex->Done()) {
      poll->answered = true;
      return;
    }
    Result<std::optional<AgentTaskRecord>> claimed =
        agents_.Claim(poll->call.ctx.principal.workspace_id, queues, agent_id);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          poll->deadline - std::chrono::steady_clock::now())
                          .count();
    if (!claimed.ok() || claimed->has_value() || left <= 0) {
      poll->answered = true;
      if (!claimed.ok()) {
        poll->call.Fail(claimed.status());
      } else if (claimed->has_value()) {
        poll->call.Reply(200, json{{"task", TaskJson(**claimed)}});
      } else {
        poll->call.Reply(204, nullptr);
      }
      return;
    }
    std::shared_ptr<std::function<void()>> again = weak.lock();
    if (!again) {
      return;
    }
    poll->waiter = agents_.Wait(poll->call.ctx.principal.workspace_id, queues,
                                [poll, again] { poll->ex->Post([again] { (*again)(); }); });
    poll->ex->After(std::min<int64_t>(left, 250), [again] { (*again)(); });
  };
  (*attempt)();
}

void Api::RouteAgentTask(Call& call, const std::vector<std::string>& seg) {
  if (seg.size() != 3 || (seg[2] != "heartbeat" && seg[2] != "complete" && seg[2] != "fail")) {
    call.Fail(NotFound("No route for " + call.req.path));
    return;
  }
  if (call.req.method != "POST") {
    call.Fail(MethodNotAllowed());
    return;
  }
  if (!call.Require(Role::kAgent)) return;
  const std::string& task_id = seg[1];
  const std::string& ws = call.ctx.principal.workspace_id;
  const std::string& op = seg[2];
  if (op == "heartbeat") {
    if (!call.ParseObject({"agent_id"})) return;
  } else if (op == "complete") {
    if (!call.ParseObject({"agent_id", "output"}, true)) return;
  } else if (!call.ParseObject({"agent_id", "error"}, true)) {
    return;
  }
  std::optional<std::string> agent_id = AgentIdOf(call.body);
  if (!agent_id) {
    call.Fail(InvalidArgument("'agent_id' must be a string of 1 to 128 characters"));
    return;
  }
  if (op == "heartbeat") {
    Result<Heartbeat> beat = agents_.Beat(ws, task_id, *agent_id);
    beat.ok() ? call.Reply(200, json{{"lease_expires_at", FormatTime(beat->lease_expires_at)},
                                     {"cancelled", beat->cancelled}})
              : call.Fail(beat.status());
    return;
  }
  Result<bool> discarded = InvalidArgument("");
  if (op == "complete") {
    if (!call.body.contains("output")) {
      call.Fail(InvalidArgument("'output' is required (null is allowed)"));
      return;
    }
    discarded = agents_.Complete(ws, task_id, *agent_id, call.body["output"]);
  } else {
    const json& error = call.body.value("error", json());
    if (!error.is_object() || !error.contains("message") || !error["message"].is_string() ||
        (error.contains("retryable") && !error["retryable"].is_boolean())) {
      call.Fail(InvalidArgument(
          "'error' must be an object with 'message' (a string) and optionally 'retryable' (a "
          "boolean)"));
      return;
    }
    for (const auto& [key, value] : error.items()) {
      if (key != "message" && key != "retryable") {
        call.Fail(InvalidArgument("Unknown field 'error." + key + "'"));
        return;
      }
    }
    discarded = agents_.Fail(ws, task_id, *agent_id, error);
  }
  discarded.ok() ? call.Reply(200, json{{"discarded", *discarded}}) : call.Fail(discarded.status());
}

void Api::RouteWorkflows(Call& call, const std::vector<std::string>& seg) {
  const std::string& method = call.req.method;
  if (seg.size() == 1) {
    if (method != "GET") {
      call.Fail(MethodNotAllowed());
      return;
    }
    if (!call.Require(Role::kViewer)) return;
    int64_t limit = 50;
    std::string cursor;
    for (const auto& [key, value] : call.req.query) {
      if (key == "limit") {
        std::optional<int64_t> v = ParseInt(value);
        if (!v || *v < 1 || *v > 500) {
          call.Fail(InvalidArgument("'limit' must be an integer from 1 to 500"));
          return;
        }
        limit = *v;
      } else if (key == "cursor") {
        if (!value.empty() && !IsValidSlug(value)) {
          call.Fail(InvalidArgument("'cursor' is not a cursor this server gave out"));
          return;
        }
        cursor = value;
      } else {
        call.Fail(InvalidArgument("Unknown query parameter '" + key + "'"));
        return;
      }
    }
    Result<std::vector<WorkflowRecord>> list = control_.ListWorkflows(call.ctx);
    if (!list.ok()) {
      call.Fail(list.status());
      return;
    }
    // Workflows are few and listed by id; the cursor is the last id of the page.
    json items = json::array();
    json next = nullptr;
    for (const WorkflowRecord& wf : *list) {
      if (!cursor.empty() && wf.id <= cursor) {
        continue;
      }
      if (static_cast<int64_t>(items.size()) == limit) {
        next = items.back()["id"];
        break;
      }
      items.push_back(WorkflowJson(wf, false));
    }
    call.Reply(200, json{{"items", items}, {"next_cursor", next}});
    return;
  }
  const std::string& wf = seg[1];
  if (seg.size() == 2) {
    if (method == "PUT") {
      if (!call.Require(Role::kAdmin) || !call.ParseJson(true)) return;
      Result<PutWorkflowResult> put = control_.ApplyWorkflow(call.ctx, wf, call.body);
      if (!put.ok()) {
        call.Fail(put.status());
        return;
      }
      call.Reply(put->created ? 201 : 200, WorkflowJson(put->workflow, true));
    } else if (method == "GET") {
      if (!call.Require(Role::kViewer)) return;
      Result<WorkflowRecord> got = control_.GetWorkflow(call.ctx, wf);
      got.ok() ? call.Reply(200, WorkflowJson(*got, true)) : call.Fail(got.status());
    } else {
      call.Fail(MethodNotAllowed());
    }
    return;
  }
  const std::string& sub = seg[2];
  if (seg.size() == 4 && sub == "versions") {
    // One version's definition, for the version history (1 .. the workflow's version).
    if (method != "GET") {
      call.Fail(MethodNotAllowed());
      return;
    }
    if (!call.Require(Role::kViewer)) return;
    std::optional<int64_t> n = ParseInt(seg[3]);
    if (!n || *n < 1 || *n > INT32_MAX) {
      call.Fail(NotFound("No version " + seg[3] + " of workflow " + wf));
      return;
    }
    Result<nlohmann::json> def =
        store_.GetDefinition(call.ctx.principal.workspace_id, wf, static_cast<int>(*n));
    if (!def.ok()) {
      call.Fail(def.status());
      return;
    }
    call.Reply(200, json{{"workflow_id", wf}, {"version", *n}, {"definition", *def}});
    return;
  }
  if (seg.size() == 3 && method != "POST") {
    call.Fail(MethodNotAllowed());
    return;
  }
  if (seg.size() == 3 && (sub == "runs" || sub == "trigger")) {
    StartRun(call, wf, sub == "trigger");
  } else if (seg.size() == 3 && sub == "status") {
    if (!call.Require(Role::kAdmin) || !call.ParseObject({"status"}, true)) return;
    if (!call.body.contains("status") || !call.body["status"].is_string()) {
      call.Fail(InvalidArgument("'status' must be 'active' or 'disabled'"));
      return;
    }
    Result<WorkflowRecord> updated =
        control_.SetWorkflowStatus(call.ctx, wf, call.body["status"].get<std::string>());
    updated.ok() ? call.Reply(200, WorkflowJson(*updated, true)) : call.Fail(updated.status());
  } else if (seg.size() == 3 && sub == "resume") {
    if (!call.Require(Role::kAdmin) || !call.ParseObject({})) return;
    Result<WorkflowRecord> got = control_.GetWorkflow(call.ctx, wf);
    if (!got.ok()) {
      call.Fail(got.status());
      return;
    }
    call.Fail(Status(StatusCode::kFailedPrecondition,
                     "Workflow " + wf + " is not paused for safety", "invalid_transition"));
  } else if (seg.size() == 3 && sub == "invoke") {
    if (!call.Require(Role::kOperator) || !call.ParseJson(false)) return;
    // A script waits for its http steps (up to their timeouts): not on an I/O thread,
    // which would hold every connection dealt to it.
    scripts_.Post([this, call, wf]() mutable {
      Result<json> out = control_.Invoke(call.ctx, wf, call.body);
      out.ok() ? call.Reply(200, *out) : call.Fail(out.status());
    });
  } else if (seg.size() == 4 && sub == "runs") {
    if (method == "GET") {
      GetRun(call, seg[3], wf);
    } else if (method == "DELETE") {
      ControlRun(call, seg[3], RunAction::kCancel, wf);
    } else {
      call.Fail(MethodNotAllowed());
    }
  } else {
    call.Fail(NotFound("No route for " + call.req.path));
  }
}

void Api::StartRun(Call& call, const std::string& workflow_id, bool trigger) {
  if (!call.Require(Role::kOperator)) return;
  StartRunRequest request;
  request.workflow_id = workflow_id;
  if (trigger) {
    if (!call.ParseJson(false)) return;
    request.input = call.body;
    request.trigger_kind = "http";
  } else {
    if (!call.ParseObject({"input"})) return;
    if (call.body.contains("input")) {
      if (!call.body["input"].is_object()) {
        call.Fail(InvalidArgument("'input' must be a JSON object", json{{"field", "input"}}));
        return;
      }
      request.input = call.body["input"];
    }
  }
  std::string key = call.req.Header("idempotency-key");
  if (!key.empty()) {
    if (key.size() > 255) {
      call.Fail(InvalidArgument("Idempotency-Key is longer than 255 characters"));
      return;
    }
    request.idempotency_key = key;
  }
  control_.StartRun(call.ctx, request, [this, call](Result<CreateRunResult> created) mutable {
    // Rendered on the connection's thread (now, when the store committed in place),
    // not on the store's writer.
    call.ex->Dispatch([this, call, created = std::move(created)]() mutable {
      if (!created.ok()) {
        call.Fail(created.status());
        return;
      }
      std::vector<std::pair<std::string, std::string>> headers = {
          {"ETag", "\"" + std::to_string(created->run.version) + "\""},
          {"Location", "/api/v1/runs/" + created->run.id}};
      if (created->replayed) {
        headers.emplace_back("Idempotent-Replayed", "true");
      }
      call.Reply(201, RunBody(created->run), std::move(headers));
    });
  });
}

json Api::RunBody(const RunRecord& run) {
  Result<std::shared_ptr<const Definition>> def =
      engine_.LoadDefinition(run.workspace_id, run.workflow_id, run.workflow_version);
  return RunJson(run, true, def.ok() ? def->get() : nullptr);
}

void Api::RouteRuns(Call& call, const std::vector<std::string>& seg) {
  const std::string& method = call.req.method;
  if (seg.size() == 1) {
    method == "GET" ? ListRuns(call) : call.Fail(MethodNotAllowed());
    return;
  }
  const std::string& run_id = seg[1];
  if (seg.size() == 2) {
    method == "GET" ? GetRun(call, run_id, "") : call.Fail(MethodNotAllowed());
    return;
  }
  const std::string& sub = seg[2];
  if (seg.size() == 4 && sub == "events" && seg[3] == "stream") {
    method == "GET" ? StreamRun(call, run_id) : call.Fail(MethodNotAllowed());
    return;
  }
  static const std::set<std::string> kActions = {"pause", "resume", "cancel", "events", "replay"};
  if (seg.size() != 3 || !kActions.contains(sub)) {
    call.Fail(NotFound("No route for " + call.req.path));
    return;
  }
  if (method != "POST") {
    call.Fail(MethodNotAllowed());
    return;
  }
  if (sub == "pause") {
    ControlRun(call, run_id, RunAction::kPause, "");
  } else if (sub == "resume") {
    ControlRun(call, run_id, RunAction::kResume, "");
  } else if (sub == "cancel") {
    ControlRun(call, run_id, RunAction::kCancel, "");
  } else if (sub == "events") {
    SendEvent(call, run_id);
  } else if (sub == "replay") {
    if (!call.Require(Role::kOperator) || !call.ParseObject({})) return;
    Result<RunRecord> run = control_.Replay(call.ctx, run_id);
    run.ok() ? call.Reply(201, RunBody(*run)) : call.Fail(run.status());
  } else {
    call.Fail(NotFound("No route for " + call.req.path));
  }
}

void Api::ListRuns(Call& call) {
  if (!call.Require(Role::kViewer)) return;
  static const std::set<std::string> kKnown = {
      "status", "workflow_id", "pause_reason", "wait_kind",
      "q",      "limit",       "cursor",       "parent_run_id"};
  RunFilter filter;
  for (const auto& [key, value] : call.req.query) {
    if (!kKnown.contains(key)) {
      call.Fail(InvalidArgument("Unknown query parameter '" + key + "'"));
      return;
    }
  }
  const auto& q = call.req.query;
  if (auto it = q.find("status"); it != q.end() && !it->second.empty()) {
    std::vector<RunStatus> statuses;
    size_t start = 0;
    while (start <= it->second.size()) {
      size_t comma = it->second.find(',', start);
      if (comma == std::string::npos) comma = it->second.size();
      std::string name = it->second.substr(start, comma - start);
      std::optional<RunStatus> s = ParseRunStatus(name);
      if (!s) {
        call.Fail(InvalidArgument("Unknown status '" + name + "'"));
        return;
      }
      statuses.push_back(*s);
      start = comma + 1;
    }
    filter.statuses = statuses;
  }
  if (auto it = q.find("workflow_id"); it != q.end() && !it->second.empty()) {
    filter.workflow_id = it->second;
  }
  if (auto it = q.find("pause_reason"); it != q.end() && !it->second.empty()) {
    filter.pause_reason = it->second;
  }
  if (auto it = q.find("parent_run_id"); it != q.end() && !it->second.empty()) {
    filter.parent_run_id = it->second;
  }
  if (auto it = q.find("wait_kind"); it != q.end() && !it->second.empty()) {
    filter.wait_kind = it->second;
  }
  if (auto it = q.find("q"); it != q.end() && !it->second.empty()) {
    filter.id_contains = it->second;
  }
  if (auto it = q.find("cursor"); it != q.end() && !it->second.empty()) {
    if (!LooksLikeRunId(it->second)) {
      call.Fail(InvalidArgument("'cursor' is not a cursor this server gave out"));
      return;
    }
    filter.cursor = it->second;
  }
  if (auto it = q.find("limit"); it != q.end()) {
    std::optional<int64_t> v = ParseInt(it->second);
    if (!v || *v < 1 || *v > 500) {
      call.Fail(InvalidArgument("'limit' must be an integer from 1 to 500"));
      return;
    }
    filter.limit = static_cast<int>(*v);
  }
  Result<RunPage> page = control_.ListRuns(call.ctx, filter);
  if (!page.ok()) {
    call.Fail(page.status());
    return;
  }
  json items = json::array();
  for (const RunRecord& run : page->items) {
    items.push_back(RunJson(run, false, nullptr));
  }
  call.Reply(200,
             json{{"items", items},
                  {"next_cursor", page->next_cursor.empty() ? json() : json(page->next_cursor)}});
}

void Api::GetRun(Call& call, const std::string& run_id, const std::string& workflow_id) {
  if (!call.Require(Role::kViewer)) return;
  int64_t wait_ms = 0;
  if (auto it = call.req.query.find("wait_ms"); it != call.req.query.end()) {
    std::optional<int64_t> v = ParseInt(it->second);
    if (!v || *v < 0 || *v > options_.max_wait_ms) {
      call.Fail(InvalidArgument("'wait_ms' must be an integer from 0 to " +
                                std::to_string(options_.max_wait_ms)));
      return;
    }
    wait_ms = *v;
  }
  Result<RunRecord> run = control_.GetRun(call.ctx, run_id, workflow_id);
  if (!run.ok()) {
    call.Fail(run.status());
    return;
  }
  auto etag = [](const RunRecord& r) {
    return std::vector<std::pair<std::string, std::string>>{
        {"ETag", "\"" + std::to_string(r.version) + "\""}};
  };
  if (wait_ms == 0 || IsTerminal(run->status)) {
    call.Reply(200, RunBody(*run), etag(*run));
    return;
  }
  // Long-poll: answer when the run is terminal or when wait_ms passes.
  struct Poll {
    Poll(std::shared_ptr<Exchange> e, const Call& c) : ex(std::move(e)), call(c) {}
    std::shared_ptr<Exchange> ex;
    Call call;
    std::atomic<bool> answered{false};
    uint64_t watch_id = 0;
  };
  auto poll = std::make_shared<Poll>(call.ex, call);
  auto answer = [this, poll, run_id, workflow_id, etag](bool timed_out) {
    if (poll->answered.load() || poll->ex->Done()) {
      if (poll->ex->Done() && !poll->answered.exchange(true)) {
        watch_.Unsubscribe(run_id, poll->watch_id);
      }
      return;
    }
    Result<RunRecord> now = control_.GetRun(poll->call.ctx, run_id, workflow_id);
    if (!now.ok() || IsTerminal(now->status) || timed_out) {
      if (poll->answered.exchange(true)) {
        return;
      }
      watch_.Unsubscribe(run_id, poll->watch_id);
      now.ok() ? poll->call.Reply(200, RunBody(*now), etag(*now)) : poll->call.Fail(now.status());
    }
  };
  poll->watch_id =
      watch_.Subscribe(run_id, [poll, answer] { poll->ex->Post([answer] { answer(false); }); });
  call.ex->After(wait_ms, [answer] { answer(true); });
  answer(false);  // it may have finished between the first read and the subscription
}

void Api::ControlRun(Call& call, const std::string& run_id, RunAction action,
                     const std::string& workflow_id) {
  if (!call.Require(Role::kOperator)) return;
  if (action == RunAction::kCancel) {
    if (!call.ParseObject({"reason", "expected_status"})) return;
  } else if (!call.ParseObject({"expected_status"})) {
    return;
  }
  ControlRequest request;
  request.action = action;
  if (call.body.contains("reason")) {
    if (!call.body["reason"].is_string() && !call.body["reason"].is_null()) {
      call.Fail(InvalidArgument("'reason' must be a string", json{{"field", "reason"}}));
      return;
    }
    if (call.body["reason"].is_string()) {
      request.reason = call.body["reason"].get<std::string>();
      if (request.reason.size() > 1000) {
        call.Fail(InvalidArgument("'reason' is longer than 1000 characters"));
        return;
      }
    }
  }
  if (call.body.contains("expected_status")) {
    std::optional<RunStatus> s =
        call.body["expected_status"].is_string()
            ? ParseRunStatus(call.body["expected_status"].get<std::string>())
            : std::nullopt;
    if (!s) {
      call.Fail(InvalidArgument("'expected_status' must be a run status",
                                json{{"field", "expected_status"}}));
      return;
    }
    request.expected_status = s;
  }
  std::string if_match = call.req.Header("if-match");
  if (!if_match.empty()) {
    if (if_match.rfind("W/", 0) == 0) if_match = if_match.substr(2);
    if (if_match.size() >= 2 && if_match.front() == '"' && if_match.back() == '"') {
      if_match = if_match.substr(1, if_match.size() - 2);
    }
    std::optional<int64_t> v = ParseInt(if_match);
    if (!v) {
      call.Fail(InvalidArgument("If-Match must be a run version such as \"7\""));
      return;
    }
    request.expected_version = v;
  }
  Result<RunRecord> run = control_.Control(call.ctx, run_id, request, workflow_id);
  if (!run.ok()) {
    call.Fail(run.status());
    return;
  }
  call.Reply(200, RunBody(*run), {{"ETag", "\"" + std::to_string(run->version) + "\""}});
}

void Api::SendEvent(Call& call, const std::string& run_id) {
  if (!call.Require(Role::kOperator) || !call.ParseObject({"event_type", "payload"}, true)) {
    return;
  }
  if (!call.body.contains("event_type") || !call.body["event_type"].is_string() ||
      call.body["event_type"].get<std::string>().empty() ||
      call.body["event_type"].get<std::string>().size() > 200) {
    call.Fail(InvalidArgument("'event_type' must be a non-empty string (at most 200 characters)",
                              json{{"field", "event_type"}}));
    return;
  }
  json payload = call.body.value("payload", json());
  Result<bool> delivered =
      control_.SendEvent(call.ctx, run_id, call.body["event_type"].get<std::string>(), payload);
  delivered.ok() ? call.Reply(202, json{{"delivered", *delivered}}) : call.Fail(delivered.status());
}

void Api::StreamRun(Call& call, const std::string& run_id) {
  if (!call.Require(Role::kViewer)) return;
  Result<RunRecord> first = control_.GetRun(call.ctx, run_id);
  if (!first.ok()) {
    call.Fail(first.status());
    return;
  }
  struct Stream {
    std::shared_ptr<Exchange> ex;
    RequestContext ctx;
    uint64_t watch_id = 0;
    int64_t sent_version = -1;  // touched only on the exchange's strand
    std::atomic<bool> ended{false};
  };
  auto stream = std::make_shared<Stream>();
  stream->ex = call.ex;
  stream->ctx = call.ctx;
  Response head;
  head.content_type = "text/event-stream";
  head.headers = {{"Cache-Control", "no-cache"}, {"X-Request-Id", call.request_id}};
  call.ex->StartStream(std::move(head));
  // Runs on the exchange's strand: sends the run if it changed; ends at a terminal status.
  auto push = [this, stream, run_id] {
    if (stream->ended.load()) {
      return;
    }
    Result<RunRecord> run = control_.GetRun(stream->ctx, run_id);
    if (!run.ok() || stream->ex->Done()) {
      if (!stream->ended.exchange(true)) {
        watch_.Unsubscribe(run_id, stream->watch_id);
        stream->ex->EndStream();
      }
      return;
    }
    if (run->version != stream->sent_version) {
      stream->sent_version = run->version;
      stream->ex->Send("event: run\nid: " + std::to_string(run->version) + "\ndata: " +
                       RunBody(*run).dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n");
    }
    if (IsTerminal(run->status) && !stream->ended.exchange(true)) {
      watch_.Unsubscribe(run_id, stream->watch_id);
      stream->ex->EndStream();
    }
  };
  stream->watch_id = watch_.Subscribe(run_id, [stream, push] { stream->ex->Post(push); });
  auto keepalive = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = keepalive;
  *keepalive = [this, stream, run_id, weak] {
    if (stream->ended.load()) {
      return;
    }
    if (stream->ex->Done()) {
      if (!stream->ended.exchange(true)) {
        watch_.Unsubscribe(run_id, stream->watch_id);
      }
      return;
    }
    stream->ex->Send(": keepalive\n\n");
    if (auto again = weak.lock()) {
      stream->ex->After(options_.sse_keepalive_ms, [again] { (*again)(); });
    }
  };
  call.ex->After(options_.sse_keepalive_ms, [keepalive] { (*keepalive)(); });
  call.ex->Post(push);
}

void Api::RouteTokens(Call& call, const std::vector<std::string>& seg) {
  if (!call.Require(Role::kAdmin)) return;
  const std::string& method = call.req.method;
  if (seg.size() == 1 && method == "GET") {
    Result<std::vector<TokenRecord>> tokens = control_.ListTokens(call.ctx);
    if (!tokens.ok()) {
      call.Fail(tokens.status());
      return;
    }
    json items = json::array();
    for (const TokenRecord& t : *tokens) {
      items.push_back(TokenJson(t));
    }
    call.Reply(200, json{{"items", items}, {"next_cursor", nullptr}});
  } else if (seg.size() == 1 && method == "POST") {
    if (!call.ParseObject({"role", "name"}, true)) return;
    std::optional<Role> role = call.body.contains("role") && call.body["role"].is_string()
                                   ? ParseRole(call.body["role"].get<std::string>())
                                   : std::nullopt;
    if (!role) {
      call.Fail(InvalidArgument("'role' must be viewer, operator, admin or agent",
                                json{{"field", "role"}}));
      return;
    }
    if (!call.body.contains("name") || !call.body["name"].is_string() ||
        call.body["name"].get<std::string>().empty() ||
        call.body["name"].get<std::string>().size() > 100) {
      call.Fail(InvalidArgument("'name' must be a non-empty string (at most 100 characters)",
                                json{{"field", "name"}}));
      return;
    }
    Result<CreatedToken> created =
        control_.CreateToken(call.ctx, *role, call.body["name"].get<std::string>());
    if (!created.ok()) {
      call.Fail(created.status());
      return;
    }
    json body = TokenJson(created->record);
    body["token"] = created->secret;
    call.Reply(201, body);
  } else if (seg.size() == 2 && method == "DELETE") {
    Status s = control_.RevokeToken(call.ctx, seg[1]);
    if (s.ok()) {
      tokens_.Clear();  // the revoked token stops working with the next request
    }
    s.ok() ? call.Reply(204, nullptr) : call.Fail(s);
  } else if (seg.size() <= 2) {
    call.Fail(MethodNotAllowed());
  } else {
    call.Fail(NotFound("No route for " + call.req.path));
  }
}

void Api::Metrics(Call& call) {
  std::string out;
  out += "# HELP stepwell_runs Runs by status.\n# TYPE stepwell_runs gauge\n";
  Result<std::vector<RunStatusCount>> counts = store_.CountRunsByStatus();
  for (RunStatus s : kAllRunStatuses) {
    int64_t n = 0;
    if (counts.ok()) {
      for (const RunStatusCount& c : *counts) {
        if (c.status == s) n = c.count;
      }
    }
    out += "stepwell_runs{status=\"" + std::string(ToString(s)) + "\"} " + std::to_string(n) + "\n";
  }
  Store::Stats st = store_.GetStats();
  out += "# TYPE stepwell_steps_committed_total counter\nstepwell_steps_committed_total " +
         std::to_string(st.steps_committed) + "\n";
  out += "# TYPE stepwell_store_commits_total counter\nstepwell_store_commits_total " +
         std::to_string(st.commits) + "\n";
  out +=
      "# HELP stepwell_commit_batch_size Changes per store transaction.\n"
      "# TYPE stepwell_commit_batch_size histogram\n";
  const char* bounds[] = {"1", "4", "16", "64", "256", "+Inf"};
  uint64_t cumulative = 0;
  for (int i = 0; i < 6; ++i) {
    cumulative += st.batch_buckets[i];
    out += "stepwell_commit_batch_size_bucket{le=\"" + std::string(bounds[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += "stepwell_commit_batch_size_sum " + std::to_string(st.batch_size_sum) + "\n";
  out += "stepwell_commit_batch_size_count " + std::to_string(st.commits) + "\n";
  TimerLagStats lag = engine_.GetTimerLag();
  out +=
      "# HELP stepwell_timer_lag_ms How late timers fired.\n# TYPE stepwell_timer_lag_ms "
      "summary\n";
  out += "stepwell_timer_lag_ms_sum " + std::to_string(lag.sum_ms) + "\n";
  out += "stepwell_timer_lag_ms_count " + std::to_string(lag.count) + "\n";
  out += "stepwell_timer_lag_ms_max " + std::to_string(lag.max_ms) + "\n";
  out += "# TYPE stepwell_active_runs gauge\nstepwell_active_runs " +
         std::to_string(engine_.ActiveRuns()) + "\n";
  if (server_ != nullptr) {
    HttpLatencyStats h = server_->Latency();
    out += "# TYPE stepwell_http_request_duration_seconds histogram\n";
    const char* le[] = {"0.0005", "0.001", "0.002", "0.005", "0.01", "0.05", "0.25", "+Inf"};
    uint64_t cum = 0;
    for (int i = 0; i < HttpLatencyStats::kBuckets; ++i) {
      cum += h.buckets[i];
      out += "stepwell_http_request_duration_seconds_bucket{le=\"" + std::string(le[i]) + "\"} " +
             std::to_string(cum) + "\n";
    }
    out += "stepwell_http_request_duration_seconds_sum " + std::to_string(h.sum_seconds) + "\n";
    out += "stepwell_http_request_duration_seconds_count " + std::to_string(h.count) + "\n";
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(out);
  call.ex->Respond(std::move(r));
}

}  // namespace sw
