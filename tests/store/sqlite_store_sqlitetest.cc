// The Store contract against a real SqliteStore in a temporary directory: workspaces,
// tokens and sessions, workflow versions, runs and idempotency keys, the
// compare-and-set TransitionRun with its side effects, timers, buffered events,
// ListRuns, group commit and durability across a reopen.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_store.h"

namespace sw {
namespace {

using nlohmann::json;

constexpr int64_t kT0 = 1'700'000'000'000;

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sw_store_XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

AuditEntry MakeAudit(const std::string& id, const std::string& workspace_id,
                     const std::string& action, const std::string& target) {
  AuditEntry a;
  a.id = id;
  a.workspace_id = workspace_id;
  a.at = kT0;
  a.actor = "token:admin";
  a.action = action;
  a.target = target;
  return a;
}

StepRecord MakeStep(const std::string& path, StepStatus status, int attempt = 1,
                    int64_t started_at = 0) {
  StepRecord s;
  s.path = path;
  s.step_id = path;
  s.type = "http";
  s.status = status;
  s.attempt = attempt;
  s.started_at = started_at;
  return s;
}

const StepRecord* FindStep(const RunRecord& run, const std::string& path) {
  for (const StepRecord& s : run.steps) {
    if (s.path == path) {
      return &s;
    }
  }
  return nullptr;
}

// Blocks the store's writer thread inside the change listener (which runs on it after a
// commit) until released, so writes queued meanwhile are committed as one group. It
// blocks on the first commit that changed `trigger_run`: the listener of the commit
// before the arming may still be running, so any commit would not do.
class WriterGate {
 public:
  void Arm(std::string trigger_run) {
    std::lock_guard lock(mu_);
    trigger_run_ = std::move(trigger_run);
  }
  // Called by the listener on the writer thread.
  void MaybeBlock(const std::vector<std::string>& changed) {
    std::unique_lock lock(mu_);
    if (trigger_run_.empty() ||
        std::find(changed.begin(), changed.end(), trigger_run_) == changed.end()) {
      return;
    }
    trigger_run_.clear();
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
  }
  bool WaitEntered() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return entered_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string trigger_run_;  // guarded by mu_; empty: not armed
  bool entered_ = false;     // guarded by mu_
  bool released_ = false;    // guarded by mu_
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    Open();
  }

  void TearDown() override {
    gate_.Release();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
    // Installed before any write: the writer thread reads the listener unguarded.
    store_->SetChangeListener([this](const std::vector<std::string>& ids) {
      {
        std::lock_guard lock(changed_mu_);
        changed_.insert(ids.begin(), ids.end());
      }
      gate_.MaybeBlock(ids);
    });
  }

  void Reopen() {
    store_.reset();
    Open();
  }

  std::set<std::string> Changed() {
    std::lock_guard lock(changed_mu_);
    return changed_;
  }

  RunRecord NewRun(const std::string& id, const std::string& workspace_id = "ws_1",
                   const std::string& workflow_id = "charge") {
    RunRecord r;
    r.id = id;
    r.workspace_id = workspace_id;
    r.workflow_id = workflow_id;
    r.workflow_version = 1;
    r.input = json{{"user", 42}};
    r.trigger = json{{"kind", "api"}};
    r.created_at = r.updated_at = kT0;
    return r;
  }

  // Creates a run and moves it to running (version 2).
  RunRecord CreateRunning(const std::string& id, const std::string& workspace_id = "ws_1",
                          const std::string& workflow_id = "charge") {
    Result<CreateRunResult> created =
        store_->CreateRun(NewRun(id, workspace_id, workflow_id), std::nullopt);
    EXPECT_TRUE(created.ok()) << created.status().message();
    RunTransition t;
    t.run_id = id;
    t.expected_version = 1;
    t.expected_status = RunStatus::kPending;
    t.next_status = RunStatus::kRunning;
    t.started_at = kT0;
    t.now = kT0;
    Result<int64_t> v = store_->TransitionRun(std::move(t));
    EXPECT_TRUE(v.ok()) << v.status().message();
    Result<RunRecord> run = store_->GetRun(id, true);
    EXPECT_TRUE(run.ok());
    return run.ok() ? *run : RunRecord{};
  }

  Result<int64_t> Transition(const std::string& run_id, int64_t expected_version,
                             std::vector<StepRecord> steps, int64_t now = kT0 + 1) {
    RunTransition t;
    t.run_id = run_id;
    t.expected_version = expected_version;
    t.now = now;
    t.upsert_steps = std::move(steps);
    return store_->TransitionRun(std::move(t));
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  WriterGate gate_;
  std::mutex changed_mu_;
  std::set<std::string> changed_;  // guarded by changed_mu_
};

// --- workspaces, tokens, sessions ---

TEST_F(SqliteStoreTest, WorkspaceIsFoundBySlugAndIdAndSlugsAreUnique) {
  ASSERT_TRUE(store_->CreateWorkspace({"ws_1", "acme", kT0}).ok());
  Result<WorkspaceRecord> by_slug = store_->FindWorkspaceBySlug("acme");
  ASSERT_TRUE(by_slug.ok());
  EXPECT_EQ(by_slug->id, "ws_1");
  EXPECT_EQ(by_slug->created_at, kT0);
  Result<WorkspaceRecord> by_id = store_->FindWorkspace("ws_1");
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->slug, "acme");

  Result<WorkspaceRecord> dup = store_->CreateWorkspace({"ws_2", "acme", kT0});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->FindWorkspaceBySlug("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->FindWorkspace("ws_2").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, TokensAreFoundByHashListedAndRevoked) {
  TokenRecord admin{"tok_1", "ws_1", "admin", Role::kAdmin, "hash-1", kT0, 0};
  TokenRecord op{"tok_2", "ws_1", "ci", Role::kOperator, "hash-2", kT0 + 1, 0};
  TokenRecord other{"tok_3", "ws_2", "x", Role::kViewer, "hash-3", kT0, 0};
  ASSERT_TRUE(store_->CreateToken(admin, std::nullopt).ok());
  ASSERT_TRUE(store_->CreateToken(op, MakeAudit("aud_1", "ws_1", "token.create", "tok_2")).ok());
  ASSERT_TRUE(store_->CreateToken(other, std::nullopt).ok());

  Result<TokenRecord> found = store_->FindTokenByHash("hash-2");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, "tok_2");
  EXPECT_EQ(found->workspace_id, "ws_1");
  EXPECT_EQ(found->name, "ci");
  EXPECT_EQ(found->role, Role::kOperator);
  EXPECT_EQ(found->created_at, kT0 + 1);
  EXPECT_EQ(store_->FindTokenByHash("hash-9").status().code(), StatusCode::kNotFound);

  Result<std::vector<TokenRecord>> listed = store_->ListTokens("ws_1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "tok_2");  // newest first
  EXPECT_EQ((*listed)[1].id, "tok_1");

  // Another workspace cannot revoke it.
  EXPECT_EQ(
      store_->RevokeToken("ws_2", "tok_2", kT0 + 5, MakeAudit("aud_x", "ws_2", "r", "t")).code(),
      StatusCode::kNotFound);
  ASSERT_TRUE(store_
                  ->RevokeToken("ws_1", "tok_2", kT0 + 5,
                                MakeAudit("aud_2", "ws_1", "token.revoke", "tok_2"))
                  .ok());
  EXPECT_EQ(store_->FindTokenByHash("hash-2").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindTokenByHash("hash-1").ok());
  // A second revoke finds no active token.
  EXPECT_EQ(
      store_->RevokeToken("ws_1", "tok_2", kT0 + 6, MakeAudit("aud_3", "ws_1", "r", "t")).code(),
      StatusCode::kNotFound);

  listed = store_->ListTokens("ws_1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].revoked_at, kT0 + 5);
  EXPECT_EQ((*listed)[1].revoked_at, 0);

  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "tok_2", "", 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].action, "token.revoke");
  EXPECT_EQ((*audit)[1].action, "token.create");
  // The failed revokes wrote no audit entry.
  Result<std::vector<AuditEntry>> other_audit = store_->ListAudit("ws_2", "", "", 10);
  ASSERT_TRUE(other_audit.ok());
  EXPECT_TRUE(other_audit->empty());
}

TEST_F(SqliteStoreTest, SessionStandsForItsTokenUntilExpiryOrDeletion) {
  ASSERT_TRUE(
      store_->CreateToken({"tok_1", "ws_1", "admin", Role::kAdmin, "h1", kT0, 0}, std::nullopt)
          .ok());
  ASSERT_TRUE(store_->CreateSession("s-1", "tok_1", kT0 + 1000).ok());
  ASSERT_TRUE(store_->CreateSession("s-2", "tok_1", kT0 + 1000).ok());

  Result<TokenRecord> t = store_->FindSessionToken("s-1", kT0 + 999);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->id, "tok_1");
  EXPECT_EQ(t->role, Role::kAdmin);
  EXPECT_EQ(store_->FindSessionToken("s-1", kT0 + 1000).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->FindSessionToken("unknown", kT0).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->DeleteSession("s-1").ok());
  EXPECT_EQ(store_->FindSessionToken("s-1", kT0).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindSessionToken("s-2", kT0).ok());
}

TEST_F(SqliteStoreTest, RevokedTokenEndsItsSessions) {
  ASSERT_TRUE(
      store_->CreateToken({"tok_1", "ws_1", "a", Role::kAdmin, "h1", kT0, 0}, std::nullopt).ok());
  ASSERT_TRUE(
      store_->CreateToken({"tok_2", "ws_1", "b", Role::kViewer, "h2", kT0, 0}, std::nullopt).ok());
  ASSERT_TRUE(store_->CreateSession("s-1", "tok_1", kT0 + 1000).ok());
  ASSERT_TRUE(store_->CreateSession("s-2", "tok_2", kT0 + 1000).ok());
  ASSERT_TRUE(
      store_->RevokeToken("ws_1", "tok_1", kT0 + 1, MakeAudit("aud_1", "ws_1", "r", "tok_1")).ok());
  EXPECT_EQ(store_->FindSessionToken("s-1", kT0 + 2).status().code(), StatusCode::kNotFound);
  Result<TokenRecord> still = store_->FindSessionToken("s-2", kT0 + 2);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->id, "tok_2");
}

// --- workflows ---

TEST_F(SqliteStoreTest, PutWorkflowVersionsOnlyChangedDefinitions) {
  WorkflowRecord wf;
  wf.workspace_id = "ws_1";
  wf.id = "charge";
  wf.kind = "workflow";
  wf.mode = "standard";
  wf.definition = json{{"steps", json::array({{{"id", "a"}, {"type", "noop"}}})}};
  wf.created_at = wf.updated_at = kT0;

  Result<PutWorkflowResult> first =
      store_->PutWorkflow(wf, MakeAudit("aud_1", "ws_1", "a", "charge"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->workflow.version, 1);

  wf.updated_at = kT0 + 10;
  Result<PutWorkflowResult> same =
      store_->PutWorkflow(wf, MakeAudit("aud_2", "ws_1", "a", "charge"));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->created);
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(same->workflow.version, 1);
  EXPECT_EQ(same->workflow.definition, wf.definition);

  const json v1 = wf.definition;
  wf.definition["steps"].push_back({{"id", "b"}, {"type", "noop"}});
  wf.updated_at = kT0 + 20;
  Result<PutWorkflowResult> changed =
      store_->PutWorkflow(wf, MakeAudit("aud_3", "ws_1", "a", "charge"));
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->created);
  EXPECT_TRUE(changed->changed);
  EXPECT_EQ(changed->workflow.version, 2);

  Result<WorkflowRecord> got = store_->GetWorkflow("ws_1", "charge");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->definition, wf.definition);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_EQ(got->updated_at, kT0 + 20);
  EXPECT_EQ(got->status, "active");

  Result<json> def1 = store_->GetDefinition("ws_1", "charge", 1);
  ASSERT_TRUE(def1.ok());
  EXPECT_EQ(*def1, v1);
  Result<json> def2 = store_->GetDefinition("ws_1", "charge", 2);
  ASSERT_TRUE(def2.ok());
  EXPECT_EQ(*def2, wf.definition);
  EXPECT_EQ(store_->GetDefinition("ws_1", "charge", 3).status().code(), StatusCode::kNotFound);
  // Workflows are per workspace.
  EXPECT_EQ(store_->GetWorkflow("ws_2", "charge").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetDefinition("ws_2", "charge", 1).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, WorkflowStatusIsSetListedAndKeptAcrossNewVersions) {
  WorkflowRecord wf;
  wf.workspace_id = "ws_1";
  wf.id = "b-flow";
  wf.kind = "workflow";
  wf.mode = "standard";
  wf.definition = json{{"v", 1}};
  ASSERT_TRUE(store_->PutWorkflow(wf, MakeAudit("aud_1", "ws_1", "a", "b-flow")).ok());
  wf.id = "a-flow";
  ASSERT_TRUE(store_->PutWorkflow(wf, MakeAudit("aud_2", "ws_1", "a", "a-flow")).ok());

  Result<WorkflowRecord> disabled =
      store_->SetWorkflowStatus("ws_1", "b-flow", "disabled", kT0 + 5,
                                MakeAudit("aud_3", "ws_1", "workflow.status", "b-flow"));
  ASSERT_TRUE(disabled.ok());
  EXPECT_EQ(disabled->status, "disabled");
  EXPECT_EQ(disabled->updated_at, kT0 + 5);
  EXPECT_EQ(store_
                ->SetWorkflowStatus("ws_1", "missing", "disabled", kT0,
                                    MakeAudit("aud_4", "ws_1", "workflow.status", "missing"))
                .status()
                .code(),
            StatusCode::kNotFound);

  wf.id = "b-flow";
  wf.definition = json{{"v", 2}};
  Result<PutWorkflowResult> v2 = store_->PutWorkflow(wf, MakeAudit("aud_5", "ws_1", "a", "b-flow"));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->workflow.version, 2);
  EXPECT_EQ(store_->GetWorkflow("ws_1", "b-flow")->status, "disabled");

  Result<std::vector<WorkflowRecord>> listed = store_->ListWorkflows("ws_1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "a-flow");
  EXPECT_EQ((*listed)[0].status, "active");
  EXPECT_EQ((*listed)[1].id, "b-flow");
  EXPECT_EQ((*listed)[1].version, 2);
  EXPECT_TRUE(store_->ListWorkflows("ws_2")->empty());
  // The failed status change wrote no audit entry.
  EXPECT_TRUE(store_->ListAudit("ws_1", "missing", "", 10)->empty());
}

// --- runs and idempotency ---

TEST_F(SqliteStoreTest, CreatedRunReadsBackWithAllFields) {
  RunRecord r = NewRun("run_1");
  r.replay_of = "run_0";
  Result<CreateRunResult> created = store_->CreateRun(r, std::nullopt);
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(created->replayed);
  Result<RunRecord> got = store_->GetRun("run_1", true);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->workspace_id, "ws_1");
  EXPECT_EQ(got->workflow_id, "charge");
  EXPECT_EQ(got->workflow_version, 1);
  EXPECT_EQ(got->status, RunStatus::kPending);
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->input, (json{{"user", 42}}));
  EXPECT_EQ(got->trigger, (json{{"kind", "api"}}));
  EXPECT_EQ(got->replay_of, "run_0");
  EXPECT_TRUE(got->pause.is_null());
  EXPECT_TRUE(got->output.is_null());
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_TRUE(got->steps.empty());
  EXPECT_EQ(store_->GetRun("run_9", false).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, IdempotencyKeyReplaysConflictsAndExpires) {
  IdempotencyKey key{"k-1", "hash-a", kT0 - 1000};
  Result<CreateRunResult> first = store_->CreateRun(NewRun("run_1"), key);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->replayed);
  EXPECT_EQ(first->run.id, "run_1");

  // Same key, same request: the first run, and no second run is made.
  Result<CreateRunResult> again = store_->CreateRun(NewRun("run_2"), key);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->run.id, "run_1");
  EXPECT_EQ(again->run.status, RunStatus::kPending);
  EXPECT_EQ(store_->GetRun("run_2", false).status().code(), StatusCode::kNotFound);

  // Same key, another request.
  Result<CreateRunResult> conflict =
      store_->CreateRun(NewRun("run_3"), IdempotencyKey{"k-1", "hash-b", kT0 - 1000});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(conflict.status().api_code(), "idempotency_conflict");
  EXPECT_EQ(store_->GetRun("run_3", false).status().code(), StatusCode::kNotFound);

  // The same key in another workspace is another key.
  Result<CreateRunResult> other_ws = store_->CreateRun(NewRun("run_4", "ws_2"), key);
  ASSERT_TRUE(other_ws.ok());
  EXPECT_FALSE(other_ws->replayed);

  // Once the key is older than the window it is forgotten: a new run, even for a
  // different request, and the key now names the new run.
  IdempotencyKey later{"k-1", "hash-b", kT0 + 1};
  RunRecord run_5 = NewRun("run_5");
  run_5.created_at = run_5.updated_at = kT0 + 10;
  Result<CreateRunResult> fresh = store_->CreateRun(run_5, later);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_FALSE(fresh->replayed);
  EXPECT_EQ(fresh->run.id, "run_5");
  EXPECT_TRUE(store_->GetRun("run_5", false).ok());
  Result<CreateRunResult> replay_new = store_->CreateRun(NewRun("run_6"), later);
  ASSERT_TRUE(replay_new.ok());
  EXPECT_TRUE(replay_new->replayed);
  EXPECT_EQ(replay_new->run.id, "run_5");
}

// --- TransitionRun ---

TEST_F(SqliteStoreTest, LostCompareAndSetOnVersionWritesNothing) {
  CreateRunning("run_1");
  ASSERT_TRUE(Transition("run_1", 2, {MakeStep("a", StepStatus::kRunning, 1, kT0)}).ok());
  RunTransition timer;
  timer.run_id = "run_1";
  timer.expected_version = 3;
  timer.now = kT0;
  timer.add_timers.push_back({"run_1", "timeout", "a", kT0 + 100});
  ASSERT_TRUE(store_->TransitionRun(std::move(timer)).ok());
  ASSERT_TRUE(store_->BufferEvent("run_1", 4, {0, "run_1", "go", json{{"n", 1}}, kT0}).ok());
  Result<std::optional<EventRecord>> event = store_->FindBufferedEvent("run_1", "go");
  ASSERT_TRUE(event.ok() && event->has_value());
  // The run is now at version 5.

  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 4;  // stale
  t.expected_status = RunStatus::kRunning;
  t.next_status = RunStatus::kCancelled;
  t.cancel = json{{"reason", "x"}};
  t.output = json{{"o", 1}};
  t.finished_at = kT0 + 50;
  t.now = kT0 + 50;
  t.upsert_steps = {MakeStep("b", StepStatus::kRunning)};
  t.cancel_steps_in_flight = "workflow stopped by user";
  t.discard_step_result = "a";
  t.clear_timers = true;
  t.add_timers.push_back({"run_1", "wake", "b", kT0 + 10});
  t.consume_event_id = (*event)->id;
  t.audit = MakeAudit("aud_lost", "ws_1", "run.cancel", "run_1");
  Result<int64_t> lost = store_->TransitionRun(std::move(t));

  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted);
  EXPECT_EQ(lost.status().api_code(), "state_changed");
  EXPECT_EQ(lost.status().extra()["current_status"], "running");
  EXPECT_EQ(lost.status().extra()["version"], 5);

  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kRunning);
  EXPECT_EQ(run->version, 5);
  EXPECT_TRUE(run->output.is_null());
  EXPECT_TRUE(run->cancel.is_null());
  EXPECT_EQ(run->finished_at, 0);
  ASSERT_EQ(run->steps.size(), 1u);
  EXPECT_EQ(run->steps[0].path, "a");
  EXPECT_EQ(run->steps[0].status, StepStatus::kRunning);
  EXPECT_FALSE(run->steps[0].result_discarded);
  Result<std::vector<TimerRecord>> timers = store_->DueTimers(kT0 + 1'000'000, 10);
  ASSERT_TRUE(timers.ok());
  ASSERT_EQ(timers->size(), 1u);
  EXPECT_EQ((*timers)[0].kind, "timeout");
  EXPECT_TRUE(store_->FindBufferedEvent("run_1", "go")->has_value());
  EXPECT_TRUE(store_->ListAudit("ws_1", "run_1", "", 10)->empty());
}

TEST_F(SqliteStoreTest, LostCompareAndSetOnStatusIsAborted) {
  CreateRunning("run_1");
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;                  // right version
  t.expected_status = RunStatus::kPaused;  // wrong status
  t.next_status = RunStatus::kRunning;
  t.upsert_steps = {MakeStep("a", StepStatus::kRunning)};
  t.audit = MakeAudit("aud_1", "ws_1", "run.resume", "run_1");
  Result<int64_t> lost = store_->TransitionRun(std::move(t));
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted);
  EXPECT_EQ(lost.status().extra()["current_status"], "running");
  EXPECT_EQ(lost.status().extra()["version"], 2);
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->version, 2);
  EXPECT_TRUE(run->steps.empty());
  EXPECT_TRUE(store_->ListAudit("ws_1", "run_1", "", 10)->empty());

  EXPECT_EQ(Transition("run_missing", 1, {}).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, TransitionBumpsVersionByOneAndAppliesFields) {
  CreateRunning("run_1");
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;
  t.expected_status = RunStatus::kRunning;
  t.next_status = RunStatus::kPaused;
  t.paused_from = RunStatus::kRunning;
  t.pause = json{{"reason", "operator"}, {"by", "token:admin"}};
  t.now = kT0 + 7;
  t.audit = MakeAudit("aud_1", "ws_1", "run.pause", "run_1");
  Result<int64_t> v = store_->TransitionRun(std::move(t));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 3);

  Result<RunRecord> run = store_->GetRun("run_1", false);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->version, 3);
  EXPECT_EQ(run->status, RunStatus::kPaused);
  EXPECT_EQ(run->paused_from, RunStatus::kRunning);
  EXPECT_EQ(run->pause["reason"], "operator");
  EXPECT_EQ(run->updated_at, kT0 + 7);
  EXPECT_EQ(run->started_at, kT0);  // unset fields are not changed
  EXPECT_EQ(run->input, (json{{"user", 42}}));
  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "run_1", "", 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "run.pause");

  // A version-only bump: status unchanged.
  Result<int64_t> bump = Transition("run_1", 3, {});
  ASSERT_TRUE(bump.ok());
  EXPECT_EQ(*bump, 4);
  EXPECT_EQ(store_->GetRun("run_1", false)->status, RunStatus::kPaused);
}

TEST_F(SqliteStoreTest, StepUpsertKeepsSeqAttemptAndStartWhenNotGiven) {
  CreateRunning("run_1");
  ASSERT_TRUE(Transition("run_1", 2,
                         {MakeStep("a", StepStatus::kRunning, 1, kT0 + 100),
                          MakeStep("b", StepStatus::kRunning, 1, kT0 + 110)})
                  .ok());
  StepRecord a_done = MakeStep("a", StepStatus::kCompleted, /*attempt=*/0, /*started_at=*/0);
  a_done.finished_at = kT0 + 200;
  a_done.output = json{{"x", 1}};
  ASSERT_TRUE(
      Transition("run_1", 3, {a_done, MakeStep("c", StepStatus::kWaiting, 1, kT0 + 210)}).ok());

  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->steps.size(), 3u);
  EXPECT_EQ(run->steps[0].path, "a");  // ordered by seq
  EXPECT_EQ(run->steps[1].path, "b");
  EXPECT_EQ(run->steps[2].path, "c");
  const StepRecord* a = FindStep(*run, "a");
  EXPECT_EQ(a->seq, 1);
  EXPECT_EQ(a->status, StepStatus::kCompleted);
  EXPECT_EQ(a->attempt, 1);
  EXPECT_EQ(a->started_at, kT0 + 100);
  EXPECT_EQ(a->finished_at, kT0 + 200);
  EXPECT_EQ(a->output, (json{{"x", 1}}));
  EXPECT_EQ(FindStep(*run, "b")->seq, 2);
  EXPECT_EQ(FindStep(*run, "c")->seq, 3);

  // A new attempt replaces attempt and start; the seq stays.
  ASSERT_TRUE(Transition("run_1", 4, {MakeStep("b", StepStatus::kRunning, 2, kT0 + 300)}).ok());
  run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  const StepRecord* b = FindStep(*run, "b");
  EXPECT_EQ(b->seq, 2);
  EXPECT_EQ(b->attempt, 2);
  EXPECT_EQ(b->started_at, kT0 + 300);

  // Seqs are per run.
  CreateRunning("run_2");
  ASSERT_TRUE(Transition("run_2", 2, {MakeStep("z", StepStatus::kRunning)}).ok());
  EXPECT_EQ(store_->GetRun("run_2", true)->steps.at(0).seq, 1);
}

TEST_F(SqliteStoreTest, CancelStepsInFlightTouchesOnlyRunningAndWaitingSteps) {
  CreateRunning("run_1");
  StepRecord done = MakeStep("done", StepStatus::kCompleted, 1, kT0);
  done.finished_at = kT0 + 1;
  done.output = json{{"kept", true}};
  StepRecord failed = MakeStep("failed", StepStatus::kFailed, 1, kT0);
  failed.error = json{{"message", "boom"}};
  failed.finished_at = kT0 + 2;
  ASSERT_TRUE(Transition("run_1", 2,
                         {done, failed, MakeStep("running", StepStatus::kRunning, 1, kT0),
                          MakeStep("waiting", StepStatus::kWaiting, 1, kT0),
                          MakeStep("pending", StepStatus::kPending, 0, 0)})
                  .ok());
  CreateRunning("run_2");
  ASSERT_TRUE(Transition("run_2", 2, {MakeStep("other", StepStatus::kRunning, 1, kT0)}).ok());

  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 3;
  t.expected_status = RunStatus::kRunning;
  t.next_status = RunStatus::kCancelled;
  t.cancel_steps_in_flight = "workflow stopped by user";
  t.finished_at = kT0 + 500;
  t.now = kT0 + 500;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());

  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kCancelled);
  for (const char* path : {"running", "waiting"}) {
    const StepRecord* s = FindStep(*run, path);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->status, StepStatus::kCancelled) << path;
    EXPECT_EQ(s->error, (json{{"message", "workflow stopped by user"}})) << path;
    EXPECT_EQ(s->finished_at, kT0 + 500) << path;
  }
  EXPECT_EQ(FindStep(*run, "pending")->status, StepStatus::kPending);
  EXPECT_EQ(FindStep(*run, "pending")->finished_at, 0);
  EXPECT_EQ(FindStep(*run, "done")->status, StepStatus::kCompleted);
  EXPECT_EQ(FindStep(*run, "done")->output, (json{{"kept", true}}));
  EXPECT_EQ(FindStep(*run, "done")->finished_at, kT0 + 1);
  EXPECT_EQ(FindStep(*run, "failed")->status, StepStatus::kFailed);
  EXPECT_EQ(FindStep(*run, "failed")->error, (json{{"message", "boom"}}));
  // Other runs' steps are untouched.
  EXPECT_EQ(store_->GetRun("run_2", true)->steps.at(0).status, StepStatus::kRunning);
}

TEST_F(SqliteStoreTest, DiscardStepResultMarksOnlyThatStep) {
  CreateRunning("run_1");
  ASSERT_TRUE(
      Transition("run_1", 2,
                 {MakeStep("a", StepStatus::kCancelled), MakeStep("b", StepStatus::kPending)})
          .ok());
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 3;
  t.discard_step_result = "a";
  t.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(FindStep(*run, "a")->result_discarded);
  EXPECT_EQ(FindStep(*run, "a")->status, StepStatus::kCancelled);
  EXPECT_FALSE(FindStep(*run, "b")->result_discarded);
}

// --- timers and events ---

TEST_F(SqliteStoreTest, TimersAreAddedClearedAndReturnedInDueOrder) {
  for (const char* id : {"run_1", "run_2", "run_3"}) {
    CreateRunning(id);
  }
  auto add = [&](const std::string& run_id, TimerRecord timer, bool clear) {
    Result<RunRecord> run = store_->GetRun(run_id, false);
    RunTransition t;
    t.run_id = run_id;
    t.expected_version = run->version;
    t.now = kT0;
    t.clear_timers = clear;
    t.add_timers.push_back(std::move(timer));
    return store_->TransitionRun(std::move(t)).ok();
  };
  ASSERT_TRUE(add("run_1", {"run_1", "wake", "s", kT0 + 300}, false));
  ASSERT_TRUE(add("run_2", {"run_2", "timeout", "w", kT0 + 100}, false));
  ASSERT_TRUE(add("run_3", {"run_3", "wake", "s", kT0 + 200}, false));

  Result<std::vector<TimerRecord>> due = store_->DueTimers(kT0 + 1000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].run_id, "run_2");
  EXPECT_EQ((*due)[0].kind, "timeout");
  EXPECT_EQ((*due)[0].path, "w");
  EXPECT_EQ((*due)[0].due_at, kT0 + 100);
  EXPECT_EQ((*due)[1].run_id, "run_3");
  EXPECT_EQ((*due)[2].run_id, "run_1");

  // Strictly before `due_before`, and at most `limit`.
  due = store_->DueTimers(kT0 + 200, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].run_id, "run_2");
  due = store_->DueTimers(kT0 + 1000, 2);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[1].run_id, "run_3");

  // The same kind again replaces the run's timer; clear_timers drops them before the
  // new ones are added.
  ASSERT_TRUE(add("run_1", {"run_1", "wake", "s2", kT0 + 50}, false));
  ASSERT_TRUE(add("run_3", {"run_3", "timeout", "w", kT0 + 400}, true));
  due = store_->DueTimers(kT0 + 1000, 10);
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].run_id, "run_1");
  EXPECT_EQ((*due)[0].path, "s2");
  EXPECT_EQ((*due)[0].due_at, kT0 + 50);
  EXPECT_EQ((*due)[1].run_id, "run_2");
  EXPECT_EQ((*due)[2].run_id, "run_3");
  EXPECT_EQ((*due)[2].kind, "timeout");

  Result<RunRecord> r2 = store_->GetRun("run_2", false);
  RunTransition clear;
  clear.run_id = "run_2";
  clear.expected_version = r2->version;
  clear.clear_timers = true;
  clear.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(clear)).ok());
  due = store_->DueTimers(kT0 + 1000, 10);
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].run_id, "run_1");
  EXPECT_EQ((*due)[1].run_id, "run_3");
}

TEST_F(SqliteStoreTest, BufferEventIsACompareAndSetAndConsumeRemovesIt) {
  CreateRunning("run_1");
  EXPECT_EQ(store_->BufferEvent("run_1", 1, {0, "run_1", "go", json{{"n", 0}}, kT0}).code(),
            StatusCode::kAborted);
  EXPECT_FALSE(store_->FindBufferedEvent("run_1", "go")->has_value());
  EXPECT_EQ(store_->GetRun("run_1", false)->version, 2);

  ASSERT_TRUE(store_->BufferEvent("run_1", 2, {0, "run_1", "go", json{{"n", 1}}, kT0 + 1}).ok());
  ASSERT_TRUE(store_->BufferEvent("run_1", 3, {0, "run_1", "other", json{{"n", 2}}, kT0 + 2}).ok());
  ASSERT_TRUE(store_->BufferEvent("run_1", 4, {0, "run_1", "go", json{{"n", 3}}, kT0 + 3}).ok());
  Result<RunRecord> run = store_->GetRun("run_1", false);
  EXPECT_EQ(run->version, 5);
  EXPECT_EQ(run->updated_at, kT0 + 3);
  EXPECT_TRUE(Changed().contains("run_1"));

  Result<std::optional<EventRecord>> first = store_->FindBufferedEvent("run_1", "go");
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->payload, (json{{"n", 1}}));
  EXPECT_EQ((*first)->event_type, "go");
  EXPECT_EQ((*first)->run_id, "run_1");
  EXPECT_EQ((*first)->created_at, kT0 + 1);
  EXPECT_FALSE(store_->FindBufferedEvent("run_2", "go")->has_value());

  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 5;
  t.consume_event_id = (*first)->id;
  t.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  Result<std::optional<EventRecord>> second = store_->FindBufferedEvent("run_1", "go");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->payload, (json{{"n", 3}}));
  EXPECT_EQ((*store_->FindBufferedEvent("run_1", "other"))->payload, (json{{"n", 2}}));
}

// --- ListRuns ---

TEST_F(SqliteStoreTest, ListRunsFiltersByStatusWorkflowPauseReasonWaitKindAndId) {
  CreateRunning("run_a1", "ws_1", "alpha");  // running
  ASSERT_TRUE(store_->CreateRun(NewRun("run_a2", "ws_1", "alpha"), std::nullopt).ok());
  CreateRunning("run_b1", "ws_1", "beta");
  CreateRunning("run_b2", "ws_1", "beta");
  CreateRunning("run_x1", "ws_2", "alpha");  // another workspace

  RunTransition pause;
  pause.run_id = "run_a1";
  pause.expected_version = 2;
  pause.next_status = RunStatus::kPaused;
  pause.pause = json{{"reason", "operator"}};
  pause.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(pause)).ok());
  RunTransition wait;
  wait.run_id = "run_b1";
  wait.expected_version = 2;
  wait.next_status = RunStatus::kWaiting;
  wait.wait = json{{"kind", "timer"}, {"path", "s"}};
  wait.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(wait)).ok());
  RunTransition wait_event;
  wait_event.run_id = "run_b2";
  wait_event.expected_version = 2;
  wait_event.next_status = RunStatus::kWaiting;
  wait_event.wait = json{{"kind", "event"}, {"path", "w"}};
  wait_event.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(wait_event)).ok());

  auto ids = [&](RunFilter f) {
    Result<RunPage> page = store_->ListRuns("ws_1", f);
    EXPECT_TRUE(page.ok());
    std::vector<std::string> out;
    for (const RunRecord& r : page->items) {
      out.push_back(r.id);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"run_b2", "run_b1", "run_a2", "run_a1"}));
  RunFilter f;
  f.statuses = std::vector<RunStatus>{RunStatus::kWaiting, RunStatus::kPending};
  EXPECT_EQ(ids(f), (V{"run_b2", "run_b1", "run_a2"}));
  f = {};
  f.statuses = std::vector<RunStatus>{RunStatus::kCompleted};
  EXPECT_EQ(ids(f), V{});
  f = {};
  f.workflow_id = "alpha";
  EXPECT_EQ(ids(f), (V{"run_a2", "run_a1"}));
  f = {};
  f.pause_reason = "operator";
  EXPECT_EQ(ids(f), (V{"run_a1"}));
  f = {};
  f.wait_kind = "timer";
  EXPECT_EQ(ids(f), (V{"run_b1"}));
  f = {};
  f.wait_kind = "event";
  f.workflow_id = "beta";
  EXPECT_EQ(ids(f), (V{"run_b2"}));
  f = {};
  f.id_contains = "b";
  EXPECT_EQ(ids(f), (V{"run_b2", "run_b1"}));
  f = {};
  f.id_contains = "A1";  // a substring, case-sensitive
  EXPECT_EQ(ids(f), V{});
  f.id_contains = "a1";
  EXPECT_EQ(ids(f), (V{"run_a1"}));

  // Resuming clears the pause, so the run leaves the pause_reason filter.
  RunTransition resume;
  resume.run_id = "run_a1";
  resume.expected_version = 3;
  resume.next_status = RunStatus::kRunning;
  resume.pause = json();
  resume.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(resume)).ok());
  f = {};
  f.pause_reason = "operator";
  EXPECT_EQ(ids(f), V{});
}

TEST_F(SqliteStoreTest, ListRunsPagesNewestFirstWithoutDuplicates) {
  constexpr int kRuns = 25;
  std::vector<std::string> all;
  for (int i = 0; i < kRuns; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "run_%03d", i);
    all.push_back(id);
    ASSERT_TRUE(store_->CreateRun(NewRun(id), std::nullopt).ok());
  }
  std::vector<std::string> seen;
  RunFilter f;
  f.limit = 10;
  std::vector<size_t> page_sizes;
  for (int page_no = 0; page_no < 10; ++page_no) {
    Result<RunPage> page = store_->ListRuns("ws_1", f);
    ASSERT_TRUE(page.ok());
    page_sizes.push_back(page->items.size());
    for (const RunRecord& r : page->items) {
      seen.push_back(r.id);
    }
    if (page->next_cursor.empty()) {
      break;
    }
    EXPECT_EQ(page->next_cursor, page->items.back().id);
    f.cursor = page->next_cursor;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5}));
  std::vector<std::string> expected(all.rbegin(), all.rend());
  EXPECT_EQ(seen, expected);

  // A last page that is exactly full has no next cursor.
  f = {};
  f.limit = 5;
  f.cursor = "run_005";
  Result<RunPage> last = store_->ListRuns("ws_1", f);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->items.size(), 5u);
  EXPECT_EQ(last->items.front().id, "run_004");
  EXPECT_EQ(last->items.back().id, "run_000");
  EXPECT_TRUE(last->next_cursor.empty());
}

// --- group commit ---

TEST_F(SqliteStoreTest, ConcurrentTransitionsCommitAsOneGroup) {
  constexpr int kRuns = 200;
  constexpr int kThreads = 4;
  std::vector<std::string> ids;
  for (int i = 0; i < kRuns; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "run_%03d", i);
    ids.push_back(id);
  }
  // Created before the others, so its creation's listener call is long over when the
  // gate is armed for it.
  ASSERT_TRUE(store_->CreateRun(NewRun("run_blocker"), std::nullopt).ok());
  {
    std::vector<std::thread> creators;
    for (int t = 0; t < kThreads; ++t) {
      creators.emplace_back([&, t] {
        for (int i = t; i < kRuns; i += kThreads) {
          EXPECT_TRUE(store_->CreateRun(NewRun(ids[i]), std::nullopt).ok());
        }
      });
    }
    for (std::thread& t : creators) {
      t.join();
    }
  }

  // Hold the writer in the listener after the blocker's commit (made in place by the
  // thread that asks for it, which the gate then holds), queue everything, then let it
  // go: the whole queue is one batch.
  gate_.Arm("run_blocker");
  std::thread blocking([this] {
    RunTransition blocker;
    blocker.run_id = "run_blocker";
    blocker.expected_version = 1;
    blocker.now = kT0;
    store_->TransitionRunAsync(std::move(blocker), [](Result<int64_t>) {});
  });
  // However this test ends, the blocking thread is let go and joined.
  struct ReleaseAndJoin {
    WriterGate& gate;
    std::thread& t;
    ~ReleaseAndJoin() {
      gate.Release();
      t.join();
    }
  } release_and_join{gate_, blocking};
  ASSERT_TRUE(gate_.WaitEntered());
  const Store::Stats before = store_->GetStats();

  // Shared with the callbacks, which run on the writer thread and could outlive this
  // frame if an assertion below returned early.
  struct Outcomes {
    std::mutex mu;
    std::condition_variable cv;
    int done = 0;  // guarded by mu
    // guarded by mu
    std::vector<Result<int64_t>> results =
        std::vector<Result<int64_t>>(kRuns, Result<int64_t>(int64_t{0}));
    std::optional<Result<int64_t>> stale;  // guarded by mu
  };
  auto out = std::make_shared<Outcomes>();
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = t; i < kRuns; i += kThreads) {
        RunTransition tr;
        tr.run_id = ids[i];
        tr.expected_version = 1;
        tr.expected_status = RunStatus::kPending;
        tr.next_status = RunStatus::kRunning;
        tr.upsert_steps = {MakeStep("a", StepStatus::kCompleted)};
        tr.now = kT0 + i;
        store_->TransitionRunAsync(std::move(tr), [out, i](Result<int64_t> r) {
          std::lock_guard lock(out->mu);
          out->results[i] = std::move(r);
          ++out->done;
          out->cv.notify_all();
        });
      }
    });
  }
  for (std::thread& t : senders) {
    t.join();
  }
  // Queued after run_000's transition in the same batch: it loses, and only it rolls back.
  RunTransition stale;
  stale.run_id = ids[0];
  stale.expected_version = 1;
  stale.next_status = RunStatus::kFailed;
  stale.now = kT0;
  store_->TransitionRunAsync(std::move(stale), [out](Result<int64_t> r) {
    std::lock_guard lock(out->mu);
    out->stale = std::move(r);
    ++out->done;
    out->cv.notify_all();
  });
  gate_.Release();
  std::unique_lock lock(out->mu);
  ASSERT_TRUE(
      out->cv.wait_for(lock, std::chrono::seconds(10), [&] { return out->done == kRuns + 1; }));

  for (int i = 0; i < kRuns; ++i) {
    ASSERT_TRUE(out->results[i].ok()) << ids[i] << ": " << out->results[i].status().message();
    EXPECT_EQ(*out->results[i], 2);
  }
  ASSERT_TRUE(out->stale.has_value());
  EXPECT_EQ(out->stale->status().code(), StatusCode::kAborted);
  lock.unlock();

  const Store::Stats after = store_->GetStats();
  EXPECT_EQ(after.writes - before.writes, uint64_t{kRuns + 1});
  EXPECT_EQ(after.commits - before.commits, 1u);
  EXPECT_GE(after.batch_size_max, uint64_t{kRuns + 1});
  EXPECT_LT(after.commits, after.writes);
  EXPECT_EQ(after.steps_committed - before.steps_committed, uint64_t{kRuns});

  const std::set<std::string> changed = Changed();
  for (const std::string& id : ids) {
    EXPECT_TRUE(changed.contains(id)) << id;
    Result<RunRecord> run = store_->GetRun(id, true);
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->status, RunStatus::kRunning);
    EXPECT_EQ(run->version, 2);
    EXPECT_EQ(run->steps.size(), 1u);
  }
}

// --- durability and migrations ---

TEST_F(SqliteStoreTest, EverythingSurvivesReopen) {
  ASSERT_TRUE(store_->CreateWorkspace({"ws_1", "acme", kT0}).ok());
  ASSERT_TRUE(
      store_->CreateToken({"tok_1", "ws_1", "admin", Role::kAdmin, "h1", kT0, 0}, std::nullopt)
          .ok());
  ASSERT_TRUE(store_->CreateSession("s-1", "tok_1", kT0 + 1000).ok());
  WorkflowRecord wf;
  wf.workspace_id = "ws_1";
  wf.id = "charge";
  wf.kind = "workflow";
  wf.mode = "standard";
  wf.definition = json{{"v", 1}};
  ASSERT_TRUE(store_->PutWorkflow(wf, MakeAudit("aud_1", "ws_1", "workflow.apply", "charge")).ok());
  wf.definition = json{{"v", 2}};
  ASSERT_TRUE(store_->PutWorkflow(wf, MakeAudit("aud_2", "ws_1", "workflow.apply", "charge")).ok());
  ASSERT_TRUE(store_->CreateRun(NewRun("run_1"), IdempotencyKey{"k", "h", 0}).ok());
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 1;
  t.next_status = RunStatus::kWaiting;
  t.wait = json{{"kind", "timer"}, {"path", "s"}};
  StepRecord a = MakeStep("a", StepStatus::kCompleted, 1, kT0);
  a.output = json{{"body", "ok"}};
  t.upsert_steps = {a, MakeStep("s", StepStatus::kWaiting, 1, kT0 + 1)};
  t.add_timers = {{"run_1", "wake", "s", kT0 + 60'000}};
  t.audit = MakeAudit("aud_3", "ws_1", "run.start", "run_1");
  t.now = kT0 + 1;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  ASSERT_TRUE(store_->BufferEvent("run_1", 2, {0, "run_1", "go", json{{"n", 1}}, kT0 + 2}).ok());

  Reopen();
  Reopen();  // migrations run again on an up-to-date database: a no-op

  EXPECT_EQ(store_->FindWorkspaceBySlug("acme")->id, "ws_1");
  EXPECT_EQ(store_->FindTokenByHash("h1")->id, "tok_1");
  EXPECT_EQ(store_->FindSessionToken("s-1", kT0)->id, "tok_1");
  Result<WorkflowRecord> got_wf = store_->GetWorkflow("ws_1", "charge");
  ASSERT_TRUE(got_wf.ok());
  EXPECT_EQ(got_wf->version, 2);
  EXPECT_EQ(got_wf->definition, (json{{"v", 2}}));
  EXPECT_EQ(*store_->GetDefinition("ws_1", "charge", 1), (json{{"v", 1}}));
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kWaiting);
  EXPECT_EQ(run->version, 3);
  EXPECT_EQ(run->wait["kind"], "timer");
  ASSERT_EQ(run->steps.size(), 2u);
  EXPECT_EQ(run->steps[0].output, (json{{"body", "ok"}}));
  EXPECT_EQ(run->steps[1].status, StepStatus::kWaiting);
  RunFilter f;
  f.wait_kind = "timer";
  EXPECT_EQ(store_->ListRuns("ws_1", f)->items.size(), 1u);
  Result<std::vector<TimerRecord>> timers = store_->DueTimers(kT0 + 1'000'000, 10);
  ASSERT_EQ(timers->size(), 1u);
  EXPECT_EQ((*timers)[0].due_at, kT0 + 60'000);
  EXPECT_EQ((*store_->FindBufferedEvent("run_1", "go"))->payload, (json{{"n", 1}}));
  EXPECT_EQ(store_->ListAudit("ws_1", "", "", 10)->size(), 3u);
  Result<CreateRunResult> replay = store_->CreateRun(NewRun("run_2"), IdempotencyKey{"k", "h", 0});
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->run.id, "run_1");
}

int64_t ReadUserVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

void SetUserVersion(const std::string& path, int64_t v) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  const std::string sql = "PRAGMA user_version = " + std::to_string(v);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

// The WAL is pre-sized with zeros. A copy of the files taken while the store is open
// (what a killed process leaves) recovers every commit from the WAL, the zeros after
// them are ignored, and the recovered store writes on.
TEST_F(SqliteStoreTest, AKilledStoresWalRecoversEveryCommitDespiteItsZeroTail) {
  EXPECT_GE(std::filesystem::file_size(dir_ + "/stepwell.db-wal"), 16u << 20);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->CreateRun(NewRun("run_" + std::to_string(i)), std::nullopt).ok());
  }
  const std::string copy = MakeTempDir();
  for (const char* name : {"stepwell.db", "stepwell.db-wal", "stepwell.db-shm"}) {
    std::filesystem::copy_file(dir_ + "/" + name, copy + "/" + name);
  }
  Result<std::unique_ptr<SqliteStore>> recovered = SqliteStore::Open(copy);
  ASSERT_TRUE(recovered.ok()) << recovered.status().message();
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE((*recovered)->GetRun("run_" + std::to_string(i), false).ok()) << i;
  }
  EXPECT_TRUE((*recovered)->CreateRun(NewRun("run_after"), std::nullopt).ok());
  EXPECT_TRUE((*recovered)->GetRun("run_after", false).ok());
  recovered->reset();
  std::filesystem::remove_all(copy);
}

TEST_F(SqliteStoreTest, ReopenKeepsTheSchemaVersionAndRefusesANewerOne) {
  ASSERT_TRUE(store_->CreateWorkspace({"ws_1", "acme", kT0}).ok());
  store_.reset();
  const std::string db_path = dir_ + "/stepwell.db";
  const int64_t version = ReadUserVersion(db_path);
  EXPECT_GE(version, 1);
  Open();
  store_.reset();
  EXPECT_EQ(ReadUserVersion(db_path), version);

  SetUserVersion(db_path, version + 1);
  Result<std::unique_ptr<SqliteStore>> newer = SqliteStore::Open(dir_);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);

  SetUserVersion(db_path, version);
  Open();
  EXPECT_EQ(store_->FindWorkspaceBySlug("acme")->id, "ws_1");
}

// --- child runs, agent tasks, step details ---

TEST_F(SqliteStoreTest, ATransitionCreatesAChildRunAndWakesAnotherRunsTimer) {
  CreateRunning("run_parent");
  RunRecord child = NewRun("run_child", "ws_1", "sub");
  child.parent_run_id = "run_parent";
  child.parent_path = "call";
  RunTransition t;
  t.run_id = "run_parent";
  t.expected_version = 2;
  t.next_status = RunStatus::kWaiting;
  t.now = kT0;
  t.create_run = child;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  Result<RunRecord> got = store_->GetRun("run_child", false);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->parent_run_id, "run_parent");
  EXPECT_EQ(got->parent_path, "call");
  EXPECT_EQ(got->status, RunStatus::kPending);
  EXPECT_EQ(*store_->ActiveChildRuns("run_parent"), std::vector<std::string>{"run_child"});

  RunFilter f;
  f.parent_run_id = "run_parent";
  EXPECT_EQ(store_->ListRuns("ws_1", f)->items.size(), 1u);

  // The child's end wakes the parent through a timer on the parent.
  RunTransition done;
  done.run_id = "run_child";
  done.expected_version = 1;
  done.next_status = RunStatus::kCompleted;
  done.now = kT0;
  done.add_timers.push_back({"run_parent", "child", "call", kT0});
  ASSERT_TRUE(store_->TransitionRun(std::move(done)).ok());
  Result<std::vector<TimerRecord>> due = store_->DueTimers(kT0 + 1, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].run_id, "run_parent");
  EXPECT_EQ((*due)[0].kind, "child");
  EXPECT_TRUE(store_->ActiveChildRuns("run_parent")->empty());
}

TEST_F(SqliteStoreTest, ALostCompareAndSetCreatesNoChildRun) {
  CreateRunning("run_parent");
  RunTransition t;
  t.run_id = "run_parent";
  t.expected_version = 1;  // stale
  t.now = kT0;
  t.create_run = NewRun("run_child", "ws_1", "sub");
  EXPECT_EQ(store_->TransitionRun(std::move(t)).status().code(), StatusCode::kAborted);
  EXPECT_EQ(store_->GetRun("run_child", false).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ClearTimersKeepsTheRunTimeoutAndAnEndingRunDropsAll) {
  CreateRunning("run_1");
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;
  t.now = kT0;
  t.add_timers = {{"", "run_timeout", "", kT0 + 500}, {"", "wake", "nap", kT0 + 100}};
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  ASSERT_EQ(store_->DueTimers(kT0 + 1000, 10)->size(), 2u);
  RunTransition clear;
  clear.run_id = "run_1";
  clear.expected_version = 3;
  clear.now = kT0;
  clear.clear_timers = true;
  ASSERT_TRUE(store_->TransitionRun(std::move(clear)).ok());
  Result<std::vector<TimerRecord>> due = store_->DueTimers(kT0 + 1000, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].kind, "run_timeout");
  RunTransition end;
  end.run_id = "run_1";
  end.expected_version = 4;
  end.now = kT0;
  end.next_status = RunStatus::kFailed;
  ASSERT_TRUE(store_->TransitionRun(std::move(end)).ok());
  EXPECT_TRUE(store_->DueTimers(kT0 + 1000, 10)->empty());
}

TEST_F(SqliteStoreTest, StepDetailIsKeptWhenAnUpsertLeavesItNull) {
  CreateRunning("run_1");
  StepRecord first = MakeStep("call", StepStatus::kWaiting, 1, kT0);
  first.detail = json{{"attempts", {{{"attempt", 1}}}}};
  ASSERT_TRUE(Transition("run_1", 2, {first}).ok());
  ASSERT_TRUE(Transition("run_1", 3, {MakeStep("call", StepStatus::kRunning, 2)}).ok());
  Result<RunRecord> run = store_->GetRun("run_1", true);
  EXPECT_EQ(FindStep(*run, "call")->detail, first.detail);
  EXPECT_EQ(FindStep(*run, "call")->attempt, 2);
}

class AgentTaskTest : public SqliteStoreTest {
 protected:
  AgentTaskRecord Task(const std::string& id, const std::string& run_id, const std::string& queue,
                       int64_t available_at = kT0) {
    AgentTaskRecord task;
    task.id = id;
    task.workspace_id = "ws_1";
    task.run_id = run_id;
    task.path = "work";
    task.step_id = "work";
    task.queue = queue;
    task.input = json{{"n", 1}};
    task.available_at = available_at;
    task.created_at = task.updated_at = kT0;
    return task;
  }

  void Enqueue(const AgentTaskRecord& task) {
    Result<RunRecord> run = store_->GetRun(task.run_id, false);
    RunTransition t;
    t.run_id = task.run_id;
    t.expected_version = run->version;
    t.next_status = RunStatus::kWaiting;
    t.now = kT0;
    t.enqueue_task = task;
    ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  }
};

TEST_F(AgentTaskTest, ClaimTakesTheOldestAvailableTaskOfTheQueuesOnce) {
  CreateRunning("run_1");
  CreateRunning("run_2");
  CreateRunning("run_3");
  Enqueue(Task("task_b", "run_1", "gpu", kT0 + 10));
  Enqueue(Task("task_a", "run_2", "gpu", kT0 + 5));
  Enqueue(Task("task_later", "run_3", "gpu", kT0 + 1000));
  auto claim = [&](std::vector<std::string> queues, const std::string& agent) {
    return store_->ClaimAgentTask("ws_1", queues, agent, kT0 + 100, 30000);
  };
  EXPECT_FALSE(claim({"cpu"}, "a1")->has_value());
  EXPECT_FALSE(store_->ClaimAgentTask("ws_2", {"gpu"}, "a1", kT0 + 100, 30000)->has_value());
  Result<std::optional<AgentTaskRecord>> first = claim({"cpu", "gpu"}, "a1");
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->id, "task_a");
  EXPECT_EQ((*first)->status, "claimed");
  EXPECT_EQ((*first)->agent_id, "a1");
  EXPECT_EQ((*first)->lease_expires_at, kT0 + 100 + 30000);
  EXPECT_EQ((*first)->input, json({{"n", 1}}));
  EXPECT_EQ((*claim({"gpu"}, "a2"))->id, "task_b");
  // The third is not available before its back-off ends.
  EXPECT_FALSE(claim({"gpu"}, "a3")->has_value());
}

TEST_F(AgentTaskTest, HeartbeatExtendsOnlyTheClaimingAgentsLease) {
  CreateRunning("run_1");
  Enqueue(Task("task_1", "run_1", "q"));
  ASSERT_TRUE(store_->ClaimAgentTask("ws_1", {"q"}, "a1", kT0, 1000)->has_value());
  Result<AgentTaskRecord> other = store_->HeartbeatAgentTask("task_1", "a2", kT0 + 500, 1000);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->lease_expires_at, kT0 + 1000);
  Result<AgentTaskRecord> mine = store_->HeartbeatAgentTask("task_1", "a1", kT0 + 500, 1000);
  EXPECT_EQ(mine->lease_expires_at, kT0 + 1500);
  EXPECT_TRUE(store_->LapsedAgentTasks(kT0 + 1400, 10)->empty());
  Result<std::vector<AgentTaskRecord>> lapsed = store_->LapsedAgentTasks(kT0 + 1600, 10);
  ASSERT_EQ(lapsed->size(), 1u);
  EXPECT_EQ((*lapsed)[0].id, "task_1");
  EXPECT_EQ(store_->HeartbeatAgentTask("task_404", "a1", kT0, 1).status().code(),
            StatusCode::kNotFound);
}

TEST_F(AgentTaskTest, ATaskUpdateIsACompareAndSetThatRollsBackTheRunChange) {
  CreateRunning("run_1");
  Enqueue(Task("task_1", "run_1", "q"));
  ASSERT_TRUE(store_->ClaimAgentTask("ws_1", {"q"}, "a1", kT0, 1000)->has_value());
  auto requeue = [&](int64_t lapsed_before) {
    RunTransition t;
    t.run_id = "run_1";
    t.expected_version = store_->GetRun("run_1", false)->version;
    t.now = kT0 + 2000;
    t.upsert_steps.push_back(MakeStep("work", StepStatus::kWaiting, 2));
    t.update_task = AgentTaskUpdate{"task_1", "claimed", lapsed_before, "queued", 2, kT0 + 3000};
    return store_->TransitionRun(std::move(t));
  };
  // The lease did not lapse before kT0 + 500: nothing changes, not even the run.
  const int64_t version = store_->GetRun("run_1", false)->version;
  EXPECT_EQ(requeue(kT0 + 500).status().code(), StatusCode::kAborted);
  EXPECT_EQ(store_->GetRun("run_1", false)->version, version);
  EXPECT_TRUE(FindStep(*store_->GetRun("run_1", true), "work") == nullptr);
  ASSERT_TRUE(requeue(kT0 + 2000).ok());
  Result<AgentTaskRecord> task = store_->GetAgentTask("task_1");
  EXPECT_EQ(task->status, "queued");
  EXPECT_EQ(task->attempt, 2);
  EXPECT_EQ(task->agent_id, "");
  EXPECT_EQ(task->available_at, kT0 + 3000);
  // Claimed again by another agent once available.
  EXPECT_FALSE(store_->ClaimAgentTask("ws_1", {"q"}, "a2", kT0 + 2500, 1000)->has_value());
  EXPECT_EQ((*store_->ClaimAgentTask("ws_1", {"q"}, "a2", kT0 + 3000, 1000))->agent_id, "a2");
}

TEST_F(AgentTaskTest, ARunThatEndsCancelsItsOpenTasks) {
  CreateRunning("run_1");
  Enqueue(Task("task_1", "run_1", "q"));
  ASSERT_TRUE(store_->ClaimAgentTask("ws_1", {"q"}, "a1", kT0, 1000)->has_value());
  RunTransition cancel;
  cancel.run_id = "run_1";
  cancel.expected_version = store_->GetRun("run_1", false)->version;
  cancel.next_status = RunStatus::kCancelled;
  cancel.now = kT0 + 10;
  ASSERT_TRUE(store_->TransitionRun(std::move(cancel)).ok());
  EXPECT_EQ(store_->GetAgentTask("task_1")->status, "cancelled");
  // A heartbeat now tells the agent.
  EXPECT_EQ(store_->HeartbeatAgentTask("task_1", "a1", kT0 + 20, 1000)->status, "cancelled");
}

}  // namespace
}  // namespace sw
