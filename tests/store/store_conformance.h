// The Store contract as a test suite every backend must pass: workspaces, tokens and
// sessions, workflow versions, runs and idempotency keys, the compare-and-set
// TransitionRun with its side effects, timers, buffered events, agent tasks, approvals
// and forms (human tasks) and magic links, ListRuns, notifications and their
// deliveries, group commit, durability across a reopen, and corrupt stored values
// failing loudly.
//
// Value-parameterized over a backend. The tests are in store_conformance_*.cc; a
// backend's test binary links them and instantiates the suite with its StoreBackend:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
//                            ::testing::Values(BackendParam{"sqlite", MakeSqliteBackend}),
//                            BackendParamName);
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "store/store.h"

namespace sw::store_test {

inline constexpr int64_t kT0 = 1'700'000'000'000;

// One test's database on a backend: empty when made, the same data on every Open.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // A store on the database. REQUIRES: no other store of this backend is open.
  virtual Result<std::unique_ptr<Store>> Open() = 0;
  // Runs `sql` on the database behind the store's back (to plant a corrupt value).
  virtual Status ExecRaw(const std::string& sql) = 0;
};

struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<StoreBackend>()> make;
};
std::string BackendParamName(const ::testing::TestParamInfo<BackendParam>& info);

AuditEntry MakeAudit(const std::string& id, const std::string& workspace_id,
                     const std::string& action, const std::string& target);
StepRecord MakeStep(const std::string& path, StepStatus status, int attempt = 1,
                    int64_t started_at = 0);
const StepRecord* FindStep(const RunRecord& run, const std::string& path);
WorkflowRecord MakeWorkflow(const std::string& workspace_id, const std::string& id,
                            nlohmann::json definition);
// An agent task of run `run_id` in workspace ws_1.
AgentTaskRecord MakeTask(const std::string& id, const std::string& run_id, const std::string& queue,
                         int64_t available_at = kT0);

// Expects `s` to report data corruption naming each of `mentions` (table, row, column,
// value).
void ExpectCorruption(const Status& s, const std::vector<std::string>& mentions);

// Blocks the store's committing thread inside the change listener (which runs there
// after a commit) until released, so writes queued meanwhile are committed as one
// group. It blocks on the first commit that changed `trigger_run`: the listener of the
// commit before the arming may still be running, so any commit would not do.
class WriterGate {
 public:
  void Arm(std::string trigger_run);
  // Called by the listener on the committing thread.
  void MaybeBlock(const std::vector<std::string>& changed);
  bool WaitEntered();
  void Release();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string trigger_run_;  // guarded by mu_; empty: not armed
  bool entered_ = false;     // guarded by mu_
  bool released_ = false;    // guarded by mu_
};

class StoreConformanceTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  void TearDown() override;

  void Open();
  void Reopen();
  std::set<std::string> Changed();

  RunRecord NewRun(const std::string& id, const std::string& workspace_id = "ws_1",
                   const std::string& workflow_id = "charge");
  // Creates a run and moves it to running (version 2).
  RunRecord CreateRunning(const std::string& id, const std::string& workspace_id = "ws_1",
                          const std::string& workflow_id = "charge");
  // A transition at `expected_version` that upserts `steps` only.
  Result<int64_t> Transition(const std::string& run_id, int64_t expected_version,
                             std::vector<StepRecord> steps, int64_t now = kT0 + 1);
  // Queues `task` with a transition of its run to waiting.
  void EnqueueTask(const AgentTaskRecord& task);

  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
  WriterGate gate_;
  std::mutex changed_mu_;
  std::set<std::string> changed_;       // guarded by changed_mu_
  std::atomic<int> outbox_signals_{0};  // calls of the outbox listener
};

}  // namespace sw::store_test
