#include "store/postgres/pg_instance.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "store/postgres/db.h"
#include "store/sql/query.h"

namespace sw {

using sql::Statement;

Result<std::unique_ptr<PgInstance>> PgInstance::Register(const std::string& url, Options options,
                                                         Now now) {
  Result<std::unique_ptr<postgres::PgConnection>> db = postgres::PgConnection::Open(url);
  if (!db.ok()) {
    return db.status();
  }
  const int64_t at = now();
  Status registered =
      sql::Exec(**db,
                "INSERT INTO instances(id, address, started_at, heartbeat_at) VALUES(?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET address = excluded.address, started_at = "
                "excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                [&](Statement& q) {
                  q.Bind(1, options.id).Bind(2, options.address).Bind(3, at).Bind(4, at);
                });
  if (!registered.ok()) {
    return registered;
  }
  return std::unique_ptr<PgInstance>(
      new PgInstance(std::move(db).value(), std::move(options), std::move(now)));
}

PgInstance::PgInstance(std::unique_ptr<sql::Connection> db, Options options, Now now)
    : options_(std::move(options)), now_(std::move(now)), db_(std::move(db)) {}

PgInstance::~PgInstance() {
  StopBeating();
  std::lock_guard lock(db_mu_);
  sql::Exec(*db_, "DELETE FROM run_leases WHERE instance_id = ?",
            [&](Statement& q) { q.Bind(1, options_.id); });
  sql::Exec(*db_, "DELETE FROM instances WHERE id = ?",
            [&](Statement& q) { q.Bind(1, options_.id); });
}

void PgInstance::StartBeating(std::string address, TakeOver take_over) {
  options_.address = std::move(address);
  take_over_ = std::move(take_over);
  beater_ = std::thread([this] { BeatLoop(); });
}

void PgInstance::StopBeating() {
  {
    std::lock_guard lock(beat_mu_);
    stopping_ = true;
  }
  beat_cv_.notify_all();
  if (beater_.joinable()) {
    beater_.join();
  }
}

bool PgInstance::Acquire(const std::string& run_id) {
  const int64_t now = now_();
  std::lock_guard lock(db_mu_);
  unreleased_.erase(run_id);  // held again: the beat must not give it back
  Result<std::vector<std::string>> taken = sql::QueryAll<std::string>(
      *db_,
      "INSERT INTO run_leases(run_id, instance_id, expires_at) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(run_id) DO UPDATE SET instance_id = excluded.instance_id, expires_at = "
      "excluded.expires_at WHERE run_leases.instance_id = excluded.instance_id OR "
      "run_leases.expires_at < ?4 RETURNING run_id",
      [&](Statement& q) {
        q.Bind(1, run_id).Bind(2, options_.id).Bind(3, now + options_.lease_ms).Bind(4, now);
      },
      [](const Statement& r) { return r.Text(0); });
  if (!taken.ok()) {
    // Not known to be ours, and not known not to be (the answer to a write that went
    // through may be what was lost): the beat gives back whatever this instance holds of
    // it, and then offers the run again.
    spdlog::warn("event=lease.error run={} error={}", run_id, taken.status().message());
    LeftBehind(run_id);
    return false;
  }
  return !taken->empty();
}

void PgInstance::Release(const std::string& run_id) {
  std::lock_guard lock(db_mu_);
  Status s = sql::Exec(*db_, "DELETE FROM run_leases WHERE run_id = ? AND instance_id = ?",
                       [&](Statement& q) { q.Bind(1, run_id).Bind(2, options_.id); });
  if (!s.ok()) {
    spdlog::warn("event=lease.error run={} error={}", run_id, s.message());
    LeftBehind(run_id);
  }
}

void PgInstance::LeftBehind(const std::string& run_id) {
  // The beat renews every lease of this instance, so one left behind would never lapse
  // and nobody would drive the run again.
  if (unreleased_.size() < kMaxUnreleased) {
    unreleased_.insert(run_id);
  }
}

Status PgInstance::ReleaseLeftBehind() {
  while (!unreleased_.empty()) {
    const std::string run_id = *unreleased_.begin();
    Status s = sql::Exec(*db_, "DELETE FROM run_leases WHERE run_id = ? AND instance_id = ?",
                         [&](Statement& q) { q.Bind(1, run_id).Bind(2, options_.id); });
    if (!s.ok()) {
      return s;
    }
    unreleased_.erase(run_id);
  }
  return Status::Ok();
}

Result<std::vector<InstanceRecord>> PgInstance::ListLive() {
  const int64_t now = now_();
  std::lock_guard lock(db_mu_);
  return sql::QueryAll<InstanceRecord>(
      *db_,
      "SELECT id, address, started_at, heartbeat_at FROM instances WHERE heartbeat_at > ? "
      "ORDER BY started_at, id",
      [&](Statement& q) { q.Bind(1, now - options_.lease_ms); },
      [](const Statement& r) {
        return InstanceRecord{r.Text(0), r.Text(1), r.Int(2), r.Int(3)};
      });
}

Result<std::vector<std::string>> PgInstance::Beat() {
  const int64_t now = now_();
  std::lock_guard lock(db_mu_);
  Status s = sql::Exec(*db_,
                       "INSERT INTO instances(id, address, started_at, heartbeat_at) "
                       "VALUES(?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET address = "
                       "excluded.address, heartbeat_at = excluded.heartbeat_at",
                       [&](Statement& q) {
                         q.Bind(1, options_.id).Bind(2, options_.address).Bind(3, now);
                         q.Bind(4, now);
                       });
  if (s.ok()) {
    s = ReleaseLeftBehind();
  }
  if (s.ok()) {
    s = sql::Exec(*db_, "UPDATE run_leases SET expires_at = ? WHERE instance_id = ?",
                  [&](Statement& q) { q.Bind(1, now + options_.lease_ms).Bind(2, options_.id); });
  }
  if (!s.ok()) {
    return s;
  }
  return sql::QueryAll<std::string>(
      *db_,
      "SELECT id FROM runs WHERE status IN ('running', 'pending') AND NOT EXISTS (SELECT 1 "
      "FROM run_leases l WHERE l.run_id = runs.id AND l.expires_at >= ?) ORDER BY id LIMIT 500",
      [&](Statement& q) { q.Bind(1, now); }, [](const Statement& r) { return r.Text(0); });
}

void PgInstance::BeatLoop() {
  std::unique_lock lock(beat_mu_);
  while (!stopping_) {
    lock.unlock();
    Result<std::vector<std::string>> orphans = Beat();
    if (!orphans.ok()) {
      spdlog::warn("event=instance.beat_failed error={}", orphans.status().message());
    } else if (!orphans->empty()) {
      spdlog::info("event=instance.take_over runs={}", orphans->size());
      take_over_(*orphans);
    }
    lock.lock();
    beat_cv_.wait_for(lock, std::chrono::milliseconds(options_.beat_ms),
                      [this] { return stopping_; });
  }
}

}  // namespace sw
