#include "store/postgres/pg_notifier.h"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <map>

#include "store/postgres/db.h"
#include "store/sql/query.h"

namespace sw {

namespace {

constexpr char kChannel[] = "stepwell";
// Below PostgreSQL's 8,000-byte payload limit, with room for the header.
constexpr size_t kMaxPayload = 7800;
constexpr char kSeparator = '\x1f';  // between keys: in no run id or queue name

// A payload: "<instance>\x1f<topic>\x1f<key>\x1f<key>…".
std::string Header(const std::string& instance_id, Notifier::Topic topic) {
  return instance_id + kSeparator + std::to_string(static_cast<int>(topic));
}

std::vector<std::string> Split(std::string_view payload) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= payload.size()) {
    size_t end = payload.find(kSeparator, start);
    if (end == std::string_view::npos) {
      end = payload.size();
    }
    parts.emplace_back(payload.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// A signal is not a record (whoever misses one finds the change in the store), so the
// sender's commits do not wait for the WAL to reach the disk: a cancel reaches the
// instance driving the run one fsync sooner.
Result<std::unique_ptr<postgres::PgConnection>> OpenSender(const std::string& url) {
  return postgres::PgConnection::Open(url, "-c synchronous_commit=off");
}

}  // namespace

Result<std::unique_ptr<PgNotifier>> PgNotifier::Start(const std::string& url,
                                                      const std::string& instance_id) {
  // Fail at start, not in a thread later, when the database cannot be reached.
  Result<std::unique_ptr<postgres::PgConnection>> db = OpenSender(url);
  if (!db.ok()) {
    return db.status();
  }
  auto notifier = std::unique_ptr<PgNotifier>(new PgNotifier(url, instance_id));
  notifier->sender_ = std::thread(
      [n = notifier.get(), db = std::move(db).value()]() mutable { n->SendLoop(std::move(db)); });
  notifier->listener_ = std::thread([n = notifier.get()] { n->ListenLoop(); });
  return notifier;
}

PgNotifier::PgNotifier(std::string url, std::string instance_id)
    : url_(std::move(url)), instance_id_(std::move(instance_id)) {}

PgNotifier::~PgNotifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  sender_.join();
  listener_.join();
}

void PgNotifier::Publish(Topic topic, const std::vector<std::string>& keys) {
  local_.Publish(topic, keys);
  {
    std::lock_guard lock(mu_);
    for (const std::string& key : keys) {
      outgoing_.emplace_back(topic, key);
    }
  }
  cv_.notify_one();
}

void PgNotifier::SendLoop(std::unique_ptr<postgres::PgConnection> db) {
  std::vector<std::pair<Topic, std::string>> batch;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !outgoing_.empty(); });
    if (stopping_) {
      return;
    }
    batch.swap(outgoing_);
    lock.unlock();
    if (db == nullptr) {
      Result<std::unique_ptr<postgres::PgConnection>> opened = OpenSender(url_);
      if (opened.ok()) {
        db = std::move(opened).value();
      }
    }
    // One payload per topic, split where it would grow past the limit.
    std::map<Topic, std::vector<std::string>> payloads;
    for (const auto& [topic, key] : batch) {
      std::vector<std::string>& out = payloads[topic];
      if (out.empty() || out.back().size() + key.size() + 1 > kMaxPayload) {
        out.push_back(Header(instance_id_, topic));
      }
      out.back() += kSeparator + key;
    }
    batch.clear();
    for (const auto& [topic, list] : payloads) {
      for (const std::string& payload : list) {
        Status sent = db == nullptr
                          ? Status(StatusCode::kUnavailable, "no connection")
                          : sql::Exec(*db, "SELECT pg_notify(?, ?)", [&](sql::Statement& q) {
                              q.Bind(1, kChannel).Bind(2, payload);
                            });
        if (!sent.ok()) {
          spdlog::warn("event=notify.failed error={}", sent.message());
        }
      }
    }
    lock.lock();
  }
}

void PgNotifier::ListenLoop() {
  PGconn* conn = nullptr;
  auto stopping = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  while (!stopping()) {
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
      PQfinish(conn);
      conn = PQconnectdb(url_.c_str());
      PGresult* listened =
          PQstatus(conn) == CONNECTION_OK ? PQexec(conn, "LISTEN stepwell") : nullptr;
      const bool ok = listened != nullptr && PQresultStatus(listened) == PGRES_COMMAND_OK;
      PQclear(listened);
      if (!ok) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
        continue;
      }
    }
    pollfd fd{PQsocket(conn), POLLIN, 0};
    if (::poll(&fd, 1, 200) <= 0) {
      continue;  // look at stopping_ now and then
    }
    if (PQconsumeInput(conn) == 0) {
      continue;  // the connection broke: made again above
    }
    while (PGnotify* n = PQnotifies(conn)) {
      std::vector<std::string> parts = Split(n->extra);
      PQfreemem(n);
      if (parts.size() < 3 || parts[0] == instance_id_) {
        continue;  // our own signal, heard back
      }
      const auto topic = static_cast<Topic>(std::atoi(parts[1].c_str()));
      const std::vector<std::string> keys(parts.begin() + 2, parts.end());
      local_.Publish(topic, keys);
      std::lock_guard remote_lock(remote_mu_);
      if (remote_) {
        remote_(topic, keys);
      }
    }
  }
  PQfinish(conn);
}

}  // namespace sw
