#include "store/postgres/pg_instance.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "store/postgres/db.h"
#include "store/sql/query.h"

namespace sw {

using sql::Statement;

namespace {

// A run of a workflow held for safety stays where it is until the hold ends (the
// release drives it again, here or by the next beat): a beat neither takes it nor
// hands it to the engine, which would only find it held, every second.
constexpr char kNotHeld[] =
    "NOT EXISTS (SELECT 1 FROM workflows w WHERE w.workspace_id = runs.workspace_id AND "
    "w.id = runs.workflow_id AND w.safety IS NOT NULL)";

}  // namespace

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
  // The others take these runs at their next beat instead of after the lease.
  sql::Exec(*db_, "UPDATE runs SET owner = '', version = version + 1 WHERE owner = ?",
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
  if (!s.ok()) {
    return s;
  }
  // Takes the runnable runs nobody owns or whose owner's heartbeat lapsed, a batch at a
  // time; SKIP LOCKED lets two instances' beats take disjoint sets. The version bump
  // fences the lapsed owner: its commits in flight lose their compare-and-set.
  Result<std::vector<std::string>> taken = sql::QueryAll<std::string>(
      *db_,
      "UPDATE runs SET owner = ?1, version = version + 1 WHERE id IN (SELECT id FROM runs "
      "WHERE status IN ('running', 'pending') AND owner <> ?1 AND (owner = '' OR owner NOT IN "
      "(SELECT id FROM instances WHERE heartbeat_at >= ?2)) AND " +
          std::string(kNotHeld) +
          " ORDER BY id LIMIT 500 FOR UPDATE OF runs SKIP LOCKED) RETURNING id",
      [&](Statement& q) { q.Bind(1, options_.id).Bind(2, now - options_.lease_ms); },
      [](const Statement& r) { return r.Text(0); });
  if (!taken.ok()) {
    return taken.status();
  }
  // With its own: a restart with the same id, or a driver that let go of a run after
  // a failed commit.
  Result<std::vector<std::string>> own = sql::QueryAll<std::string>(
      *db_,
      "SELECT id FROM runs WHERE owner = ? AND status IN ('running', 'pending') AND " +
          std::string(kNotHeld),
      [&](Statement& q) { q.Bind(1, options_.id); }, [](const Statement& r) { return r.Text(0); });
  if (!own.ok()) {
    return own.status();
  }
  if (!taken->empty()) {
    spdlog::info("event=instance.take_over runs={}", taken->size());
  }
  own->insert(own->end(), taken->begin(), taken->end());
  return own;
}

void PgInstance::BeatLoop() {
  std::unique_lock lock(beat_mu_);
  while (!stopping_) {
    lock.unlock();
    Result<std::vector<std::string>> runs = Beat();
    if (!runs.ok()) {
      spdlog::warn("event=instance.beat_failed error={}", runs.status().message());
    } else {
      take_over_(*runs);
    }
    lock.lock();
    beat_cv_.wait_for(lock, std::chrono::milliseconds(options_.beat_ms),
                      [this] { return stopping_; });
  }
}

}  // namespace sw
