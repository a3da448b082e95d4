// The Router on a small table of its own: what matches, the parameters it captures,
// and which misses are 404 (no route has the path) and which 405 (only other methods).

#include "api/router.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sw {
namespace {

using Outcome = RouteMatch::Outcome;

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [method, pattern] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/v1/runs"},
             {"GET", "/api/v1/runs/{run_id}"},
             {"POST", "/api/v1/runs/{run_id}/pause"},
             {"GET", "/api/v1/runs/{run_id}/events/stream"},
             {"POST", "/api/v1/runs/{run_id}/events"},
             {"GET", "/api/v1/workflows/{workflow_id}/runs/{run_id}"},
             {"DELETE", "/api/v1/workflows/{workflow_id}/runs/{run_id}"},
             {"GET", "/api/v1/workflows/{workflow_id}/{view}"},
             {"GET", "/api/v1/workflows/{workflow_id}/versions"},
             {"GET", "/healthz"},
         }) {
      router_.Add(Route{method, pattern, Role::kViewer, nullptr});
    }
  }

  RouteMatch Match(const std::string& method, const std::vector<std::string>& segments) {
    return router_.Match(method, segments);
  }

  Router router_;
};

TEST_F(RouterTest, LiteralPathMatchesItsRoute) {
  RouteMatch m = Match("GET", {"api", "v1", "runs"});
  ASSERT_EQ(m.outcome, Outcome::kFound);
  EXPECT_EQ(m.route->pattern, "/api/v1/runs");
  EXPECT_TRUE(m.params.empty());
}

TEST_F(RouterTest, ParametersAreCapturedByName) {
  RouteMatch m = Match("DELETE", {"api", "v1", "workflows", "charge", "runs", "run_1"});
  ASSERT_EQ(m.outcome, Outcome::kFound);
  EXPECT_EQ(m.route->pattern, "/api/v1/workflows/{workflow_id}/runs/{run_id}");
  EXPECT_EQ(m.params, (PathParams{{"workflow_id", "charge"}, {"run_id", "run_1"}}));
}

TEST_F(RouterTest, AParameterHoldsASlashButNeverSpansSegments) {
  // "/api/v1/runs/a%2Fpause" decodes to one segment "a/pause": the run id.
  RouteMatch m = Match("GET", {"api", "v1", "runs", "a/pause"});
  ASSERT_EQ(m.outcome, Outcome::kFound);
  EXPECT_EQ(m.route->pattern, "/api/v1/runs/{run_id}");
  EXPECT_EQ(m.params, (PathParams{{"run_id", "a/pause"}}));
}

TEST_F(RouterTest, ParameterValuesAreTakenAsTheyAre) {
  for (const std::string& id : {std::string("a+b"), std::string("a b"), std::string(".."),
                                std::string("%2F"), std::string("a\0b", 3)}) {
    RouteMatch m = Match("GET", {"api", "v1", "runs", id});
    ASSERT_EQ(m.outcome, Outcome::kFound) << id;
    EXPECT_EQ(m.params, (PathParams{{"run_id", id}}));
  }
}

TEST_F(RouterTest, AnEmptySegmentMatchesNoParameter) {
  EXPECT_EQ(Match("GET", {"api", "v1", "runs", ""}).outcome, Outcome::kNoRoute);
  EXPECT_EQ(Match("POST", {"api", "v1", "runs", "", "pause"}).outcome, Outcome::kNoRoute);
}

TEST_F(RouterTest, KnownPathWithAnotherMethodIsMethodNotAllowed) {
  RouteMatch m = Match("POST", {"api", "v1", "runs", "run_1"});
  EXPECT_EQ(m.outcome, Outcome::kMethodNotAllowed);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/runs/{run_id}");
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(Match("GET", {"api", "v1", "runs", "run_1", "pause"}).outcome,
            Outcome::kMethodNotAllowed);
  EXPECT_EQ(Match("GET", {"api", "v1", "runs", "run_1", "events"}).outcome,
            Outcome::kMethodNotAllowed);
  EXPECT_EQ(Match("PUT", {"healthz"}).outcome, Outcome::kMethodNotAllowed);
}

TEST_F(RouterTest, MethodsAreMatchedExactly) {
  EXPECT_EQ(Match("get", {"api", "v1", "runs"}).outcome, Outcome::kMethodNotAllowed);
  EXPECT_EQ(Match("HEAD", {"api", "v1", "runs"}).outcome, Outcome::kMethodNotAllowed);
}

TEST_F(RouterTest, UnknownPathIsNoRoute) {
  for (const std::vector<std::string>& path : std::vector<std::vector<std::string>>{
           {},
           {"api"},
           {"api", "v1"},
           {"api", "v1", "nothing"},
           {"api", "v1", "runs", "run_1", "nothing"},
           {"api", "v1", "runs", "run_1", "pause", "more"},
           {"api", "v1", "runs", "run_1", "events", "stream", "more"},
           {"API", "v1", "runs"},
           {"healthz", "x"},
       }) {
    RouteMatch m = Match("GET", path);
    EXPECT_EQ(m.outcome, Outcome::kNoRoute) << ::testing::PrintToString(path);
    EXPECT_EQ(m.route, nullptr);
  }
}

TEST_F(RouterTest, ALiteralWinsOverAParameterAtTheSamePlace) {
  RouteMatch versions = Match("GET", {"api", "v1", "workflows", "wf", "versions"});
  ASSERT_EQ(versions.outcome, Outcome::kFound);
  EXPECT_EQ(versions.route->pattern, "/api/v1/workflows/{workflow_id}/versions");
  RouteMatch other = Match("GET", {"api", "v1", "workflows", "wf", "history"});
  ASSERT_EQ(other.outcome, Outcome::kFound);
  EXPECT_EQ(other.route->pattern, "/api/v1/workflows/{workflow_id}/{view}");
  EXPECT_EQ(other.params, (PathParams{{"workflow_id", "wf"}, {"view", "history"}}));
}

TEST_F(RouterTest, TheMethodPicksAmongRoutesOfOnePath) {
  RouteMatch get = Match("GET", {"api", "v1", "workflows", "wf", "runs", "r"});
  RouteMatch del = Match("DELETE", {"api", "v1", "workflows", "wf", "runs", "r"});
  ASSERT_EQ(get.outcome, Outcome::kFound);
  ASSERT_EQ(del.outcome, Outcome::kFound);
  EXPECT_EQ(get.route->method, "GET");
  EXPECT_EQ(del.route->method, "DELETE");
}

TEST(RouterDeathTest, MalformedPatternsAndDuplicatesAreBugs) {
  Router router;
  router.Add(Route{"GET", "/a/{id}", std::nullopt, nullptr});
  EXPECT_DEATH(router.Add(Route{"GET", "/a/{id}", std::nullopt, nullptr}), "SW_CHECK");
  EXPECT_DEATH(router.Add(Route{"GET", "a/b", std::nullopt, nullptr}), "SW_CHECK");
  EXPECT_DEATH(router.Add(Route{"GET", "/a//b", std::nullopt, nullptr}), "SW_CHECK");
  EXPECT_DEATH(router.Add(Route{"GET", "/a/{}", std::nullopt, nullptr}), "SW_CHECK");
  EXPECT_DEATH(router.Add(Route{"GET", "/a/x{id}", std::nullopt, nullptr}), "SW_CHECK");
}

}  // namespace
}  // namespace sw
