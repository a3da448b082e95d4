#include "api/api.h"

#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "api/openapi_document.h"
#include "api/routes.h"

namespace sw {

std::vector<Route> ApiRoutes(bool fake_clock) {
  const std::optional<Role> kPublic;
  const Role kViewer = Role::kViewer;
  const Role kOperator = Role::kOperator;
  const Role kAdmin = Role::kAdmin;
  const Role kAgent = Role::kAgent;
  // Starts and controls commit without holding their thread; an invocation and a
  // connection's refresh wait on the script invoker's threads.
  const bool kAnswersWithoutWaiting = true;
  std::vector<Route> table = {
      {"GET", "/healthz", kPublic, &routes::Health},
      {"GET", "/metrics", kPublic, &routes::Metrics},
      {"GET", "/api/v1/openapi.json", kPublic, &routes::OpenApi},

      {"GET", "/api/v1/session", kPublic, &routes::GetSession},
      {"POST", "/api/v1/session", kPublic, &routes::SignIn},
      {"DELETE", "/api/v1/session", kPublic, &routes::SignOut},

      {"GET", "/api/v1/runs", kViewer, &routes::ListRuns},
      {"GET", "/api/v1/runs/{run_id}", kViewer, &routes::GetRun},
      {"POST", "/api/v1/runs/bulk", kOperator, &routes::BulkRuns},
      {"GET", "/api/v1/operations/{operation_id}", kViewer, &routes::GetOperation},
      {"POST", "/api/v1/runs/{run_id}/pause", kOperator, &routes::PauseRun, kAnswersWithoutWaiting},
      {"POST", "/api/v1/runs/{run_id}/resume", kOperator, &routes::ResumeRun,
       kAnswersWithoutWaiting},
      {"POST", "/api/v1/runs/{run_id}/cancel", kOperator, &routes::CancelRun,
       kAnswersWithoutWaiting},
      {"POST", "/api/v1/runs/{run_id}/replay", kOperator, &routes::ReplayRun},
      {"POST", "/api/v1/runs/{run_id}/events", kOperator, &routes::SendEvent},
      {"GET", "/api/v1/runs/{run_id}/events/stream", kViewer, &routes::StreamRun},

      {"GET", "/api/v1/workflows", kViewer, &routes::ListWorkflows},
      {"GET", "/api/v1/workflows/{workflow_id}", kViewer, &routes::GetWorkflow},
      {"PUT", "/api/v1/workflows/{workflow_id}", kAdmin, &routes::PutWorkflow},
      {"GET", "/api/v1/workflows/{workflow_id}/versions/{version}", kViewer,
       &routes::GetWorkflowVersion},
      {"POST", "/api/v1/workflows/{workflow_id}/status", kAdmin, &routes::SetWorkflowStatus},
      {"POST", "/api/v1/workflows/{workflow_id}/resume", kAdmin, &routes::ResumeWorkflow},
      {"POST", "/api/v1/workflows/{workflow_id}/invoke", kOperator, &routes::InvokeWorkflow,
       kAnswersWithoutWaiting},
      {"POST", "/api/v1/workflows/{workflow_id}/runs", kOperator, &routes::StartRun,
       kAnswersWithoutWaiting},
      {"POST", "/api/v1/workflows/{workflow_id}/trigger", kOperator, &routes::TriggerRun,
       kAnswersWithoutWaiting},
      {"GET", "/api/v1/workflows/{workflow_id}/runs/{run_id}", kViewer, &routes::GetWorkflowRun},
      {"DELETE", "/api/v1/workflows/{workflow_id}/runs/{run_id}", kOperator,
       &routes::CancelWorkflowRun, kAnswersWithoutWaiting},

      {"POST", "/api/v1/agents/claim", kAgent, &routes::ClaimTask},
      {"POST", "/api/v1/agent-tasks/{task_id}/heartbeat", kAgent, &routes::HeartbeatTask},
      {"POST", "/api/v1/agent-tasks/{task_id}/complete", kAgent, &routes::CompleteTask},
      {"POST", "/api/v1/agent-tasks/{task_id}/fail", kAgent, &routes::FailTask},

      {"GET", "/api/v1/tokens", kAdmin, &routes::ListTokens},
      {"GET", "/api/v1/instances", kAdmin, &routes::ListInstances},
      {"POST", "/api/v1/tokens", kAdmin, &routes::CreateToken},
      {"DELETE", "/api/v1/tokens/{token_id}", kAdmin, &routes::RevokeToken},
      {"GET", "/api/v1/audit", kAdmin, &routes::ListAudit},
      // Approvers may be named viewers: the control layer checks who may decide.
      {"GET", "/api/v1/approvals", kViewer, &routes::ListApprovals},
      {"GET", "/api/v1/approvals/{approval_id}", kViewer, &routes::GetApproval},
      {"POST", "/api/v1/approvals/{approval_id}/decision", kViewer, &routes::DecideApproval},
      {"POST", "/api/v1/approvals/{approval_id}/links", kOperator, &routes::CreateApprovalLink},
      {"GET", "/api/v1/forms/{form_id}", kViewer, &routes::GetForm},
      {"POST", "/api/v1/forms/{form_id}/submit", kOperator, &routes::SubmitForm},
      {"GET", "/approve/done", kPublic, &routes::ApprovalLinkDone},
      {"GET", "/approve/{token}", kPublic, &routes::ApprovalLinkPage},
      {"POST", "/approve/{token}", kPublic, &routes::DecideByLink},
      {"GET", "/api/v1/connections", kViewer, &routes::ListConnections},
      {"POST", "/api/v1/connections", kAdmin, &routes::CreateConnection},
      {"GET", "/api/v1/connections/{connection_id}", kViewer, &routes::GetConnection},
      {"DELETE", "/api/v1/connections/{connection_id}", kAdmin, &routes::DeleteConnection},
      {"POST", "/api/v1/connections/{connection_id}/refresh", kAdmin, &routes::RefreshConnection,
       kAnswersWithoutWaiting},
      {"POST", "/api/v1/connections/{connection_id}/reconnect", kAdmin,
       &routes::ReconnectConnection},
      {"GET", "/api/v1/connections/{connection_id}/authorize", kAdmin,
       &routes::AuthorizeConnection},
      {"GET", "/oauth/callback", kPublic, &routes::OAuthCallback},
      {"GET", "/api/v1/notifications", kViewer, &routes::ListNotifications},
      {"POST", "/api/v1/notifications/{notification_id}/read", kViewer,
       &routes::MarkNotificationRead},
      {"GET", "/api/v1/notifications/deliveries", kAdmin, &routes::ListDeliveries},
      {"GET", "/api/v1/notification-channels", kAdmin, &routes::GetNotificationChannels},
      {"PUT", "/api/v1/notification-channels", kAdmin, &routes::PutNotificationChannels},
      {"GET", "/api/v1/schedules", kViewer, &routes::ListSchedules},
      {"POST", "/api/v1/schedules", kAdmin, &routes::CreateSchedule},
      {"GET", "/api/v1/schedules/{schedule_id}", kViewer, &routes::GetSchedule},
      {"PUT", "/api/v1/schedules/{schedule_id}", kAdmin, &routes::PutSchedule},
      {"DELETE", "/api/v1/schedules/{schedule_id}", kAdmin, &routes::DeleteSchedule},
      {"POST", "/api/v1/schedules/{schedule_id}/pause", kAdmin, &routes::PauseSchedule},
      {"POST", "/api/v1/schedules/{schedule_id}/resume", kAdmin, &routes::ResumeSchedule},
      {"GET", "/api/v1/billing", kViewer, &routes::GetBilling},
      {"PUT", "/api/v1/billing", kAdmin, &routes::PutBilling},
      {"GET", "/api/v1/retention", kAdmin, &routes::GetRetention},
      {"PUT", "/api/v1/retention", kAdmin, &routes::PutRetention},
  };
  if (fake_clock) {
    table.push_back({"POST", "/api/v1/testing/clock/advance", kAdmin, &routes::AdvanceClock});
  }
  return table;
}

namespace {

bool UnderApiV1(const std::vector<std::string>& segments) {
  return segments.size() >= 2 && segments[0] == "api" && segments[1] == "v1";
}

}  // namespace

Api::Api(ApiServices services, ApiOptions options)
    : api_{services, std::move(options)}, ui_(api_.options.ui_dir) {
  api_.waiting = &waiting_;
  for (Route& route : ApiRoutes(api_.fake_clock != nullptr)) {
    router_.Add(std::move(route));
  }
}

void Api::Handle(std::shared_ptr<Exchange> ex) {
  const Request& req = ex->request();
  Call call{.ex = ex,
            .req = req,
            .request_id = req.Header("x-request-id"),
            .ctx = {},
            .via_cookie = false,
            .params = {},
            .body = nlohmann::json(),
            .max_json_depth = api_.options.max_json_depth};
  if (call.request_id.empty() || call.request_id.size() > 128) {
    static std::atomic<uint64_t> counter{0};
    call.request_id = "req_" + std::to_string(++counter);
  }
  call.ctx.request_id = call.request_id;
  if (!req.target_error.empty()) {
    call.Fail(InvalidArgument(req.target_error));
    return;
  }
  Dispatch(call);
}

void Api::Dispatch(Call& call) {
  const Request& req = call.req;
  RouteMatch match = router_.Match(req.method, req.segments);
  if (match.route != nullptr && !match.route->role) {
    if (match.outcome != RouteMatch::Outcome::kFound) {
      call.Fail(MethodNotAllowed());
      return;
    }
    call.params = std::move(match.params);
    Run(*match.route, call);
    return;
  }
  if (req.segments.empty() || req.segments[0] != "api") {
    ServeUi(call);
    return;
  }
  if (!UnderApiV1(req.segments)) {
    call.Fail(NotFound("No route for " + req.path));
    return;
  }
  // The caller is known before whether the route exists: without a valid token every
  // path under /api/v1 answers alike (401).
  if (!Authenticate(call)) {
    return;
  }
  if (match.outcome == RouteMatch::Outcome::kNoRoute) {
    call.Fail(NotFound("No route for " + req.path));
    return;
  }
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
    call.Fail(MethodNotAllowed());
    return;
  }
  const Role needed = *match.route->role;
  if (!RoleAllows(call.ctx.principal.role, needed)) {
    call.Fail(Status(StatusCode::kPermissionDenied,
                     "This action needs the " + std::string(ToString(needed)) + " role",
                     "forbidden"));
    return;
  }
  call.params = std::move(match.params);
  Run(*match.route, call);
}

void PostToWaitingPool(ApiContext& api, std::function<void()> work) {
  // A handler answers from the pool's thread (Exchange::Respond hands it over).
  api.waiting->Post(std::move(work));
}

void Api::Run(const Route& route, Call& call) {
  if (route.method == "GET" || route.answers_without_waiting) {
    route.handler(api_, call);
    return;
  }
  // The request is the handler's from here: its Call moves with it (Dispatch is done).
  RunMayWait(api_, [this, &route, call = std::move(call)]() mutable { route.handler(api_, call); });
}

bool Api::Authenticate(Call& call) {
  const Request& req = call.req;
  const std::string auth = req.Header("authorization");
  std::string secret;
  if (auth.rfind("Bearer ", 0) == 0) {
    secret = auth.substr(7);
  } else if (auth.empty()) {
    secret = CookieValue(req.Header("cookie"), kSessionCookie);
    call.via_cookie = !secret.empty();
  }
  Result<Principal> principal = call.via_cookie ? api_.access.AuthenticateSession(secret)
                                                : api_.access.AuthenticateToken(secret);
  if (!principal.ok()) {
    call.Fail(principal.status());
    return false;
  }
  call.ctx.principal = *principal;
  if (call.via_cookie && req.method != "GET" && req.method != "HEAD" &&
      !IsJsonContentType(req.Header("content-type"))) {
    call.Fail(Status(StatusCode::kPermissionDenied,
                     "Requests authenticated by the session cookie that change state must be "
                     "Content-Type: application/json",
                     "forbidden"));
    return false;
  }
  return true;
}

// Everything outside /api/ is the web UI (its deep links answer index.html).
void Api::ServeUi(Call& call) {
  if (call.req.method != "GET" && call.req.method != "HEAD") {
    call.Fail(MethodNotAllowed());
    return;
  }
  Result<Response> file = ui_.Serve(call.req.segments);
  if (!file.ok()) {
    call.Fail(file.status());
    return;
  }
  call.ex->Respond(std::move(file).value());
}

}  // namespace sw
