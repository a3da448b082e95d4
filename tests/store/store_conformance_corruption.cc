// Store conformance: a stored value its record does not admit (an unknown status or
// role, JSON that does not parse), planted behind the store's back, fails every read
// that meets it with a data-corruption status naming the table, row, column and
// value, never a default in its place. See store_conformance.h.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

TEST_P(StoreConformanceTest, AnUnknownRunStatusIsDataCorruptionEverywhereItIsRead) {
  CreateRunning("run_1");
  ASSERT_TRUE(backend_->ExecRaw("UPDATE runs SET status = 'exploded' WHERE id = 'run_1'").ok());
  const std::vector<std::string> named = {"runs", "run_1", "status", "exploded"};
  ExpectCorruption(store_->GetRun("run_1", false).status(), named);
  ExpectCorruption(store_->ListRuns("ws_1", RunFilter{}).status(), named);
  ExpectCorruption(store_->CountRunsByStatus().status(), {"runs", "status", "exploded"});
  // A write that reads it fails the same way (not as a lost compare-and-set) and
  // changes nothing.
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;
  t.next_status = RunStatus::kPaused;
  t.now = kT0;
  ExpectCorruption(store_->TransitionRun(std::move(t)).status(), named);
  Result<RunRecord> updated = store_->UpdateRun(
      "run_1", [](const RunRecord&) { return Result<std::optional<RunTransition>>(std::nullopt); },
      Store::UpdateReads{});
  ExpectCorruption(updated.status(), named);
  EXPECT_TRUE(store_->Healthy());
  ASSERT_TRUE(backend_->ExecRaw("UPDATE runs SET status = 'running' WHERE id = 'run_1'").ok());
  Result<RunRecord> run = store_->GetRun("run_1", false);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->version, 2);
}

TEST_P(StoreConformanceTest, AnUnknownPausedFromIsDataCorruption) {
  CreateRunning("run_1");
  ASSERT_TRUE(backend_->ExecRaw("UPDATE runs SET paused_from = 'nowhere' WHERE id = 'run_1'").ok());
  ExpectCorruption(store_->GetRun("run_1", false).status(),
                   {"runs", "run_1", "paused_from", "nowhere"});
}

TEST_P(StoreConformanceTest, AnUnknownStepStatusIsDataCorruptionWhenTheStepsAreRead) {
  CreateRunning("run_1");
  ASSERT_TRUE(Transition("run_1", 2, {MakeStep("a", StepStatus::kRunning, 1, kT0)}).ok());
  ASSERT_TRUE(
      backend_->ExecRaw("UPDATE steps SET status = 'lost' WHERE run_id = 'run_1' AND path = 'a'")
          .ok());
  ExpectCorruption(store_->GetRun("run_1", true).status(), {"steps", "run_1/a", "status", "lost"});
  EXPECT_TRUE(store_->GetRun("run_1", false).ok());
}

TEST_P(StoreConformanceTest, AnUnknownRoleIsDataCorruptionNotAViewer) {
  ASSERT_TRUE(
      store_->CreateToken({"tok_1", "ws_1", "ci", Role::kViewer, "h1", kT0, 0}, std::nullopt).ok());
  ASSERT_TRUE(store_->CreateSession("s-1", "tok_1", kT0 + 1000).ok());
  ASSERT_TRUE(backend_->ExecRaw("UPDATE tokens SET role = 'superuser' WHERE id = 'tok_1'").ok());
  const std::vector<std::string> named = {"tokens", "tok_1", "role", "superuser"};
  ExpectCorruption(store_->FindTokenByHash("h1").status(), named);
  ExpectCorruption(store_->ListTokens("ws_1").status(), named);
  ExpectCorruption(store_->FindSessionToken("s-1", kT0).status(), named);
}

TEST_P(StoreConformanceTest, AnUnknownWorkflowStatusIsDataCorruption) {
  ASSERT_TRUE(store_
                  ->PutWorkflow(MakeWorkflow("ws_1", "charge", json{{"v", 1}}),
                                MakeAudit("aud_1", "ws_1", "workflow.apply", "charge"))
                  .ok());
  ASSERT_TRUE(backend_->ExecRaw("UPDATE workflows SET status = 'paused' WHERE id = 'charge'").ok());
  const std::vector<std::string> named = {"workflows", "charge", "status", "paused"};
  ExpectCorruption(store_->GetWorkflow("ws_1", "charge").status(), named);
  ExpectCorruption(store_->ListWorkflows("ws_1").status(), named);
  // Nor is a new version stored over it.
  ExpectCorruption(store_
                       ->PutWorkflow(MakeWorkflow("ws_1", "charge", json{{"v", 2}}),
                                     MakeAudit("aud_2", "ws_1", "workflow.apply", "charge"))
                       .status(),
                   named);
}

TEST_P(StoreConformanceTest, AnUnknownAgentTaskStatusIsDataCorruption) {
  CreateRunning("run_1");
  EnqueueTask(MakeTask("task_1", "run_1", "q"));
  ASSERT_TRUE(
      backend_->ExecRaw("UPDATE agent_tasks SET status = 'sleeping' WHERE id = 'task_1'").ok());
  const std::vector<std::string> named = {"agent_tasks", "task_1", "status", "sleeping"};
  ExpectCorruption(store_->GetAgentTask("task_1").status(), named);
  ExpectCorruption(store_->HeartbeatAgentTask("task_1", "a1", kT0, 1000).status(), named);
  ASSERT_TRUE(
      backend_->ExecRaw("UPDATE agent_tasks SET status = 'queued' WHERE id = 'task_1'").ok());
  EXPECT_TRUE(store_->GetAgentTask("task_1").ok());
}

TEST_P(StoreConformanceTest, JsonThatDoesNotParseIsDataCorruptionNotNull) {
  CreateRunning("run_1");
  ASSERT_TRUE(store_->BufferEvent("run_1", 2, {0, "run_1", "go", json{{"n", 1}}, kT0}).ok());
  ASSERT_TRUE(store_
                  ->PutWorkflow(MakeWorkflow("ws_1", "charge", json{{"v", 1}}),
                                MakeAudit("aud_1", "ws_1", "workflow.apply", "charge"))
                  .ok());
  ASSERT_TRUE(backend_->ExecRaw("UPDATE runs SET input = '{\"user\": 4' WHERE id = 'run_1'").ok());
  ASSERT_TRUE(backend_->ExecRaw("UPDATE events SET payload = '[1,' WHERE run_id = 'run_1'").ok());
  ASSERT_TRUE(backend_
                  ->ExecRaw("UPDATE workflow_versions SET definition = 'steps:' WHERE "
                            "workflow_id = 'charge'")
                  .ok());
  ExpectCorruption(store_->GetRun("run_1", false).status(),
                   {"runs", "run_1", "input", "{\"user\": 4"});
  ExpectCorruption(store_->FindBufferedEvent("run_1", "go").status(), {"events", "payload", "[1,"});
  ExpectCorruption(store_->GetDefinition("ws_1", "charge", 1).status(),
                   {"workflow_versions", "charge", "definition", "steps:"});
  ExpectCorruption(store_->GetWorkflow("ws_1", "charge").status(), {"workflow_versions"});
}

}  // namespace
}  // namespace sw::store_test
