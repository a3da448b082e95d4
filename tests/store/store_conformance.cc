#include "store_conformance.h"

#include <algorithm>
#include <chrono>

namespace sw::store_test {

using nlohmann::json;

std::string BackendParamName(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
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

StepRecord MakeStep(const std::string& path, StepStatus status, int attempt, int64_t started_at) {
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

WorkflowRecord MakeWorkflow(const std::string& workspace_id, const std::string& id,
                            json definition) {
  WorkflowRecord wf;
  wf.workspace_id = workspace_id;
  wf.id = id;
  wf.kind = "workflow";
  wf.mode = "standard";
  wf.definition = std::move(definition);
  return wf;
}

AgentTaskRecord MakeTask(const std::string& id, const std::string& run_id, const std::string& queue,
                         int64_t available_at) {
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

void ExpectCorruption(const Status& s, const std::vector<std::string>& mentions) {
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.message();
  EXPECT_EQ(s.reason(), "data_corruption") << s.message();
  for (const std::string& m : mentions) {
    EXPECT_NE(s.message().find(m), std::string::npos) << "'" << m << "' in: " << s.message();
  }
}

void WriterGate::Arm(std::string trigger_run) {
  std::lock_guard lock(mu_);
  trigger_run_ = std::move(trigger_run);
}

void WriterGate::MaybeBlock(const std::vector<std::string>& changed) {
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

bool WriterGate::WaitEntered() {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return entered_; });
}

void WriterGate::Release() {
  std::lock_guard lock(mu_);
  released_ = true;
  cv_.notify_all();
}

void StoreConformanceTest::SetUp() {
  backend_ = GetParam().make();
  Open();
}

void StoreConformanceTest::TearDown() {
  gate_.Release();
  store_.reset();
  backend_.reset();
}

void StoreConformanceTest::Open() {
  Result<std::unique_ptr<Store>> opened = backend_->Open();
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  store_ = std::move(opened).value();
  // Installed before any write: committing threads read the listener unguarded.
  store_->SetChangeListener([this](const std::vector<std::string>& ids) {
    {
      std::lock_guard lock(changed_mu_);
      changed_.insert(ids.begin(), ids.end());
    }
    gate_.MaybeBlock(ids);
  });
  store_->SetOutboxListener([this] { ++outbox_signals_; });
}

void StoreConformanceTest::Reopen() {
  store_.reset();
  Open();
}

std::set<std::string> StoreConformanceTest::Changed() {
  std::lock_guard lock(changed_mu_);
  return changed_;
}

RunRecord StoreConformanceTest::NewRun(const std::string& id, const std::string& workspace_id,
                                       const std::string& workflow_id) {
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

RunRecord StoreConformanceTest::CreateRunning(const std::string& id,
                                              const std::string& workspace_id,
                                              const std::string& workflow_id) {
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

Result<int64_t> StoreConformanceTest::Transition(const std::string& run_id,
                                                 int64_t expected_version,
                                                 std::vector<StepRecord> steps, int64_t now) {
  RunTransition t;
  t.run_id = run_id;
  t.expected_version = expected_version;
  t.now = now;
  t.upsert_steps = std::move(steps);
  return store_->TransitionRun(std::move(t));
}

void StoreConformanceTest::EnqueueTask(const AgentTaskRecord& task) {
  Result<RunRecord> run = store_->GetRun(task.run_id, false);
  ASSERT_TRUE(run.ok());
  RunTransition t;
  t.run_id = task.run_id;
  t.expected_version = run->version;
  t.next_status = RunStatus::kWaiting;
  t.now = kT0;
  t.enqueue_task = task;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
}

}  // namespace sw::store_test
