// PgInstance: this server as one of several instances sharing a PostgreSQL store. It
// registers the instance (table `instances`), and every beat (1 s) renews its
// heartbeat and the leases of the runs it drives, and looks for runs nobody drives:
// running or pending runs without a live lease (their instance died, or stopped before
// it took them). It hands those to `take_over` (the engine drives them, as after a
// restart; its Acquire takes the lease).
//
// As RunLeases, a run's lease is a row of `run_leases`: Acquire takes it when it is free,
// lapsed or already this instance's; Release gives it back. A lease lapses `lease_ms`
// after the last renewal, so a killed instance's runs go on elsewhere within about
// lease_ms + one beat. A Release that fails, or an Acquire whose outcome is unknown (the
// database is out of reach), is given back by the next beat that reaches the database,
// before it renews this instance's leases: else the run would keep a lease nobody uses
// and never be driven again.
//
// Thread-safe: one connection, used under a mutex, by the engine's threads (Acquire,
// Release), the beat thread and ListLive. Times come from `now` (the engine's clock).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/instances.h"
#include "store/run_lease.h"
#include "store/sql/connection.h"

namespace sw {

class PgInstance final : public RunLeases, public InstanceRegistry {
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
  // Stops beating (if not stopped yet), gives back every lease and unregisters.
  ~PgInstance() override;

  // Starts the beat thread, the instance listening at `address`; runs nobody drives go
  // to `take_over`.
  void StartBeating(std::string address, TakeOver take_over);
  // Stops the beat thread: `take_over` is not called after this returns. The leases
  // stay until this instance is destroyed (or they lapse).
  void StopBeating();

  bool Acquire(const std::string& run_id) override;
  void Release(const std::string& run_id) override;

  std::string self() const override { return options_.id; }
  Result<std::vector<InstanceRecord>> ListLive() override;

 private:
  PgInstance(std::unique_ptr<sql::Connection> db, Options options, Now now);
  void BeatLoop();
  // Renews the heartbeat and this instance's leases; answers the runs nobody drives.
  Result<std::vector<std::string>> Beat();
  // Notes that this instance may hold `run_id`'s lease without driving it (an Acquire
  // or Release whose outcome is unknown). REQUIRES: db_mu_ held.
  void LeftBehind(const std::string& run_id);
  // Gives back the leases a Release could not (the database was out of reach).
  // REQUIRES: db_mu_ held.
  Status ReleaseLeftBehind();

  Options options_;  // address set by StartBeating, before the beat thread reads it
  const Now now_;
  TakeOver take_over_;

  // Bound on the leases waiting to be given back; past it they stay until a restart.
  static constexpr size_t kMaxUnreleased = 100000;

  std::mutex db_mu_;
  std::unique_ptr<sql::Connection> db_;  // guarded by db_mu_
  // Runs let go while the database was out of reach, their lease rows still this
  // instance's; guarded by db_mu_.
  std::set<std::string> unreleased_;

  std::mutex beat_mu_;
  std::condition_variable beat_cv_;
  bool stopping_ = false;  // guarded by beat_mu_
  std::thread beater_;
};

}  // namespace sw
