// The API's route table against the contract (../shared/API.md, docs/api.md), written
// out here independently of api.cc: every endpoint with the least role it needs, and
// nothing else routed.

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"

namespace sw {
namespace {

struct Endpoint {
  std::string method;
  std::string path;  // an example path
  std::optional<Role> role;
};

const std::optional<Role> kPublic;

const std::vector<Endpoint>& Contract() {
  static const std::vector<Endpoint> endpoints = {
      {"GET", "/healthz", kPublic},
      {"GET", "/metrics", kPublic},
      {"GET", "/api/v1/openapi.json", kPublic},
      {"GET", "/api/v1/session", kPublic},
      {"POST", "/api/v1/session", kPublic},
      {"DELETE", "/api/v1/session", kPublic},
      {"POST", "/api/v1/workflows/wf/runs", Role::kOperator},
      {"POST", "/api/v1/workflows/wf/trigger", Role::kOperator},
      {"GET", "/api/v1/runs", Role::kViewer},
      {"GET", "/api/v1/runs/r1", Role::kViewer},
      {"GET", "/api/v1/workflows/wf/runs/r1", Role::kViewer},
      {"POST", "/api/v1/runs/r1/pause", Role::kOperator},
      {"POST", "/api/v1/runs/r1/resume", Role::kOperator},
      {"POST", "/api/v1/runs/r1/cancel", Role::kOperator},
      {"DELETE", "/api/v1/workflows/wf/runs/r1", Role::kOperator},
      {"POST", "/api/v1/runs/r1/events", Role::kOperator},
      {"POST", "/api/v1/runs/r1/replay", Role::kOperator},
      {"GET", "/api/v1/runs/r1/events/stream", Role::kViewer},
      {"POST", "/api/v1/runs/bulk", Role::kOperator},
      {"GET", "/api/v1/operations/op_1", Role::kViewer},
      {"GET", "/api/v1/schedules", Role::kViewer},
      {"POST", "/api/v1/schedules", Role::kAdmin},
      {"GET", "/api/v1/schedules/sch_1", Role::kViewer},
      {"PUT", "/api/v1/schedules/sch_1", Role::kAdmin},
      {"DELETE", "/api/v1/schedules/sch_1", Role::kAdmin},
      {"POST", "/api/v1/schedules/sch_1/pause", Role::kAdmin},
      {"POST", "/api/v1/schedules/sch_1/resume", Role::kAdmin},
      {"GET", "/api/v1/retention", Role::kAdmin},
      {"PUT", "/api/v1/retention", Role::kAdmin},
      {"PUT", "/api/v1/workflows/wf", Role::kAdmin},
      {"GET", "/api/v1/workflows", Role::kViewer},
      {"GET", "/api/v1/workflows/wf", Role::kViewer},
      {"GET", "/api/v1/workflows/wf/versions/3", Role::kViewer},
      {"POST", "/api/v1/workflows/wf/status", Role::kAdmin},
      {"POST", "/api/v1/workflows/wf/resume", Role::kAdmin},
      {"POST", "/api/v1/workflows/wf/invoke", Role::kOperator},
      {"POST", "/api/v1/agents/claim", Role::kAgent},
      {"POST", "/api/v1/agent-tasks/t1/heartbeat", Role::kAgent},
      {"POST", "/api/v1/agent-tasks/t1/complete", Role::kAgent},
      {"POST", "/api/v1/agent-tasks/t1/fail", Role::kAgent},
      {"GET", "/api/v1/tokens", Role::kAdmin},
      {"POST", "/api/v1/tokens", Role::kAdmin},
      {"DELETE", "/api/v1/tokens/tok_1", Role::kAdmin},
      {"GET", "/api/v1/audit", Role::kAdmin},
      // Named approvers may be viewers: who may decide is the control layer's check.
      {"GET", "/api/v1/approvals", Role::kViewer},
      {"GET", "/api/v1/approvals/apr_1", Role::kViewer},
      {"POST", "/api/v1/approvals/apr_1/decision", Role::kViewer},
      {"POST", "/api/v1/approvals/apr_1/links", Role::kOperator},
      {"GET", "/api/v1/forms/frm_1", Role::kViewer},
      {"POST", "/api/v1/forms/frm_1/submit", Role::kOperator},
      {"GET", "/approve/tok", kPublic},
      {"POST", "/approve/tok", kPublic},
      {"GET", "/approve/done", kPublic},
      {"GET", "/api/v1/notifications", Role::kViewer},
      {"POST", "/api/v1/notifications/ntf_1/read", Role::kViewer},
      {"GET", "/api/v1/notifications/deliveries", Role::kAdmin},
      {"GET", "/api/v1/notification-channels", Role::kAdmin},
      {"PUT", "/api/v1/notification-channels", Role::kAdmin},
      {"GET", "/api/v1/billing", Role::kViewer},
      {"GET", "/api/v1/instances", Role::kAdmin},
      {"PUT", "/api/v1/billing", Role::kAdmin},
      {"GET", "/api/v1/connections", Role::kViewer},
      {"POST", "/api/v1/connections", Role::kAdmin},
      {"GET", "/api/v1/connections/conn_1", Role::kViewer},
      {"DELETE", "/api/v1/connections/conn_1", Role::kAdmin},
      {"POST", "/api/v1/connections/conn_1/refresh", Role::kAdmin},
      {"POST", "/api/v1/connections/conn_1/reconnect", Role::kAdmin},
      {"GET", "/api/v1/connections/conn_1/authorize", Role::kAdmin},
      // The authorization-code flow's end: its one-use state is the credential.
      {"GET", "/oauth/callback", kPublic},
  };
  return endpoints;
}

const Endpoint kAdvanceClock = {"POST", "/api/v1/testing/clock/advance", Role::kAdmin};

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

Router Build(bool fake_clock) {
  Router router;
  for (Route& route : ApiRoutes(fake_clock)) {
    router.Add(std::move(route));
  }
  return router;
}

void ExpectRouted(const Router& router, const Endpoint& e) {
  RouteMatch m = router.Match(e.method, Segments(e.path));
  ASSERT_EQ(m.outcome, RouteMatch::Outcome::kFound) << e.method << " " << e.path;
  EXPECT_EQ(m.route->role, e.role) << e.method << " " << e.path;
  EXPECT_NE(m.route->handler, nullptr) << e.method << " " << e.path;
}

TEST(RouteTableTest, EveryEndpointIsRoutedWithItsRole) {
  const Router router = Build(false);
  for (const Endpoint& e : Contract()) {
    ExpectRouted(router, e);
  }
}

TEST(RouteTableTest, NothingElseIsRouted) {
  const Router router = Build(true);
  std::set<std::pair<std::string, const Route*>> contract_routes;
  std::vector<Endpoint> all = Contract();
  all.push_back(kAdvanceClock);
  for (const Endpoint& e : all) {
    contract_routes.emplace(e.method, router.Match(e.method, Segments(e.path)).route);
  }
  EXPECT_EQ(contract_routes.size(), all.size()) << "two endpoints share a route";
  EXPECT_EQ(ApiRoutes(true).size(), all.size());
}

// A change's handler holds an I/O thread only when it answers from a completion (a
// start, a control) or hands its wait to the script invoker; every other change runs
// on the API's pool, so one waiting for its commit never stalls the connections dealt
// to its thread.
TEST(RouteTableTest, OnlyChangesThatAnswerWithoutWaitingRunOnTheIoThread) {
  const std::set<std::pair<std::string, std::string>> expected = {
      {"POST", "/api/v1/workflows/{workflow_id}/runs"},
      {"POST", "/api/v1/workflows/{workflow_id}/trigger"},
      {"POST", "/api/v1/runs/{run_id}/pause"},
      {"POST", "/api/v1/runs/{run_id}/resume"},
      {"POST", "/api/v1/runs/{run_id}/cancel"},
      {"DELETE", "/api/v1/workflows/{workflow_id}/runs/{run_id}"},
      {"POST", "/api/v1/workflows/{workflow_id}/invoke"},
      {"POST", "/api/v1/connections/{connection_id}/refresh"},
  };
  std::set<std::pair<std::string, std::string>> marked;
  for (const Route& route : ApiRoutes(true)) {
    if (route.answers_without_waiting) {
      EXPECT_NE(route.method, "GET") << route.pattern << ": a read runs on its thread anyway";
      marked.emplace(route.method, route.pattern);
    }
  }
  EXPECT_EQ(marked, expected);
}

TEST(RouteTableTest, TheTestingClockIsRoutedOnlyOnAFakeClock) {
  ExpectRouted(Build(true), kAdvanceClock);
  EXPECT_EQ(Build(false).Match(kAdvanceClock.method, Segments(kAdvanceClock.path)).outcome,
            RouteMatch::Outcome::kNoRoute);
}

TEST(RouteTableTest, KnownPathsWithOtherMethodsAreMethodNotAllowed) {
  const Router router = Build(false);
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/api/v1/runs"},
           {"PUT", "/api/v1/runs/bulk"},
           {"POST", "/api/v1/operations/op_1"},
           {"PATCH", "/api/v1/runs/r1"},
           {"GET", "/api/v1/runs/r1/pause"},
           {"DELETE", "/api/v1/runs/r1/cancel"},
           {"GET", "/api/v1/runs/r1/events"},
           {"POST", "/api/v1/runs/r1/events/stream"},
           {"DELETE", "/api/v1/workflows"},
           {"POST", "/api/v1/workflows/wf"},
           {"GET", "/api/v1/workflows/wf/runs"},
           {"POST", "/api/v1/workflows/wf/runs/r1"},
           {"PUT", "/api/v1/workflows/wf/versions/1"},
           {"GET", "/api/v1/agents/claim"},
           {"GET", "/api/v1/agent-tasks/t1/complete"},
           {"PUT", "/api/v1/tokens"},
           {"GET", "/api/v1/tokens/tok_1"},
           {"POST", "/api/v1/audit"},
           {"PUT", "/api/v1/session"},
           {"POST", "/healthz"},
       }) {
    EXPECT_EQ(router.Match(method, Segments(path)).outcome, RouteMatch::Outcome::kMethodNotAllowed)
        << method << " " << path;
  }
}

TEST(RouteTableTest, UnknownPathsAreNoRoute) {
  const Router router = Build(false);
  for (const std::string path :
       {"/api/v1/nothing", "/api/v1/runs/r1/nothing", "/api/v1/runs/r1/events/other",
        "/api/v1/workflows/wf/versions", "/api/v1/workflows/wf/versions/1/x",
        "/api/v1/agents/other", "/api/v1/agent-tasks/t1/other", "/api/v1/agent-tasks/t1",
        "/api/v1/tokens/tok_1/x", "/api/v1/session/x", "/api/v1/testing/clock/advance",
        "/api/v2/runs"}) {
    EXPECT_EQ(router.Match("GET", Segments(path)).outcome, RouteMatch::Outcome::kNoRoute) << path;
  }
}

}  // namespace
}  // namespace sw
