// The SQLite store on a disk that fails: power lost at random points of a concurrent
// workload (powerloss_cycles.h), and the commit that meets a failed fsync, a failed
// write or a full disk. Every database of this binary goes through the
// FaultInjectionVfs (fault_injection_vfs.h), installed as SQLite's default VFS, so
// SqliteStore::Open is used as the server uses it.
//
// SW_POWERLOSS_CYCLES (default 200) sets the number of power losses, SW_POWERLOSS_SEED
// the seed (default fixed; "random" draws one), SW_POWERLOSS_THREADS the writers
// (default 4). `make soak` runs thousands of cycles.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "powerloss_cycles.h"
#include "powerloss_script.h"
#include "store/operation_store.h"

namespace sw {
namespace {

using fault::FaultInjectionVfs;
using powerloss::RawDb;

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sw_powerloss_XXXXXX").string();
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::stoll(v) : fallback;
}

uint64_t Seed() {
  const char* v = std::getenv("SW_POWERLOSS_SEED");
  if (v == nullptr || *v == '\0') {
    return 20261205;
  }
  if (std::string(v) == "random") {
    return std::random_device()();
  }
  return std::stoull(v);
}

TEST(PowerLossTest, AcknowledgedWritesSurviveEveryPowerLossAndNothingIsHalfWritten) {
  const std::string dir = MakeTempDir();
  powerloss::Config config;
  config.seed = Seed();
  config.threads = static_cast<int>(EnvInt("SW_POWERLOSS_THREADS", 4));
  const int cycles = static_cast<int>(EnvInt("SW_POWERLOSS_CYCLES", 200));
  std::printf("power-loss: seed %llu, %d cycles, %d threads\n",
              static_cast<unsigned long long>(config.seed), cycles, config.threads);
  const auto started = std::chrono::steady_clock::now();
  {
    powerloss::LossCycles loss(dir, config);
    loss.Start();
    for (int i = 0; i < cycles && !HasFailure(); ++i) {
      loss.RunCycle(i);
    }
    const powerloss::Figures& f = loss.figures();
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
            .count();
    std::printf("power-loss: %s (%lld s)\n", f.Summary().c_str(), static_cast<long long>(seconds));
    EXPECT_EQ(f.lost, 0);
    // The workload did work: most cycles acknowledge something before the power goes.
    EXPECT_GT(f.acked_transitions, f.cycles);
  }
  std::filesystem::remove_all(dir);
}

// One store on a fresh directory, with the fault-injecting VFS under it.
class DiskFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    Open();
    ASSERT_TRUE(store_->CreateRun(powerloss::NewRun("run_1", "ws_a"), std::nullopt).ok());
  }
  void TearDown() override {
    store_.reset();
    vfs_.PowerOn();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
  }
  Result<int64_t> Advance(int64_t to_version) {
    return store_->TransitionRun(powerloss::TransitionTo("run_1", "ws_a", to_version));
  }
  int64_t VersionAfterPowerLoss() {
    vfs_.LosePower(fault::LossMode::kDropAll, 1);
    store_.reset();
    EXPECT_EQ(vfs_.OpenFiles(), 0);
    vfs_.PowerOn();
    Open();
    RawDb db(dir_ + "/stepwell.db");
    EXPECT_EQ(db.Query("PRAGMA integrity_check").at(0).at(0), "ok");
    Result<RunRecord> run = store_->GetRun("run_1", true);
    EXPECT_TRUE(run.ok());
    return run.ok() ? run->version : 0;
  }

  FaultInjectionVfs& vfs_ = FaultInjectionVfs::Install();
  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
};

// An fsync that fails leaves the commit in doubt: it is not acknowledged, and the store
// stops writing (unhealthy, every later change refused) rather than guess. After a
// power loss the change is whole or absent; acknowledged ones are there.
TEST_F(DiskFaultTest, AFailedFsyncIsNeverAcknowledgedAndStopsTheStore) {
  ASSERT_EQ(*Advance(2), 2);
  vfs_.FailSyncs(1);
  Result<int64_t> failed = Advance(3);
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(store_->Healthy());
  Result<int64_t> refused = Advance(3);
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(store_->Healthy());
  EXPECT_EQ(VersionAfterPowerLoss(), 2);
  EXPECT_TRUE(store_->Healthy());
  EXPECT_EQ(*Advance(3), 3);
}

TEST_F(DiskFaultTest, AFailedWriteIsNeverAcknowledgedAndStopsTheStore) {
  vfs_.FailWrites(1);
  Result<int64_t> failed = Advance(2);
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(store_->Healthy());
  EXPECT_FALSE(Advance(2).ok());
  EXPECT_EQ(VersionAfterPowerLoss(), 1);
  EXPECT_EQ(*Advance(2), 2);
}

// A full disk is not sticky (docs/storage.md): the commit fails and is rolled back
// whole, the store is unhealthy while it lasts, and the first commit once there is
// space again makes it healthy; nothing of the failed change was written.
TEST_F(DiskFaultTest, AFullDiskFailsCommitsUntilThereIsSpaceAgain) {
  vfs_.SetDiskFull(true);
  Result<int64_t> full = Advance(2);
  ASSERT_FALSE(full.ok());
  EXPECT_FALSE(store_->Healthy());
  EXPECT_FALSE(Advance(2).ok());  // tried again, still full
  vfs_.SetDiskFull(false);
  ASSERT_EQ(*Advance(2), 2);
  EXPECT_TRUE(store_->Healthy());
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->steps.size(), 1u);
  EXPECT_EQ(store_->GetBilling("ws_a", 1'700'000'100'000)->state.spend,
            powerloss::ExpectedAt(2).spend);
  EXPECT_EQ(VersionAfterPowerLoss(), 2);
}

// A bulk operation's batch that meets a full disk fails whole
// (OperationStore::ApplyOperationBatchesAsync): its run stays pending, the store is not
// stopped for good (a full disk passes), and the batch applied again once there is space
// writes the run's change with its outcome. (When the disk fills inside a run's
// savepoint, sql::Savepoint answers the write's failure: savepoint_sqlitetest.cc.)
TEST_F(DiskFaultTest, ABulkOperationsBatchOnAFullDiskFailsWholeUntilThereIsSpaceAgain) {
  OperationStore& ops = *store_;
  OperationRecord op;
  op.id = "op_1";
  op.workspace_id = "ws_a";
  op.action = "resume";
  op.filter = nlohmann::json::object();
  op.actor = "token:admin";
  AuditEntry audit;
  audit.id = "aud_op_1";
  audit.workspace_id = "ws_a";
  audit.actor = "token:admin";
  audit.action = "operation.resume";
  audit.target = "op_1";
  ASSERT_TRUE(ops.CreateOperation(op, RunFilter{}, 10, audit).ok());
  auto batch = [] {
    OperationRunChange change;
    change.run_id = "run_1";
    change.decide = [](const RunRecord& run) -> Result<std::optional<RunTransition>> {
      return std::optional<RunTransition>(powerloss::TransitionTo(run.id, run.workspace_id, 2));
    };
    std::vector<OperationBatch> batches(1);
    batches[0].operation_id = "op_1";
    batches[0].runs.push_back(std::move(change));
    return batches;
  };
  auto apply = [&ops](std::vector<OperationBatch> batches) {
    std::promise<Result<OperationBatchResult>> written;
    ops.ApplyOperationBatchesAsync(
        std::move(batches),
        [&written](size_t, Result<OperationBatchResult> r) { written.set_value(std::move(r)); });
    return written.get_future().get();
  };

  vfs_.SetDiskFull(true);
  Result<OperationBatchResult> full = apply(batch());
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(full.status().message().find("full"), std::string::npos) << full.status().message();
  EXPECT_FALSE(store_->Healthy());
  vfs_.SetDiskFull(false);
  EXPECT_EQ(*ops.PendingOperationRuns("op_1", "", 10), std::vector<std::string>{"run_1"});
  EXPECT_EQ(store_->GetRun("run_1", false)->version, 1);

  Result<OperationBatchResult> written = apply(batch());
  ASSERT_TRUE(written.ok()) << written.status().message();
  ASSERT_EQ(written->outcomes.size(), 1u);
  EXPECT_EQ(written->outcomes[0].state, "done");
  EXPECT_EQ(written->operation.done, 1);
  EXPECT_TRUE(store_->Healthy());
  EXPECT_TRUE(ops.PendingOperationRuns("op_1", "", 10)->empty());
  EXPECT_EQ(VersionAfterPowerLoss(), 2);
}

// Another failure during a disk-full episode is sticky as usual.
TEST_F(DiskFaultTest, AFailedFsyncDuringADiskFullEpisodeIsSticky) {
  vfs_.SetDiskFull(true);
  EXPECT_FALSE(Advance(2).ok());
  vfs_.SetDiskFull(false);
  vfs_.FailSyncs(1);
  EXPECT_FALSE(Advance(2).ok());
  EXPECT_FALSE(Advance(2).ok());
  EXPECT_FALSE(store_->Healthy());
  EXPECT_EQ(VersionAfterPowerLoss(), 1);
}

// A change that fails with an I/O error makes SQLite roll the whole transaction back.
// The changes after it in the same group commit must then fail with it: committed one
// by one outside the batch's transaction, a failed commit of one (here its fsync) could
// pass for a success, and the power loss would take what was acknowledged.
TEST_F(DiskFaultTest, AChangeGroupedAfterOneThatLostTheTransactionIsNotAcknowledged) {
  ASSERT_TRUE(store_->CreateRun(powerloss::NewRun("run_2", "ws_a"), std::nullopt).ok());
  ASSERT_TRUE(store_->CreateRun(powerloss::NewRun("run_gate", "ws_a"), std::nullopt).ok());
  store_.reset();
  Open();
  // The writer is held inside the listener of run_gate's commit while run_1's and
  // run_2's transitions queue behind it: they are committed as one batch.
  std::mutex mu;
  std::condition_variable cv;
  bool held = false, released = false;
  store_->SetChangeListener([&](const std::vector<std::string>& ids) {
    if (std::find(ids.begin(), ids.end(), "run_gate") == ids.end()) {
      return;
    }
    std::unique_lock lock(mu);
    held = true;
    cv.notify_all();
    cv.wait(lock, [&] { return released; });
  });
  std::thread gate([&] {
    EXPECT_TRUE(store_->TransitionRun(powerloss::TransitionTo("run_gate", "ws_a", 2)).ok());
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return held; }));
  }
  std::promise<Result<int64_t>> first, second;
  store_->TransitionRunAsync(powerloss::TransitionTo("run_1", "ws_a", 2),
                             [&](Result<int64_t> r) { first.set_value(std::move(r)); });
  store_->TransitionRunAsync(powerloss::TransitionTo("run_2", "ws_a", 2),
                             [&](Result<int64_t> r) { second.set_value(std::move(r)); });
  {
    // Another connection's commit makes the writer read its pages again: the batch's
    // BEGIN reads the header page (the first read), run_1's change the next one, which
    // fails; run_2's lone commit then fails its fsync.
    RawDb other(dir_ + "/stepwell.db");
    ASSERT_EQ(other.Exec("INSERT INTO events(run_id, event_type, payload, created_at) "
                         "VALUES('run_x', 'x', '{}', 0)"),
              SQLITE_OK);
  }
  vfs_.FailReadAt(2);
  vfs_.FailSyncs(1);
  {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  gate.join();
  Result<int64_t> run_1 = first.get_future().get();
  Result<int64_t> run_2 = second.get_future().get();
  EXPECT_FALSE(run_1.ok());
  EXPECT_FALSE(run_2.ok()) << "acknowledged at version " << *run_2;
  const bool run_2_acked = run_2.ok();
  vfs_.LosePower(fault::LossMode::kDropAll, 1);
  store_.reset();
  ASSERT_EQ(vfs_.OpenFiles(), 0);
  vfs_.PowerOn();
  Open();
  Result<RunRecord> after = store_->GetRun("run_2", false);
  ASSERT_TRUE(after.ok());
  if (run_2_acked) {
    EXPECT_EQ(after->version, 2) << "an acknowledged transition was lost";
  }
}

}  // namespace
}  // namespace sw
