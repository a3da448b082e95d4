// The API's handlers, one per route of the table in api.cc, in files by resource:
// runs_routes.cc, events_routes.cc, approvals_routes.cc, approve_page_routes.cc,
// workflows_routes.cc, access_routes.cc (session, tokens, audit), agents_routes.cc,
// connections_routes.cc, schedules_routes.cc, bulk_routes.cc, notifications_routes.cc,
// retention_routes.cc, metrics_routes.cc and server_routes.cc (health, the fake clock). The table
// decides the route, authenticates and checks the role before a handler runs; a handler reads its
// input, calls the control layer and answers through the Call.
//
// Handlers run on HTTP I/O threads and never wait long there (long-polls and streams
// answer later through the exchange; scripts run on the ScriptInvoker's threads).
#pragma once

#include <nlohmann/json.hpp>

#include "api/api_context.h"
#include "api/call.h"
#include "control/human_tasks.h"
#include "store/records.h"

namespace sw {

// The web UI's session cookie.
inline constexpr char kSessionCookie[] = "stepwell_session";

// A run object with steps, including the steps of its definition not reached yet.
nlohmann::json RunBody(ApiContext& api, const RunRecord& run);

namespace routes {

// approvals_routes.cc
void ListApprovals(ApiContext& api, Call& call);
void GetApproval(ApiContext& api, Call& call);
void DecideApproval(ApiContext& api, Call& call);
void CreateApprovalLink(ApiContext& api, Call& call);
void GetForm(ApiContext& api, Call& call);
void SubmitForm(ApiContext& api, Call& call);
// A decision's body {"decision": "approve"|"deny", "comment"?}, or why not.
Result<DecisionRequest> ParseDecision(const nlohmann::json& body);

// approve_page_routes.cc (public: the link is the credential)
void ApprovalLinkPage(ApiContext& api, Call& call);
void DecideByLink(ApiContext& api, Call& call);
void ApprovalLinkDone(ApiContext& api, Call& call);

// runs_routes.cc
void ListRuns(ApiContext& api, Call& call);
void GetRun(ApiContext& api, Call& call);
void GetWorkflowRun(ApiContext& api, Call& call);
void PauseRun(ApiContext& api, Call& call);
void ResumeRun(ApiContext& api, Call& call);
void CancelRun(ApiContext& api, Call& call);
void CancelWorkflowRun(ApiContext& api, Call& call);
void ReplayRun(ApiContext& api, Call& call);
void StartRun(ApiContext& api, Call& call);
void TriggerRun(ApiContext& api, Call& call);

// events_routes.cc
void SendEvent(ApiContext& api, Call& call);
void StreamRun(ApiContext& api, Call& call);

// workflows_routes.cc
void ListWorkflows(ApiContext& api, Call& call);
void GetWorkflow(ApiContext& api, Call& call);
void PutWorkflow(ApiContext& api, Call& call);
void GetWorkflowVersion(ApiContext& api, Call& call);
void SetWorkflowStatus(ApiContext& api, Call& call);
void ResumeWorkflow(ApiContext& api, Call& call);
void InvokeWorkflow(ApiContext& api, Call& call);

// access_routes.cc
void GetSession(ApiContext& api, Call& call);
void SignIn(ApiContext& api, Call& call);
void SignOut(ApiContext& api, Call& call);
void ListTokens(ApiContext& api, Call& call);
void CreateToken(ApiContext& api, Call& call);
void RevokeToken(ApiContext& api, Call& call);
void ListAudit(ApiContext& api, Call& call);

// bulk_routes.cc
void BulkRuns(ApiContext& api, Call& call);
void GetOperation(ApiContext& api, Call& call);

// schedules_routes.cc
void ListSchedules(ApiContext& api, Call& call);
void CreateSchedule(ApiContext& api, Call& call);
void GetSchedule(ApiContext& api, Call& call);
void PutSchedule(ApiContext& api, Call& call);
void DeleteSchedule(ApiContext& api, Call& call);
void PauseSchedule(ApiContext& api, Call& call);
void ResumeSchedule(ApiContext& api, Call& call);

// agents_routes.cc
void ClaimTask(ApiContext& api, Call& call);
void HeartbeatTask(ApiContext& api, Call& call);
void CompleteTask(ApiContext& api, Call& call);
void FailTask(ApiContext& api, Call& call);

// connections_routes.cc (OAuthCallback is public: its state is the credential)
void ListConnections(ApiContext& api, Call& call);
void CreateConnection(ApiContext& api, Call& call);
void GetConnection(ApiContext& api, Call& call);
void DeleteConnection(ApiContext& api, Call& call);
void RefreshConnection(ApiContext& api, Call& call);
void ReconnectConnection(ApiContext& api, Call& call);
void AuthorizeConnection(ApiContext& api, Call& call);
void OAuthCallback(ApiContext& api, Call& call);

// notifications_routes.cc
void ListNotifications(ApiContext& api, Call& call);
void MarkNotificationRead(ApiContext& api, Call& call);
void GetNotificationChannels(ApiContext& api, Call& call);
void PutNotificationChannels(ApiContext& api, Call& call);

// billing_routes.cc
void GetBilling(ApiContext& api, Call& call);
void PutBilling(ApiContext& api, Call& call);
void ListDeliveries(ApiContext& api, Call& call);

// retention_routes.cc
void GetRetention(ApiContext& api, Call& call);
void PutRetention(ApiContext& api, Call& call);

// metrics_routes.cc
void Metrics(ApiContext& api, Call& call);

// server_routes.cc
void Health(ApiContext& api, Call& call);
void ListInstances(ApiContext& api, Call& call);
void AdvanceClock(ApiContext& api, Call& call);

}  // namespace routes
}  // namespace sw
