#include "engine/connection_tokens.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <future>

#include "core/thread_name.h"
#include "engine/system_audit.h"

namespace sw {

namespace {

using nlohmann::json;

constexpr int64_t kExpiryMarginMs = 60 * 1000;
constexpr int64_t kFirstBackoffMs = 1000;
constexpr int64_t kMaxBackoffMs = 5 * 60 * 1000;
// The longest wall-clock wait between two looks at the back-offs (the fake clock may
// move meanwhile without a Poke).
constexpr auto kLookEvery = std::chrono::milliseconds(250);

std::string KeyOf(const std::string& workspace_id, const std::string& name) {
  return workspace_id + '\n' + name;
}

int64_t Backoff(int failures) {
  int64_t delay = kFirstBackoffMs;
  for (int i = 1; i < failures && delay < kMaxBackoffMs; ++i) {
    delay *= 2;
  }
  return std::min(delay, kMaxBackoffMs);
}

std::string TitleCase(const std::string& app) {
  std::string out = app.empty() ? "A connection" : app;
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace

Status ConnectionNeedsReauth(const std::string& connection_id) {
  return Status(
      StatusCode::kFailedPrecondition, kNeedsReauthMessage,
      ErrorDetail{.reason = std::string(kNeedsReauthCode), .connection_id = connection_id});
}

ConnectionTokens::ConnectionTokens(Store& store, const Clock& clock, HttpClient& http,
                                   IdSource& ids)
    : store_(store), clock_(clock), http_(http), ids_(ids), thread_([this] {
        NameThisThread("sw-tokens");
        Loop();
      }) {}

ConnectionTokens::~ConnectionTokens() { Stop(); }

void ConnectionTokens::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  shutdown_->Fire(CancelReason::kShutdown);
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::seconds(10), [&] { return requests_out_ == 0; });
}

void ConnectionTokens::Poke() { cv_.notify_all(); }

void ConnectionTokens::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return;
    }
    tasks_.push_back(std::move(task));
  }
  cv_.notify_all();
}

bool ConnectionTokens::Fresh(const std::string& token, int64_t expires_at,
                             const std::string& refused) const {
  return !token.empty() && token != refused &&
         (expires_at == 0 || expires_at - clock_.NowMs() > kExpiryMarginMs);
}

void ConnectionTokens::Get(const std::string& workspace_id, const std::string& name,
                           const std::string& refused, std::shared_ptr<CancellationToken> cancel,
                           Done done) {
  const std::string key = KeyOf(workspace_id, name);
  uint64_t waiter_id = 0;
  {
    std::unique_lock lock(mu_);
    Entry& e = entries_[key];
    e.workspace_id = workspace_id;
    e.name = name;
    if (e.cached && !e.in_flight && Fresh(e.token, e.expires_at, refused)) {
      AccessToken token{e.connection_id, e.token};
      lock.unlock();
      done(std::move(token));
      return;
    }
    if (!refused.empty()) {
      e.refused = refused;
    }
    waiter_id = next_waiter_++;
    e.waiters.push_back(Waiter{waiter_id, std::move(done), false});
    StartFlightLocked(key, e);
  }
  if (cancel != nullptr) {
    cancel->OnFire([this, key, waiter_id] {
      Done cancelled;
      {
        std::lock_guard lock(mu_);
        auto it = entries_.find(key);
        if (it == entries_.end()) {
          return;
        }
        auto& waiters = it->second.waiters;
        auto w = std::find_if(waiters.begin(), waiters.end(),
                              [&](const Waiter& x) { return x.id == waiter_id; });
        if (w == waiters.end()) {
          return;  // answered already
        }
        cancelled = std::move(w->done);
        waiters.erase(w);
      }
      cancelled(Status(StatusCode::kCancelled, "the step was stopped", "cancelled"));
    });
  }
}

void ConnectionTokens::StartFlightLocked(const std::string& key, Entry& e) {
  if (e.in_flight || e.retry_at != 0 || stopping_) {
    return;  // the flight on, or the back-off's end, answers this waiter too
  }
  e.in_flight = true;
  tasks_.push_back([this, key] { Fly(key); });
  cv_.notify_all();
}

Result<ConnectionRecord> ConnectionTokens::RefreshNow(const ConnectionRecord& connection,
                                                      AuditEntry audit) {
  if (connection.status == ConnectionStatus::kError) {
    return ConnectionNeedsReauth(connection.id);
  }
  auto answered = std::make_shared<std::promise<Result<AccessToken>>>();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return Status(StatusCode::kUnavailable, "the server is stopping");
    }
    const std::string key = KeyOf(connection.workspace_id, connection.name);
    Entry& e = entries_[key];
    e.workspace_id = connection.workspace_id;
    e.name = connection.name;
    e.force = true;
    e.audit = std::move(audit);
    e.retry_at = 0;  // asked for now: the back-off gives way
    e.waiters.push_back(Waiter{next_waiter_++,
                               [answered](Result<AccessToken> r) { answered->set_value(r); },
                               /*first_outcome_only=*/true});
    StartFlightLocked(key, e);
  }
  Result<AccessToken> r = answered->get_future().get();
  if (!r.ok()) {
    return r.status();
  }
  return store_.GetConnection(connection.id);
}

void ConnectionTokens::Forget(const std::string& connection_id) {
  std::lock_guard lock(mu_);
  for (auto& [key, e] : entries_) {
    if (e.connection_id != connection_id) {
      continue;
    }
    e.cached = false;
    e.failures = 0;
    if (e.retry_at != 0) {
      e.retry_at = 0;
      StartFlightLocked(key, e);
    }
  }
}

void ConnectionTokens::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    // Back-offs that ended start their flight again.
    const int64_t now = clock_.NowMs();
    bool started = false;
    for (auto& [key, e] : entries_) {
      if (e.retry_at != 0 && e.retry_at <= now && !e.in_flight) {
        e.retry_at = 0;
        StartFlightLocked(key, e);
        started = true;
      }
    }
    if (!started) {
      cv_.wait_for(lock, kLookEvery);
    }
  }
}

void ConnectionTokens::Fly(const std::string& key) {
  std::string workspace_id, name, refused;
  bool force = false;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[key];
    workspace_id = e.workspace_id;
    name = e.name;
    refused = std::exchange(e.refused, "");
    force = std::exchange(e.force, false);
  }
  Result<ConnectionRecord> c = store_.FindConnectionByName(workspace_id, name);
  if (!c.ok()) {
    Status s = c.status();
    if (s.code() == StatusCode::kNotFound) {
      s = Status(StatusCode::kNotFound,
                 "connection '" + name + "' does not exist in this workspace",
                 "connection_not_found");
    }
    Resolve(key, s);
    return;
  }
  {
    std::lock_guard lock(mu_);
    entries_[key].connection_id = c->id;
  }
  if (c->status == ConnectionStatus::kError) {
    Resolve(key, ConnectionNeedsReauth(c->id));
    return;
  }
  if (!force && Fresh(c->oauth2.access_token, c->oauth2.expires_at, refused)) {
    {
      std::lock_guard lock(mu_);
      Entry& e = entries_[key];
      e.cached = true;
      e.token = c->oauth2.access_token;
      e.expires_at = c->oauth2.expires_at;
    }
    Resolve(key, AccessToken{c->id, c->oauth2.access_token});
    return;
  }
  auto used = std::make_shared<ConnectionRecord>(std::move(c).value());
  {
    std::lock_guard lock(mu_);
    ++requests_out_;
  }
  RequestRefresh(http_, used->oauth2, clock_.NowMs(), shutdown_,
                 [this, key, used](Result<TokenGrant> grant) {
                   auto shared = std::make_shared<Result<TokenGrant>>(std::move(grant));
                   Post([this, key, used, shared] { Landed(key, *used, std::move(*shared)); });
                   std::lock_guard lock(mu_);
                   --requests_out_;
                   cv_.notify_all();
                 });
}

void ConnectionTokens::Landed(const std::string& key, const ConnectionRecord& used,
                              Result<TokenGrant> grant) {
  if (grant.ok()) {
    ConnectionWrite w;
    w.connection = used;
    w.expected_version = used.version;
    w.connection.oauth2.access_token = grant->access_token;
    w.connection.oauth2.expires_at = grant->expires_at;
    if (!grant->refresh_token.empty()) {
      w.connection.oauth2.refresh_token = grant->refresh_token;
    }
    w.connection.updated_at = clock_.NowMs();
    {
      std::lock_guard lock(mu_);
      w.audit = std::exchange(entries_[key].audit, std::nullopt);
    }
    Result<ConnectionRecord> stored = store_.UpdateConnection(w);
    if (stored.status().code() == StatusCode::kAborted) {
      Fly(key);  // reconnected meanwhile: start over from what is stored now
      return;
    }
    if (!stored.ok()) {
      Resolve(key, stored.status());
      return;
    }
    {
      std::lock_guard lock(mu_);
      Entry& e = entries_[key];
      e.cached = true;
      e.token = grant->access_token;
      e.expires_at = grant->expires_at;
      e.failures = 0;
    }
    Resolve(key, AccessToken{used.id, grant->access_token});
    return;
  }
  switch (grant.status().code()) {
    case StatusCode::kFailedPrecondition: {
      Status marked = MarkError(used, grant.status().message());
      if (marked.code() == StatusCode::kAborted) {
        Fly(key);
        return;
      }
      if (!marked.ok()) {
        spdlog::error("connection {}: cannot record its error: {}", used.id, marked.message());
      }
      Resolve(key, ConnectionNeedsReauth(used.id));
      return;
    }
    default: {
      int failures = 0;
      {
        std::lock_guard lock(mu_);
        Entry& e = entries_[key];
        failures = ++e.failures;
        e.retry_at = clock_.NowMs() + Backoff(failures);
      }
      spdlog::warn("connection {}: refresh failed ({}), trying again in {} ms", used.id,
                   grant.status().message(), Backoff(failures));
      Resolve(key, Status(StatusCode::kUnavailable, grant.status().message(), kRefreshFailedCode),
              /*transient=*/true);
      return;
    }
  }
}

Status ConnectionTokens::MarkError(const ConnectionRecord& used, const std::string& message) {
  const int64_t now = clock_.NowMs();
  ConnectionWrite w;
  w.connection = used;
  w.expected_version = used.version;
  w.connection.status = ConnectionStatus::kError;
  w.connection.error_message = message;
  w.connection.error_at = now;
  w.connection.updated_at = now;
  w.audit = SystemAudit(ids_, used.workspace_id, now, "connection.error", used.id, message,
                        std::string(ToString(used.status)),
                        std::string(ToString(ConnectionStatus::kError)));
  Result<WorkspaceRecord> ws = store_.FindWorkspace(used.workspace_id);
  NotificationRecord n;
  n.id = ids_.Next("ntf");
  n.workspace_id = used.workspace_id;
  n.kind = "connection_error";
  n.title = TitleCase(used.app) + " reauth required";
  n.body = "Connection " + used.name + " cannot be refreshed (" + message +
           "). Runs that use it are held until it is reconnected.";
  n.link = "/" + (ws.ok() ? ws->slug : std::string()) + "/connections/" + used.id;
  n.subject = {{"connection_id", used.id}};
  n.created_at = now;
  w.notify.push_back(std::move(n));
  spdlog::warn("connection {} ({}): cannot be refreshed: {}", used.id, used.name, message);
  return store_.UpdateConnection(w).status();
}

void ConnectionTokens::Resolve(const std::string& key, const Result<AccessToken>& r,
                               bool transient) {
  std::vector<Waiter> answered;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[key];
    e.in_flight = false;
    if (transient) {
      auto keep = std::stable_partition(e.waiters.begin(), e.waiters.end(),
                                        [](const Waiter& w) { return !w.first_outcome_only; });
      answered.assign(std::make_move_iterator(keep), std::make_move_iterator(e.waiters.end()));
      e.waiters.erase(keep, e.waiters.end());
      if (e.waiters.empty()) {
        e.retry_at = 0;  // nobody waits: the next Get starts afresh
        e.failures = 0;
      }
    } else {
      answered.swap(e.waiters);
      if (!r.ok()) {
        e.cached = false;
      }
    }
  }
  for (Waiter& w : answered) {
    w.done(r);
  }
}

}  // namespace sw
