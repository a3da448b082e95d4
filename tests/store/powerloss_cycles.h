// LossCycles: the power-loss test's loop. Each cycle, several threads drive runs
// through their scripted lives (powerloss_script.h) on a SqliteStore — creates (some
// under an Idempotency-Key), transitions through TransitionRun, TransitionRunAsync,
// UpdateRun and UpdateRunAsync, with WAL checkpoints from another connection between
// them — while the FaultInjectionVfs loses power at a random write or sync. Then the
// store is destroyed, power comes back, the store is opened again on the same files and
// everything is checked against what was acknowledged:
//
// - a run whose create was acknowledged exists; a run is never behind the last version
//   acknowledged for it, nor ahead of the last one attempted;
// - a run holds exactly what its version says (status, step rows, timers, agent task,
//   approval, notification, audit entry, idempotency key): nothing of an
//   unacknowledged transition is half there;
// - each workspace's spend is the sum of the charges of the versions its runs are at;
// - `PRAGMA integrity_check` answers ok, and the store reads every run it was just
//   driving.
//
// Runs not finished go on in the next cycles from the version they were read back at,
// on the same database, so recovery is tested on a WAL that grows, is checkpointed and
// is written again from its start. Some cycles end with a clean close instead (which
// checkpoints, and may lose power while doing so).
//
// The seed fixes the plan (runs, which call each step uses, where power is lost and how
// the unsynced writes fare); with one thread a cycle replays exactly, with several the
// threads' interleaving still varies. Failures are gtest failures naming the seed and
// the cycle.
//
// Not thread-safe: one test drives it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fault_injection_vfs.h"
#include "store/sqlite/sqlite_store.h"

namespace sw::powerloss {

// A raw connection to the database through the default VFS (the fault-injecting one),
// for checks and checkpoints behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path);
  ~RawDb();
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  // The rows of `sql`, every column as text (NULL: ""); empty on an error.
  std::vector<std::vector<std::string>> Query(const std::string& sql);
  int Exec(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

struct Config {
  uint64_t seed = 1;
  int threads = 4;
  int new_runs_per_thread = 2;
  int old_runs_per_thread = 2;
  // Power is lost at a write or sync drawn from [1, max_ops_per_thread × threads] of
  // the cycle: a cycle's whole work takes about 350 per thread.
  int64_t max_ops_per_thread = 400;
  int clean_close_one_in = 8;
};

struct Figures {
  int cycles = 0;
  int power_losses = 0;  // cycles that lost power (at the point drawn, or at their end)
  int clean_closes = 0;
  int64_t runs = 0;
  int64_t acked_creates = 0;
  int64_t acked_transitions = 0;
  int64_t lost = 0;              // acknowledged, then missing: always 0 unless a bug
  int64_t present_unacked = 0;   // versions written but not acknowledged before the loss
  int64_t unsynced_dropped = 0;  // changes pending at a loss
  int64_t writes = 0;            // the writes and syncs of the workload and its checkpoints
  int64_t syncs = 0;
  std::string Summary() const;
};

class LossCycles {
 public:
  LossCycles(std::string dir, Config config);
  ~LossCycles();

  // Opens the store and sets the workspaces' billing. REQUIRES: an empty `dir`.
  void Start();
  // One cycle (see above); its failures are the test's.
  void RunCycle(int cycle);
  const Figures& figures() const { return figures_; }

 private:
  struct Run;
  struct Worker;

  std::string DbPath() const { return dir_ + "/stepwell.db"; }
  void Open();
  // Plans the cycle's work: each thread's runs, old ones first.
  std::vector<std::vector<Run*>> Plan();
  void Drive(Worker& w);
  // One step of `run` (its create, or its next transition); false when it failed.
  bool Step(Run& run, std::mt19937_64& rng);
  void Check(const std::vector<Run*>& driven);

  const std::string dir_;
  const Config config_;
  fault::FaultInjectionVfs& vfs_;
  std::mt19937_64 rng_;
  std::unique_ptr<SqliteStore> store_;
  std::vector<std::unique_ptr<Run>> runs_;
  int next_run_ = 0;
  Figures figures_;
  std::string last_cycle_;  // how the last cycle ended, for failure messages
};

}  // namespace sw::powerloss
