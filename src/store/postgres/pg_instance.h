// PgInstance: this server as one of several instances sharing a PostgreSQL store. It
// registers the instance (table `instances`) and beats every second:
//
// - it renews its heartbeat, which is the lease of every run it owns (a run's owner is
//   a column the run's own commits write: store/transition_plan.h);
// - it fences the instances whose heartbeat lapsed `lease_ms` ago: their runs lose
//   their owner and their version moves on, so a late commit of the lapsed instance
//   loses its compare-and-set;
// - it hands `take_over` the pending and running runs that nobody owns (their instance
//   lapsed or stopped) or that it owns itself (after a restart with the same id, or a
//   commit that failed): the engine drives those it does not drive already, and its
//   first commit makes the run this instance's, or finds another instance was faster.
//   Runs of a workflow held for safety are left where they are until the hold ends.
//
// A killed instance's runs go on elsewhere within about lease_ms + one beat.
//
// Thread-safe: one connection, used under a mutex, by the beat thread and ListLive.
// Times come from `now`: the real clock, also under --fake-clock (heartbeats are between
// processes).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/instances.h"
#include "store/sql/connection.h"

namespace sw {

class PgInstance final : public InstanceRegistry {
 public:
  struct Options {
    std::string id;       // unique per process
    std::string address;  // where it listens (set again by StartBeating)
    int64_t lease_ms = 3000;
    int64_t beat_ms = 1000;
  };
  using Now = std::function<int64_t()>;
  using TakeOver = std::function<void(const std::vector<std::string>& run_ids)>;

  // Connects to `url` and registers the instance; the beats start with StartBeating.
  static Result<std::unique_ptr<PgInstance>> Register(const std::string& url, Options options,
                                                      Now now);
  // Stops beating (if not stopped yet), gives up its runs (the others take them at their
  // next beat) and unregisters.
  ~PgInstance() override;

  // Starts the beat thread, the instance listening at `address`; after each beat the
  // runs nobody drives (maybe none) go to `take_over`.
  void StartBeating(std::string address, TakeOver take_over);
  // Stops the beat thread: `take_over` is not called after this returns. The runs stay
  // this instance's until it is destroyed (or its heartbeat lapses).
  void StopBeating();

  std::string self() const override { return options_.id; }
  Result<std::vector<InstanceRecord>> ListLive() override;

 private:
  PgInstance(std::unique_ptr<sql::Connection> db, Options options, Now now);
  void BeatLoop();
  // Renews the heartbeat and fences lapsed instances; answers the runs to drive.
  Result<std::vector<std::string>> Beat();

  Options options_;  // address set by StartBeating, before the beat thread reads it
  const Now now_;
  TakeOver take_over_;

  std::mutex db_mu_;
  std::unique_ptr<sql::Connection> db_;  // guarded by db_mu_

  std::mutex beat_mu_;
  std::condition_variable beat_cv_;
  bool stopping_ = false;  // guarded by beat_mu_
  std::thread beater_;
};

}  // namespace sw
