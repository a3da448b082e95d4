#include "powerloss_cycles.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "powerloss_script.h"

namespace sw::powerloss {

namespace {

const char* const kWorkspaces[] = {"ws_a", "ws_b"};

// How a step reaches the store: every public write path of a run's transition.
enum class Call { kSync, kAsync, kUpdate, kUpdateAsync };

template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace

RawDb::RawDb(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db_, 5000);
  }
}

RawDb::~RawDb() { sqlite3_close(db_); }

std::vector<std::vector<std::string>> RawDb::Query(const std::string& sql) {
  std::vector<std::vector<std::string>> rows;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    return rows;
  }
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::vector<std::string>& row = rows.emplace_back();
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      const unsigned char* text = sqlite3_column_text(st, i);
      row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
    }
  }
  if (rc != SQLITE_DONE) {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);  // the rows read are not all
  }
  sqlite3_finalize(st);
  return rows;
}

int RawDb::Exec(const std::string& sql) {
  return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
}

std::string Figures::Summary() const {
  return std::to_string(cycles) + " cycles: " + std::to_string(power_losses) + " power losses, " +
         std::to_string(clean_closes) + " clean closes; " + std::to_string(runs) + " runs, " +
         std::to_string(acked_creates) + " acknowledged creates and " +
         std::to_string(acked_transitions) + " acknowledged transitions, " + std::to_string(lost) +
         " lost; " + std::to_string(present_unacked) + " unacknowledged versions found whole; " +
         std::to_string(writes) + " writes and " + std::to_string(syncs) + " syncs, " +
         std::to_string(unsynced_dropped) + " unsynced writes dropped, landed or torn";
}

// A run of the model. `durable`: the version read back after the last power loss (0:
// absent); `acked` and `attempted`: the highest version acknowledged and tried since.
struct LossCycles::Run {
  std::string id;
  std::string workspace_id;
  bool keyed = false;  // created under an Idempotency-Key
  int64_t durable = 0;
  int64_t acked = 0;
  int64_t attempted = 0;
  const char* last_call = "";  // how the last acknowledged step reached the store
  int64_t Current() const { return std::max(durable, acked); }
};

struct LossCycles::Worker {
  std::vector<Run*> runs;
  uint64_t seed = 0;
  int64_t acked_creates = 0;
  int64_t acked_transitions = 0;
};

LossCycles::LossCycles(std::string dir, Config config)
    : dir_(std::move(dir)),
      config_(config),
      vfs_(fault::FaultInjectionVfs::Install()),
      rng_(config.seed) {}

LossCycles::~LossCycles() { store_.reset(); }

void LossCycles::Open() {
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  store_ = std::move(opened).value();
}

void LossCycles::Start() {
  Open();
  ASSERT_TRUE(store_ != nullptr);
  for (const char* ws : kWorkspaces) {
    BillingUpdate u;
    u.workspace_id = ws;
    u.prices = {{"default", 1}};
    u.now = 1'700'000'000'000;
    u.audit.id = std::string("aud_billing_") + ws;
    u.audit.workspace_id = ws;
    u.audit.action = "billing.update";
    u.audit.target = "billing";
    ASSERT_TRUE(store_->UpdateBilling(u).ok());
  }
}

std::vector<std::vector<LossCycles::Run*>> LossCycles::Plan() {
  std::vector<Run*> unfinished;
  for (const std::unique_ptr<Run>& r : runs_) {
    // An absent run goes on too: its create is tried again (under its key, if any).
    if (r->durable < kFinalVersion) {
      unfinished.push_back(r.get());
    }
  }
  std::shuffle(unfinished.begin(), unfinished.end(), rng_);
  std::vector<std::vector<Run*>> plan(config_.threads);
  size_t next_old = 0;
  for (std::vector<Run*>& mine : plan) {
    for (int i = 0; i < config_.old_runs_per_thread && next_old < unfinished.size(); ++i) {
      mine.push_back(unfinished[next_old++]);
    }
    for (int i = 0; i < config_.new_runs_per_thread; ++i) {
      auto run = std::make_unique<Run>();
      run->id = "run_" + std::to_string(next_run_++);
      run->workspace_id = kWorkspaces[rng_() % 2];
      run->keyed = rng_() % 2 == 0;
      mine.push_back(run.get());
      runs_.push_back(std::move(run));
      ++figures_.runs;
    }
  }
  return plan;
}

bool LossCycles::Step(Run& run, std::mt19937_64& rng) {
  const int64_t version = run.Current() + 1;
  const Call call = static_cast<Call>(rng() % 4);
  run.attempted = std::max(run.attempted, version);
  Status s;
  if (version == 1) {
    std::optional<IdempotencyKey> key;
    if (run.keyed) {
      key = IdempotencyKey{"key_" + run.id, "hash_" + run.id, 0};
    }
    Result<CreateRunResult> created = Status(StatusCode::kInternal, "not called");
    if (call == Call::kSync || call == Call::kUpdate) {
      created = store_->CreateRun(NewRun(run.id, run.workspace_id), key);
    } else {
      std::promise<Result<CreateRunResult>> done;
      store_->CreateRunAsync(NewRun(run.id, run.workspace_id), key,
                             [&](Result<CreateRunResult> r) { done.set_value(std::move(r)); });
      created = done.get_future().get();
    }
    // A key is kept only with its run: a replay here is a key whose run was lost.
    EXPECT_FALSE(created.ok() && created->replayed) << run.id << ": its key outlived it";
    s = StatusOf(created);
  } else {
    RunTransition t = TransitionTo(run.id, run.workspace_id, version);
    auto decide = [t](const RunRecord& read) -> Result<std::optional<RunTransition>> {
      if (read.version != t.expected_version) {
        return Status(StatusCode::kAborted, "at version " + std::to_string(read.version));
      }
      return std::optional<RunTransition>(t);
    };
    const Store::UpdateReads reads{false, false};
    if (call == Call::kSync) {
      s = StatusOf(store_->TransitionRun(std::move(t)));
    } else if (call == Call::kUpdate) {
      Result<RunRecord> updated = store_->UpdateRun(run.id, decide, reads);
      if (!updated.ok()) {
        s = updated.status();
      }
    } else if (call == Call::kAsync) {
      std::promise<Status> done;
      store_->TransitionRunAsync(std::move(t),
                                 [&](Result<int64_t> r) { done.set_value(StatusOf(r)); });
      s = done.get_future().get();
    } else {
      std::promise<Status> done;
      // Only the outcome is kept: the run answered is not read.
      store_->UpdateRunAsync(
          run.id, decide, reads, Store::Waiter::kEngine, [&](const Result<RunRecord>& r) {
            done.set_value(r.ok() ? Status::Ok() : Status(r.status().code(), r.status().message()));
          });
      s = done.get_future().get();
    }
  }
  if (!s.ok()) {
    return false;
  }
  static constexpr const char* kCallNames[] = {"sync", "async", "update", "update_async"};
  run.last_call = kCallNames[static_cast<int>(call)];
  run.acked = version;
  return true;
}

void LossCycles::Drive(Worker& w) {
  std::mt19937_64 rng(w.seed);
  std::unique_ptr<RawDb> checkpointer;
  std::vector<Run*> live = w.runs;
  // Round robin over the thread's runs, so its commits interleave with the others'.
  for (size_t i = 0; !live.empty(); i = (i + 1) % std::max<size_t>(live.size(), 1)) {
    i %= live.size();
    Run& run = *live[i];
    if (run.Current() >= kFinalVersion) {
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    const bool create = run.Current() == 0;
    if (!Step(run, rng)) {
      return;  // the power is off (or the store stopped writing): nothing more is acked
    }
    ++(create ? w.acked_creates : w.acked_transitions);
    if (rng() % 16 == 0) {
      if (checkpointer == nullptr) {
        checkpointer = std::make_unique<RawDb>(DbPath());
      }
      checkpointer->Exec("PRAGMA wal_checkpoint(PASSIVE)");
    }
  }
}

void LossCycles::RunCycle(int cycle) {
  SCOPED_TRACE("seed " + std::to_string(config_.seed) + ", cycle " + std::to_string(cycle) +
               " (replay: SW_POWERLOSS_SEED=" + std::to_string(config_.seed) + ")");
  ASSERT_TRUE(store_ != nullptr);
  const std::vector<std::vector<Run*>> plan = Plan();
  std::vector<Worker> workers(plan.size());
  std::vector<Run*> driven;
  for (size_t i = 0; i < plan.size(); ++i) {
    workers[i].runs = plan[i];
    workers[i].seed = rng_();
    driven.insert(driven.end(), plan[i].begin(), plan[i].end());
  }
  const auto mode = static_cast<fault::LossMode>(rng_() % 3);
  const uint64_t loss_seed = rng_();
  // One cycle in clean_close_one_in closes the store when its work is done (a loss drawn
  // but not reached may strike while it checkpoints); half of those draw no loss at all.
  const bool clean_close = rng_() % config_.clean_close_one_in == 0;
  const bool no_loss = clean_close && rng_() % 2 == 0;
  const fault::VfsCounters before = vfs_.Counters();
  const int64_t loss_at =
      1 + static_cast<int64_t>(rng_() % (config_.max_ops_per_thread * config_.threads));
  vfs_.LosePowerAfter(no_loss ? 0 : loss_at, mode, loss_seed);
  {
    std::vector<std::thread> threads;
    for (Worker& w : workers) {
      threads.emplace_back([this, &w] { Drive(w); });
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }
  for (const Worker& w : workers) {
    figures_.acked_creates += w.acked_creates;
    figures_.acked_transitions += w.acked_transitions;
  }
  const bool lost_in_work = vfs_.PowerLost();
  if (!clean_close) {
    vfs_.LosePower(mode, loss_seed);  // if the point drawn was not reached
  }
  store_.reset();  // a clean close checkpoints: power may still go while it does
  vfs_.LosePowerAfter(0, mode, loss_seed);
  last_cycle_ = "loss mode " + std::to_string(static_cast<int>(mode)) + " at op " +
                std::to_string(no_loss ? 0 : loss_at) + (clean_close ? ", clean close" : "") +
                (lost_in_work       ? ", power lost during the work"
                 : vfs_.PowerLost() ? ", power lost after it"
                                    : ", no power loss");
  ++(vfs_.PowerLost() ? figures_.power_losses : figures_.clean_closes);
  ASSERT_EQ(vfs_.OpenFiles(), 0);
  vfs_.PowerOn();
  if (const char* keep = std::getenv("SW_POWERLOSS_KEEP"); keep != nullptr) {
    // The files as the power loss left them, before recovery, for a failure's analysis.
    for (const char* suffix : {"", "-wal"}) {
      const std::string kept = std::string(keep) + "/stepwell.db" + suffix;
      std::filesystem::remove(kept);
      if (std::filesystem::exists(DbPath() + suffix)) {
        std::filesystem::copy_file(DbPath() + suffix, kept);
      }
    }
  }
  const fault::VfsCounters after = vfs_.Counters();
  figures_.unsynced_dropped += after.unsynced_dropped - before.unsynced_dropped;
  figures_.writes += after.writes - before.writes;
  figures_.syncs += after.syncs - before.syncs;
  ++figures_.cycles;
  Open();
  ASSERT_TRUE(store_ != nullptr);
  Check(driven);
}

namespace {

template <typename V>
V ValueOr(const std::map<std::string, V>& m, const std::string& key) {
  auto it = m.find(key);
  return it != m.end() ? it->second : V{};
}

std::map<std::string, std::string> StepNames(const Expected& e) {
  std::map<std::string, std::string> out;
  for (const auto& [path, status] : e.steps) {
    out[path] = std::string(ToString(status));
  }
  return out;
}

// The database as the checks read it, by run id.
struct Snapshot {
  std::map<std::string, std::pair<int64_t, std::string>> runs;  // version, status
  std::map<std::string, std::map<std::string, std::string>> steps;
  std::map<std::string, std::set<std::string>> timers;
  std::map<std::string, std::string> agent_tasks;
  std::map<std::string, std::string> human_tasks;
  std::set<std::string> ids;             // of notifications, audit entries and idempotency keys
  std::map<std::string, int64_t> spend;  // by workspace

  explicit Snapshot(RawDb& db) {
    for (const auto& r : db.Query("SELECT id, version, status FROM runs")) {
      runs[r[0]] = {std::stoll(r[1]), r[2]};
    }
    for (const auto& r : db.Query("SELECT run_id, path, status FROM steps")) {
      steps[r[0]][r[1]] = r[2];
    }
    for (const auto& r : db.Query("SELECT run_id, kind FROM timers")) {
      timers[r[0]].insert(r[1]);
    }
    for (const auto& r : db.Query("SELECT run_id, status FROM agent_tasks")) {
      agent_tasks[r[0]] = r[1];
    }
    for (const auto& r : db.Query("SELECT run_id, status FROM human_tasks")) {
      human_tasks[r[0]] = r[1];
    }
    for (const auto& r : db.Query("SELECT id FROM notifications UNION ALL SELECT id FROM audit "
                                  "UNION ALL SELECT key FROM idempotency")) {
      ids.insert(r[0]);
    }
    for (const auto& r : db.Query("SELECT workspace_id, spend FROM billing")) {
      spend[r[0]] = std::stoll(r[1]);
    }
  }
};

}  // namespace

void LossCycles::Check(const std::vector<Run*>& driven) {
  RawDb db(DbPath());
  const std::vector<std::vector<std::string>> integrity = db.Query("PRAGMA integrity_check");
  ASSERT_FALSE(integrity.empty());
  EXPECT_EQ(integrity[0][0], "ok");
  const Snapshot got(db);
  std::map<std::string, int64_t> spend;
  size_t present = 0;
  for (const std::unique_ptr<Run>& run : runs_) {
    const std::string& id = run->id;
    auto found = got.runs.find(id);
    const int64_t version = found != got.runs.end() ? found->second.first : 0;
    if (version < run->Current()) {
      ++figures_.lost;
      ADD_FAILURE() << id << " was acknowledged at version " << run->Current()
                    << " and is read back at " << version << " (read back at " << run->durable
                    << " after the cycle before, acknowledged at " << run->acked
                    << " in this one through " << run->last_call << "; " << last_cycle_ << ")";
    }
    EXPECT_LE(version, std::max(run->durable, run->attempted)) << id;
    figures_.present_unacked += std::max<int64_t>(version - run->Current(), 0);
    run->durable = run->acked = run->attempted = version;
    EXPECT_EQ(got.ids.count("key_" + id), run->keyed && version > 0 ? 1u : 0u) << id;
    if (version == 0) {
      EXPECT_EQ(got.steps.count(id) + got.timers.count(id) + got.agent_tasks.count(id) +
                    got.human_tasks.count(id) + got.ids.count(NotificationId(id)),
                0u)
          << id << " is absent but some of its rows are there";
      continue;
    }
    ++present;
    const Expected e = ExpectedAt(std::min(version, kFinalVersion));
    SCOPED_TRACE(id + " at version " + std::to_string(version));
    EXPECT_EQ(found->second.second, ToString(e.status));
    EXPECT_EQ(ValueOr(got.steps, id), StepNames(e));
    EXPECT_EQ(ValueOr(got.timers, id), e.timers);
    EXPECT_EQ(ValueOr(got.agent_tasks, id), e.agent_task);
    EXPECT_EQ(ValueOr(got.human_tasks, id), e.human_task);
    EXPECT_EQ(got.ids.count(NotificationId(id)) == 1, e.notified);
    EXPECT_EQ(got.ids.count(AuditId(id)) == 1, e.audited);
    spend[run->workspace_id] += e.spend;
  }
  EXPECT_EQ(got.runs.size(), present) << "runs the workload never made";
  for (const char* ws : kWorkspaces) {
    EXPECT_EQ(ValueOr(got.spend, ws), spend[ws]) << ws << ": spend is not its charges' sum";
    Result<BillingRecord> billing = store_->GetBilling(ws, 1'700'000'100'000);
    ASSERT_TRUE(billing.ok()) << billing.status().message();
    EXPECT_EQ(billing->state.spend, spend[ws]) << ws;
  }
  // The store itself reads back what it was driving.
  for (const Run* run : driven) {
    if (run->durable == 0) {
      continue;
    }
    Result<RunRecord> read = store_->GetRun(run->id, /*with_steps=*/true);
    ASSERT_TRUE(read.ok()) << run->id << ": " << read.status().message();
    const Expected e = ExpectedAt(run->durable);
    EXPECT_EQ(read->version, run->durable) << run->id;
    EXPECT_EQ(read->status, e.status) << run->id;
    std::map<std::string, std::string> steps;
    for (const StepRecord& s : read->steps) {
      steps[s.path] = std::string(ToString(s.status));
    }
    EXPECT_EQ(steps, StepNames(e)) << run->id;
  }
}

}  // namespace sw::powerloss
