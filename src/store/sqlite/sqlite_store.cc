#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "store/sqlite/schema.h"

namespace sw {

using nlohmann::json;
using sqlite::Connection;
using sqlite::Statement;

namespace {

constexpr char kRunColumns[] =
    "id, workspace_id, workflow_id, workflow_version, status, version, paused_from, pause, "
    "wait, cancel, input, output, error, trigger, replay_of, created_at, started_at, "
    "updated_at, finished_at, parent_run_id, parent_path";

constexpr char kTaskColumns[] =
    "id, workspace_id, run_id, path, step_id, queue, input, attempt, status, agent_id, "
    "available_at, lease_expires_at, created_at, updated_at";

RunRecord ReadRun(const Statement& s) {
  RunRecord r;
  r.id = s.Text(0);
  r.workspace_id = s.Text(1);
  r.workflow_id = s.Text(2);
  r.workflow_version = static_cast<int>(s.Int(3));
  r.status = ParseRunStatus(s.Text(4)).value_or(RunStatus::kFailed);
  r.version = s.Int(5);
  r.paused_from = ParseRunStatus(s.Text(6)).value_or(RunStatus::kPending);
  r.pause = s.Json(7);
  r.wait = s.Json(8);
  r.cancel = s.Json(9);
  r.input = s.Json(10);
  r.output = s.Json(11);
  r.error = s.Json(12);
  r.trigger = s.Json(13);
  r.replay_of = s.Text(14);
  r.created_at = s.Int(15);
  r.started_at = s.Int(16);
  r.updated_at = s.Int(17);
  r.finished_at = s.Int(18);
  r.parent_run_id = s.Text(19);
  r.parent_path = s.Text(20);
  return r;
}

AgentTaskRecord ReadTask(const Statement& s) {
  AgentTaskRecord t;
  t.id = s.Text(0);
  t.workspace_id = s.Text(1);
  t.run_id = s.Text(2);
  t.path = s.Text(3);
  t.step_id = s.Text(4);
  t.queue = s.Text(5);
  t.input = s.Json(6);
  t.attempt = static_cast<int>(s.Int(7));
  t.status = s.Text(8);
  t.agent_id = s.Text(9);
  t.available_at = s.Int(10);
  t.lease_expires_at = s.Int(11);
  t.created_at = s.Int(12);
  t.updated_at = s.Int(13);
  return t;
}

StepRecord ReadStep(const Statement& s) {
  StepRecord st;
  st.seq = s.Int(0);
  st.path = s.Text(1);
  st.step_id = s.Text(2);
  st.type = s.Text(3);
  st.status = ParseStepStatus(s.Text(4)).value_or(StepStatus::kPending);
  st.attempt = static_cast<int>(s.Int(5));
  st.started_at = s.Int(6);
  st.finished_at = s.Int(7);
  st.output = s.Json(8);
  st.error = s.Json(9);
  st.result_discarded = s.Int(10) != 0;
  st.detail = s.Json(11);
  return st;
}

WorkflowRecord ReadWorkflow(const Statement& s) {
  WorkflowRecord w;
  w.workspace_id = s.Text(0);
  w.id = s.Text(1);
  w.kind = s.Text(2);
  w.mode = s.Text(3);
  w.status = s.Text(4);
  w.version = static_cast<int>(s.Int(5));
  w.created_at = s.Int(6);
  w.updated_at = s.Int(7);
  return w;
}

TokenRecord ReadToken(const Statement& s) {
  TokenRecord t;
  t.id = s.Text(0);
  t.workspace_id = s.Text(1);
  t.name = s.Text(2);
  t.role = ParseRole(s.Text(3)).value_or(Role::kViewer);
  t.hash = s.Text(4);
  t.created_at = s.Int(5);
  t.revoked_at = s.Int(6);
  return t;
}

AuditEntry ReadAudit(const Statement& s) {
  AuditEntry a;
  a.id = s.Text(0);
  a.workspace_id = s.Text(1);
  a.at = s.Int(2);
  a.actor = s.Text(3);
  a.action = s.Text(4);
  a.target = s.Text(5);
  a.reason = s.Text(6);
  a.request_id = s.Text(7);
  a.status_before = s.Text(8);
  a.status_after = s.Text(9);
  return a;
}

Status InsertAudit(Connection& db, const AuditEntry& a) {
  Result<Statement*> st = db.Prepare(
      "INSERT INTO audit(id, workspace_id, at, actor, action, target, reason, request_id, "
      "status_before, status_after) VALUES(?,?,?,?,?,?,?,?,?,?)");
  if (!st.ok()) {
    return st.status();
  }
  (*st)->Bind(1, a.id).Bind(2, a.workspace_id).Bind(3, a.at).Bind(4, a.actor).Bind(5, a.action);
  (*st)->Bind(6, a.target).Bind(7, a.reason).Bind(8, a.request_id).Bind(9, a.status_before);
  (*st)->Bind(10, a.status_after);
  return (*st)->Run();
}

// Runs a query and maps every row with `read`.
template <typename T, typename Binder, typename Reader>
Result<std::vector<T>> QueryAll(Connection& db, const std::string& sql, Binder bind, Reader read) {
  Result<Statement*> st = db.Prepare(sql);
  if (!st.ok()) {
    return st.status();
  }
  bind(**st);
  std::vector<T> rows;
  while (true) {
    Result<bool> row = (*st)->Step();
    if (!row.ok()) {
      return row.status();
    }
    if (!*row) {
      break;
    }
    rows.push_back(read(**st));
  }
  (*st)->Reset();
  return rows;
}

template <typename T, typename Binder, typename Reader>
Result<T> QueryOne(Connection& db, const std::string& sql, Binder bind, Reader read,
                   const std::string& not_found) {
  Result<std::vector<T>> rows = QueryAll<T>(db, sql, bind, read);
  if (!rows.ok()) {
    return rows.status();
  }
  if (rows->empty()) {
    return NotFound(not_found);
  }
  return std::move(rows->front());
}

Status UpsertStep(Connection& db, const std::string& run_id, const StepRecord& s) {
  Result<Statement*> st = db.Prepare(
      "INSERT INTO steps(run_id, seq, path, step_id, type, status, attempt, started_at, "
      "finished_at, output, error, result_discarded, detail) VALUES(?, (SELECT "
      "COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = ?1), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(run_id, path) DO UPDATE SET status = excluded.status, attempt = CASE WHEN "
      "excluded.attempt = 0 THEN steps.attempt ELSE excluded.attempt END, started_at = CASE WHEN "
      "excluded.started_at = 0 THEN steps.started_at ELSE excluded.started_at END, finished_at = "
      "excluded.finished_at, "
      "output = excluded.output, error = excluded.error, result_discarded = "
      "excluded.result_discarded, detail = COALESCE(excluded.detail, steps.detail)");
  if (!st.ok()) {
    return st.status();
  }
  Statement& q = **st;
  q.Bind(1, run_id).Bind(2, s.path).Bind(3, s.step_id).Bind(4, s.type);
  q.Bind(5, ToString(s.status)).Bind(6, s.attempt).Bind(7, s.started_at).Bind(8, s.finished_at);
  q.BindJson(9, s.output).BindJson(10, s.error).Bind(11, s.result_discarded ? 1 : 0);
  q.BindJson(12, s.detail);
  return q.Run();
}

std::string JsonField(const json& v, const char* key) {
  if (v.is_object() && v.contains(key) && v[key].is_string()) {
    return v[key].get<std::string>();
  }
  return "";
}

Status InsertRun(Connection& db, const RunRecord& r);

// Runs `sql` with `bind`; one statement, no rows expected.
template <typename Binder>
Status Exec(Connection& db, const std::string& sql, Binder bind) {
  Result<Statement*> st = db.Prepare(sql);
  if (!st.ok()) {
    return st.status();
  }
  bind(**st);
  return (*st)->Run();
}

Status InsertTask(Connection& db, const AgentTaskRecord& t) {
  return Exec(db,
              std::string("INSERT INTO agent_tasks(") + kTaskColumns +
                  ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
              [&](Statement& q) {
                q.Bind(1, t.id).Bind(2, t.workspace_id).Bind(3, t.run_id).Bind(4, t.path);
                q.Bind(5, t.step_id).Bind(6, t.queue).BindJson(7, t.input).Bind(8, t.attempt);
                q.Bind(9, t.status).Bind(10, t.agent_id).Bind(11, t.available_at);
                q.Bind(12, t.lease_expires_at).Bind(13, t.created_at).Bind(14, t.updated_at);
              });
}

Status UpdateTask(Connection& db, const AgentTaskUpdate& u, int64_t now) {
  std::string sql =
      "UPDATE agent_tasks SET status = ?1, updated_at = ?2, agent_id = CASE WHEN ?1 = 'queued' "
      "THEN '' ELSE agent_id END, lease_expires_at = CASE WHEN ?1 = 'queued' THEN 0 ELSE "
      "lease_expires_at END";
  if (u.attempt > 0) sql += ", attempt = ?3";
  if (u.available_at >= 0) sql += ", available_at = ?4";
  sql += " WHERE id = ?5 AND status = ?6";
  if (u.expect_lease_before > 0) sql += " AND lease_expires_at < ?7";
  Status s = Exec(db, sql, [&](Statement& q) {
    q.Bind(1, u.status).Bind(2, now);
    if (u.attempt > 0) q.Bind(3, u.attempt);
    if (u.available_at >= 0) q.Bind(4, u.available_at);
    q.Bind(5, u.task_id).Bind(6, u.expect_status);
    if (u.expect_lease_before > 0) q.Bind(7, u.expect_lease_before);
  });
  if (s.ok() && db.Changes() == 0) {
    return Status(StatusCode::kAborted, "the agent task changed meanwhile", "state_changed");
  }
  return s;
}

Status ApplyTransition(Connection& db, const RunTransition& t) {
  Result<Statement*> read = db.Prepare("SELECT status, version FROM runs WHERE id = ?");
  if (!read.ok()) {
    return read.status();
  }
  (*read)->Bind(1, t.run_id);
  Result<bool> row = (*read)->Step();
  if (!row.ok()) {
    return row.status();
  }
  if (!*row) {
    return NotFound("run " + t.run_id + " not found");
  }
  const std::string status = (*read)->Text(0);
  const int64_t version = (*read)->Int(1);
  (*read)->Reset();
  if (version != t.expected_version ||
      (t.expected_status && ToString(*t.expected_status) != status)) {
    return Status(StatusCode::kAborted, "State changed; please refresh", "state_changed",
                  json{{"current_status", status}, {"version", version}});
  }
  std::string sql = "UPDATE runs SET version = version + 1, updated_at = ?1";
  if (t.next_status) sql += ", status = ?2";
  if (t.paused_from) sql += ", paused_from = ?3";
  if (t.pause) sql += ", pause = ?4, pause_reason = ?5";
  if (t.wait) sql += ", wait = ?6, wait_kind = ?7";
  if (t.cancel) sql += ", cancel = ?8";
  if (t.output) sql += ", output = ?9";
  if (t.error) sql += ", error = ?10";
  if (t.started_at) sql += ", started_at = ?11";
  if (t.finished_at) sql += ", finished_at = ?12";
  sql += " WHERE id = ?13 AND version = ?14";
  Result<Statement*> up = db.Prepare(sql);
  if (!up.ok()) {
    return up.status();
  }
  Statement& q = **up;
  q.Bind(1, t.now);
  if (t.next_status) q.Bind(2, ToString(*t.next_status));
  if (t.paused_from) q.Bind(3, ToString(*t.paused_from));
  if (t.pause) q.BindJson(4, *t.pause).Bind(5, JsonField(*t.pause, "reason"));
  if (t.wait) q.BindJson(6, *t.wait).Bind(7, JsonField(*t.wait, "kind"));
  if (t.cancel) q.BindJson(8, *t.cancel);
  if (t.output) q.BindJson(9, *t.output);
  if (t.error) q.BindJson(10, *t.error);
  if (t.started_at) q.Bind(11, *t.started_at);
  if (t.finished_at) q.Bind(12, *t.finished_at);
  q.Bind(13, t.run_id).Bind(14, t.expected_version);
  if (Status s = q.Run(); !s.ok()) {
    return s;
  }
  if (t.cancel_steps_in_flight) {
    Result<Statement*> st = db.Prepare(
        "UPDATE steps SET status = 'cancelled', error = ?1, finished_at = ?2 WHERE run_id = ?3 "
        "AND status IN ('running', 'waiting')");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->BindJson(1, json{{"message", *t.cancel_steps_in_flight}});
    (*st)->Bind(2, t.now).Bind(3, t.run_id);
    if (Status s = (*st)->Run(); !s.ok()) {
      return s;
    }
  }
  for (const StepRecord& step : t.upsert_steps) {
    if (Status s = UpsertStep(db, t.run_id, step); !s.ok()) {
      return s;
    }
  }
  if (t.discard_step_result) {
    Result<Statement*> st =
        db.Prepare("UPDATE steps SET result_discarded = 1 WHERE run_id = ? AND path = ?");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, t.run_id).Bind(2, *t.discard_step_result);
    if (Status s = (*st)->Run(); !s.ok()) {
      return s;
    }
  }
  if (t.update_task) {
    if (Status s = UpdateTask(db, *t.update_task, t.now); !s.ok()) {
      return s;
    }
  }
  const bool ends = t.next_status && IsTerminal(*t.next_status);
  if (t.clear_timers || ends) {
    // A run that ends needs no timer; one that goes on keeps its run timeout.
    Status s = Exec(db,
                    ends ? "DELETE FROM timers WHERE run_id = ?"
                         : "DELETE FROM timers WHERE run_id = ? AND kind != 'run_timeout'",
                    [&](Statement& q) { q.Bind(1, t.run_id); });
    if (!s.ok()) {
      return s;
    }
  }
  if (ends) {
    // A child run that ends wakes its parent (through a timer due now), in the same
    // commit, so a crash cannot lose the wake-up.
    Status s = Exec(db,
                    "INSERT OR REPLACE INTO timers(run_id, kind, path, due_at) SELECT "
                    "parent_run_id, 'child', parent_path, ? FROM runs WHERE id = ? AND "
                    "parent_run_id != ''",
                    [&](Statement& q) { q.Bind(1, t.now).Bind(2, t.run_id); });
    if (!s.ok()) {
      return s;
    }
  }
  if (ends) {
    // Its agent tasks are closed, so a late completion is discarded.
    Status s = Exec(db,
                    "UPDATE agent_tasks SET status = 'cancelled', updated_at = ? WHERE run_id = ? "
                    "AND status IN ('queued', 'claimed')",
                    [&](Statement& q) { q.Bind(1, t.now).Bind(2, t.run_id); });
    if (!s.ok()) {
      return s;
    }
  }
  for (const TimerRecord& timer : t.add_timers) {
    Status s =
        Exec(db, "INSERT OR REPLACE INTO timers(run_id, kind, path, due_at) VALUES(?, ?, ?, ?)",
             [&](Statement& q) {
               q.Bind(1, timer.run_id.empty() ? t.run_id : timer.run_id).Bind(2, timer.kind);
               q.Bind(3, timer.path).Bind(4, timer.due_at);
             });
    if (!s.ok()) {
      return s;
    }
  }
  if (t.create_run) {
    if (Status s = InsertRun(db, *t.create_run); !s.ok()) {
      return s;
    }
  }
  if (t.enqueue_task) {
    if (Status s = InsertTask(db, *t.enqueue_task); !s.ok()) {
      return s;
    }
  }
  if (t.consume_event_id) {
    Result<Statement*> st = db.Prepare("DELETE FROM events WHERE id = ?");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, *t.consume_event_id);
    if (Status s = (*st)->Run(); !s.ok()) {
      return s;
    }
  }
  if (t.audit) {
    return InsertAudit(db, *t.audit);
  }
  return Status::Ok();
}

}  // namespace

std::string_view ToString(Role r) {
  switch (r) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    case Role::kAgent:
      return "agent";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view s) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin, Role::kAgent}) {
    if (ToString(r) == s) {
      return r;
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Status(StatusCode::kUnavailable, "cannot create " + data_dir + ": " + ec.message());
  }
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(data_dir + "/stepwell.db"));
  if (Status s = store->Init(); !s.ok()) {
    return s;
  }
  return store;
}

namespace {

// The WAL's working size: it is checkpointed (and written from its start again) at
// about 4,000 pages.
constexpr size_t kWalPresize = 20 << 20;

// A WAL that grows makes each commit's fsync also commit the file's new size (an ext4
// journal write); overwriting blocks already written does not, and is ~30% faster here.
// So the WAL is extended to its working size with written zeros once the database is in
// WAL mode: SQLite writes frames at offsets it computes and ignores whatever follows
// the last valid commit, and it never shrinks the file (journal_size_limit is -1).
void PresizeWal(const std::string& wal_path) {
  const int fd = ::open(wal_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const std::string zeros(1 << 20, '\0');
  for (off_t at = size; size >= 0 && at < static_cast<off_t>(kWalPresize);) {
    const size_t n = std::min(zeros.size(), kWalPresize - static_cast<size_t>(at));
    if (::pwrite(fd, zeros.data(), n, at) != static_cast<ssize_t>(n)) {
      break;
    }
    at += static_cast<off_t>(n);
  }
  ::fdatasync(fd);
  ::close(fd);
}

}  // namespace

Status SqliteStore::Init() {
  Result<std::unique_ptr<Connection>> conn = Connection::Open(path_, /*read_only=*/false);
  if (!conn.ok()) {
    return conn.status();
  }
  writer_conn_ = std::move(conn).value();
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA wal_autocheckpoint=4000",
        "PRAGMA temp_store=MEMORY", "PRAGMA cache_size=-65536"}) {
    if (Status s = writer_conn_->Exec(pragma); !s.ok()) {
      return s;
    }
  }
  if (Status s = sqlite::Migrate(*writer_conn_); !s.ok()) {
    return s;
  }
  PresizeWal(path_ + "-wal");  // nothing else writes yet
  for (size_t i = 0; i < kReaders; ++i) {
    Result<std::unique_ptr<Connection>> reader = Connection::Open(path_, /*read_only=*/true);
    if (!reader.ok()) {
      return reader.status();
    }
    (*reader)->Exec("PRAGMA cache_size=-16384");
    readers_.push_back(std::move(reader).value());
  }
  writer_ = std::thread([this] { WriterLoop(); });
  return Status::Ok();
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
}

template <typename Fn>
auto SqliteStore::Read(Fn&& fn) -> decltype(fn(std::declval<Connection&>())) {
  std::unique_ptr<Connection> conn;
  {
    std::unique_lock lock(readers_mu_);
    readers_cv_.wait(lock, [&] { return !readers_.empty(); });
    conn = std::move(readers_.back());
    readers_.pop_back();
  }
  auto result = fn(*conn);
  {
    std::lock_guard lock(readers_mu_);
    readers_.push_back(std::move(conn));
  }
  readers_cv_.notify_one();
  return result;
}

namespace {

// The store whose writer thread this is (none elsewhere).
thread_local const SqliteStore* tl_writer_of = nullptr;
// How deep this thread is in callbacks of in-place commits. A change chained from
// there commits in place once more (a start's first step), then goes to the writer
// rather than deeper into this thread's stack.
thread_local int tl_in_place_depth = 0;
constexpr int kMaxInPlaceDepth = 2;

}  // namespace

void SqliteStore::PushLocked(WriteOp op) {
  queue_.push_back(std::move(op));
  // A committer wakes the writer when it lets go; the writer itself looks before it
  // sleeps.
  if (!committing_ && tl_writer_of != this) {
    cv_.notify_all();
  }
}

void SqliteStore::Enqueue(WriteOp op) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      PushLocked(std::move(op));
      return;
    }
  }
  op.done(Status(StatusCode::kUnavailable, "the store is shutting down"));
}

void SqliteStore::Write(WriteOp op) {
  {
    std::unique_lock lock(mu_);
    if (stopping_) {
      lock.unlock();  // `done` may write again
      op.done(Status(StatusCode::kUnavailable, "the store is shutting down"));
      return;
    }
    if (tl_writer_of == this || tl_in_place_depth >= kMaxInPlaceDepth || committing_ ||
        !queue_.empty()) {
      // Busy, or chained from a commit's callback (which would recurse): the writer
      // takes it.
      PushLocked(std::move(op));
      return;
    }
    committing_ = true;
  }
  CommitInPlace(std::move(op));
}

void SqliteStore::CommitInPlace(WriteOp op) {
  std::vector<WriteOp> batch;
  batch.push_back(std::move(op));
  Committed committed = CommitBatch(batch);
  NotifyListener(committed);
  ReleaseWriter();
  ++tl_in_place_depth;
  Complete(batch, committed);
  --tl_in_place_depth;
}

Status SqliteStore::WriteSync(std::function<Status(Connection&, std::vector<std::string>&)> apply) {
  Status out;
  WriteOp op{std::move(apply), [&out](Status s) { out = std::move(s); }};
  {
    std::unique_lock lock(mu_);
    if (stopping_) {
      return Status(StatusCode::kUnavailable, "the store is shutting down");
    }
    // The writer thread (in a commit's callbacks) commits its own change in place: it
    // cannot wait for itself. Another thread does too when nothing is queued or being
    // committed: no hand-off to the writer and back, which costs more than the commit's
    // own work on an idle store.
    const bool on_writer = tl_writer_of == this;
    if (!on_writer && (committing_ || !queue_.empty())) {
      // Completed under a lock of its own: the writer completes a whole batch, and
      // taking the queue's mutex for each would contend with everyone queueing.
      std::mutex done_mu;
      std::condition_variable done_cv;
      bool done = false;
      op.done = [&](Status s) {
        std::lock_guard done_lock(done_mu);
        out = std::move(s);
        done = true;
        done_cv.notify_one();
      };
      PushLocked(std::move(op));
      lock.unlock();
      std::unique_lock done_lock(done_mu);
      done_cv.wait(done_lock, [&] { return done; });
      return out;
    }
    ++waiting_to_commit_;
    cv_.wait(lock, [&] { return !committing_; });
    --waiting_to_commit_;
    committing_ = true;
  }
  CommitInPlace(std::move(op));
  return out;
}

void SqliteStore::ReleaseWriter() {
  bool wanted = false;
  {
    std::lock_guard lock(mu_);
    committing_ = false;
    // Waking the writer for nothing costs a context switch per in-place commit.
    wanted = !queue_.empty() || waiting_to_commit_ > 0;
  }
  if (wanted) {
    cv_.notify_all();
  }
}

void SqliteStore::WriterLoop() {
  tl_writer_of = this;
  std::vector<WriteOp> batch;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock,
               [&] { return (!queue_.empty() && !committing_) || (stopping_ && queue_.empty()); });
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      committing_ = true;
    }
    Committed committed = CommitBatch(batch);
    NotifyListener(committed);
    ReleaseWriter();
    // Callbacks may queue the next changes (an engine chaining a run's steps): they are
    // picked up by the next turn of this loop, batched with whatever else came.
    Complete(batch, committed);
    batch.clear();
  }
}

SqliteStore::Committed SqliteStore::CommitBatch(std::vector<WriteOp>& batch) {
  Committed out;
  out.results.resize(batch.size());
  if (!healthy_.load()) {
    std::fill(out.results.begin(), out.results.end(),
              Status(StatusCode::kUnavailable, "the store failed and stopped writing"));
    return out;
  }
  static const std::string kBegin = "BEGIN IMMEDIATE", kCommit = "COMMIT",
                           kSavepoint = "SAVEPOINT op", kRelease = "RELEASE op",
                           kRollbackTo = "ROLLBACK TO op";
  Connection& db = *writer_conn_;
  Status begin = db.ExecCached(kBegin);
  std::vector<std::string> op_changed;
  for (size_t i = 0; i < batch.size() && begin.ok(); ++i) {
    db.ExecCached(kSavepoint);
    op_changed.clear();
    out.results[i] = batch[i].apply(db, op_changed);
    if (out.results[i].ok()) {
      out.changed.insert(out.changed.end(), op_changed.begin(), op_changed.end());
    } else {
      db.ExecCached(kRollbackTo);
    }
    db.ExecCached(kRelease);
  }
  Status commit = begin.ok() ? db.ExecCached(kCommit) : begin;
  if (!commit.ok()) {
    db.Exec("ROLLBACK");
    healthy_.store(false);
    std::fill(out.results.begin(), out.results.end(),
              Status(StatusCode::kUnavailable, "commit failed: " + commit.message()));
    out.changed.clear();
    return out;
  }
  std::lock_guard lock(stats_mu_);
  stats_.commits++;
  stats_.writes += batch.size();
  stats_.batch_size_sum += batch.size();
  stats_.batch_size_max = std::max<uint64_t>(stats_.batch_size_max, batch.size());
  const size_t bounds[] = {1, 4, 16, 64, 256};
  size_t bucket = 5;
  for (size_t b = 0; b < 5; ++b) {
    if (batch.size() <= bounds[b]) {
      bucket = b;
      break;
    }
  }
  stats_.batch_buckets[bucket]++;
  return out;
}

void SqliteStore::NotifyListener(const Committed& committed) {
  // Before the callbacks: watchers only hand off, and a waiting client should not wait
  // for the work the callbacks chain. Still holding the writer, so listener calls come
  // in commit order.
  if (listener_ && !committed.changed.empty()) {
    listener_(committed.changed);
  }
}

void SqliteStore::Complete(std::vector<WriteOp>& batch, const Committed& committed) {
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(committed.results[i]);
  }
}

Store::Stats SqliteStore::GetStats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

// --- workspaces and tokens ---

Result<WorkspaceRecord> SqliteStore::CreateWorkspace(const WorkspaceRecord& ws) {
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<Statement*> st =
        db.Prepare("INSERT INTO workspaces(id, slug, created_at) VALUES(?, ?, ?)");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, ws.id).Bind(2, ws.slug).Bind(3, ws.created_at);
    Status run = (*st)->Run();
    if (!run.ok() && sqlite3_extended_errcode(db.raw()) == SQLITE_CONSTRAINT_UNIQUE) {
      return Status(StatusCode::kAlreadyExists, "workspace '" + ws.slug + "' already exists",
                    "already_exists");
    }
    return run;
  });
  if (!s.ok()) {
    return s;
  }
  return ws;
}

Result<WorkspaceRecord> SqliteStore::FindWorkspaceBySlug(const std::string& slug) {
  return Read([&](Connection& db) {
    return QueryOne<WorkspaceRecord>(
        db, "SELECT id, slug, created_at FROM workspaces WHERE slug = ?",
        [&](Statement& q) { q.Bind(1, slug); },
        [](const Statement& q) {
          return WorkspaceRecord{q.Text(0), q.Text(1), q.Int(2)};
        },
        "workspace not found");
  });
}

Result<WorkspaceRecord> SqliteStore::FindWorkspace(const std::string& id) {
  return Read([&](Connection& db) {
    return QueryOne<WorkspaceRecord>(
        db, "SELECT id, slug, created_at FROM workspaces WHERE id = ?",
        [&](Statement& q) { q.Bind(1, id); },
        [](const Statement& q) {
          return WorkspaceRecord{q.Text(0), q.Text(1), q.Int(2)};
        },
        "workspace not found");
  });
}

Status SqliteStore::CreateToken(const TokenRecord& t, const std::optional<AuditEntry>& audit) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<Statement*> st = db.Prepare(
        "INSERT INTO tokens(id, workspace_id, name, role, hash, created_at, revoked_at) "
        "VALUES(?, ?, ?, ?, ?, ?, 0)");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, t.id).Bind(2, t.workspace_id).Bind(3, t.name).Bind(4, ToString(t.role));
    (*st)->Bind(5, t.hash).Bind(6, t.created_at);
    if (Status s = (*st)->Run(); !s.ok()) {
      return s;
    }
    return audit ? InsertAudit(db, *audit) : Status::Ok();
  });
}

constexpr char kTokenColumns[] =
    "SELECT id, workspace_id, name, role, hash, created_at, revoked_at FROM tokens ";

Result<TokenRecord> SqliteStore::FindTokenByHash(const std::string& hash) {
  return Read([&](Connection& db) {
    return QueryOne<TokenRecord>(
        db, std::string(kTokenColumns) + "WHERE hash = ? AND revoked_at = 0",
        [&](Statement& q) { q.Bind(1, hash); }, ReadToken, "token not found");
  });
}

Result<std::vector<TokenRecord>> SqliteStore::ListTokens(const std::string& workspace_id) {
  return Read([&](Connection& db) {
    return QueryAll<TokenRecord>(
        db, std::string(kTokenColumns) + "WHERE workspace_id = ? ORDER BY id DESC",
        [&](Statement& q) { q.Bind(1, workspace_id); }, ReadToken);
  });
}

Status SqliteStore::RevokeToken(const std::string& workspace_id, const std::string& token_id,
                                int64_t now, const AuditEntry& audit) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<Statement*> st = db.Prepare(
        "UPDATE tokens SET revoked_at = ? WHERE id = ? AND workspace_id = ? AND revoked_at = 0");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, now).Bind(2, token_id).Bind(3, workspace_id);
    if (Status s = (*st)->Run(); !s.ok()) {
      return s;
    }
    if (db.Changes() == 0) {
      return NotFound("token " + token_id + " not found");
    }
    return InsertAudit(db, audit);
  });
}

Status SqliteStore::CreateSession(const std::string& hash, const std::string& token_id,
                                  int64_t expires_at) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<Statement*> st =
        db.Prepare("INSERT INTO sessions(hash, token_id, expires_at) VALUES(?, ?, ?)");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, hash).Bind(2, token_id).Bind(3, expires_at);
    return (*st)->Run();
  });
}

Result<TokenRecord> SqliteStore::FindSessionToken(const std::string& hash, int64_t now) {
  return Read([&](Connection& db) {
    return QueryOne<TokenRecord>(
        db,
        "SELECT t.id, t.workspace_id, t.name, t.role, t.hash, t.created_at, t.revoked_at FROM "
        "sessions s JOIN tokens t ON t.id = s.token_id WHERE s.hash = ? AND s.expires_at > ? "
        "AND t.revoked_at = 0",
        [&](Statement& q) { q.Bind(1, hash).Bind(2, now); }, ReadToken, "session not found");
  });
}

Status SqliteStore::DeleteSession(const std::string& hash) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<Statement*> st = db.Prepare("DELETE FROM sessions WHERE hash = ?");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, hash);
    return (*st)->Run();
  });
}

// --- workflows ---

constexpr char kWorkflowColumns[] =
    "SELECT workspace_id, id, kind, mode, status, version, created_at, updated_at FROM "
    "workflows ";

Result<PutWorkflowResult> SqliteStore::PutWorkflow(const WorkflowRecord& wf,
                                                   const AuditEntry& audit) {
  PutWorkflowResult out;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<WorkflowRecord> current = QueryOne<WorkflowRecord>(
        db, std::string(kWorkflowColumns) + "WHERE workspace_id = ? AND id = ?",
        [&](Statement& q) { q.Bind(1, wf.workspace_id).Bind(2, wf.id); }, ReadWorkflow, "");
    int next_version = 1;
    out.created = !current.ok();
    out.workflow = wf;
    if (current.ok()) {
      Result<json> def = QueryOne<json>(
          db,
          "SELECT definition FROM workflow_versions WHERE workspace_id = ? AND workflow_id = ? "
          "AND version = ?",
          [&](Statement& q) {
            q.Bind(1, wf.workspace_id).Bind(2, wf.id).Bind(3, current->version);
          },
          [](const Statement& q) { return q.Json(0); }, "");
      if (def.ok() && *def == wf.definition) {
        out.workflow = *current;
        out.workflow.definition = *def;
        out.changed = false;
        return Status::Ok();
      }
      next_version = current->version + 1;
      out.workflow.created_at = current->created_at;
      out.workflow.status = current->status;
    }
    out.changed = true;
    out.workflow.version = next_version;
    Result<Statement*> v = db.Prepare(
        "INSERT INTO workflow_versions(workspace_id, workflow_id, version, definition, "
        "created_at) VALUES(?, ?, ?, ?, ?)");
    if (!v.ok()) {
      return v.status();
    }
    (*v)->Bind(1, wf.workspace_id).Bind(2, wf.id).Bind(3, next_version);
    (*v)->BindJson(4, wf.definition).Bind(5, wf.updated_at);
    if (Status r = (*v)->Run(); !r.ok()) {
      return r;
    }
    Result<Statement*> w = db.Prepare(
        "INSERT INTO workflows(workspace_id, id, kind, mode, status, version, created_at, "
        "updated_at) VALUES(?, ?, ?, ?, 'active', ?, ?, ?) ON CONFLICT(workspace_id, id) DO "
        "UPDATE SET kind = excluded.kind, mode = excluded.mode, version = excluded.version, "
        "updated_at = excluded.updated_at");
    if (!w.ok()) {
      return w.status();
    }
    (*w)->Bind(1, wf.workspace_id).Bind(2, wf.id).Bind(3, wf.kind).Bind(4, wf.mode);
    (*w)->Bind(5, next_version).Bind(6, out.workflow.created_at).Bind(7, wf.updated_at);
    if (Status r = (*w)->Run(); !r.ok()) {
      return r;
    }
    return InsertAudit(db, audit);
  });
  if (!s.ok()) {
    return s;
  }
  return out;
}

Result<WorkflowRecord> SqliteStore::GetWorkflow(const std::string& workspace_id,
                                                const std::string& workflow_id) {
  return Read([&](Connection& db) -> Result<WorkflowRecord> {
    Result<WorkflowRecord> wf = QueryOne<WorkflowRecord>(
        db, std::string(kWorkflowColumns) + "WHERE workspace_id = ? AND id = ?",
        [&](Statement& q) { q.Bind(1, workspace_id).Bind(2, workflow_id); }, ReadWorkflow,
        "workflow " + workflow_id + " not found");
    if (!wf.ok()) {
      return wf;
    }
    Result<json> def = QueryOne<json>(
        db,
        "SELECT definition FROM workflow_versions WHERE workspace_id = ? AND workflow_id = ? AND "
        "version = ?",
        [&](Statement& q) { q.Bind(1, workspace_id).Bind(2, workflow_id).Bind(3, wf->version); },
        [](const Statement& q) { return q.Json(0); }, "definition not found");
    if (!def.ok()) {
      return def.status();
    }
    wf->definition = std::move(def).value();
    return wf;
  });
}

Result<std::vector<WorkflowRecord>> SqliteStore::ListWorkflows(const std::string& workspace_id) {
  return Read([&](Connection& db) {
    return QueryAll<WorkflowRecord>(
        db, std::string(kWorkflowColumns) + "WHERE workspace_id = ? ORDER BY id",
        [&](Statement& q) { q.Bind(1, workspace_id); }, ReadWorkflow);
  });
}

Result<json> SqliteStore::GetDefinition(const std::string& workspace_id,
                                        const std::string& workflow_id, int version) {
  return Read([&](Connection& db) {
    return QueryOne<json>(
        db,
        "SELECT definition FROM workflow_versions WHERE workspace_id = ? AND workflow_id = ? AND "
        "version = ?",
        [&](Statement& q) { q.Bind(1, workspace_id).Bind(2, workflow_id).Bind(3, version); },
        [](const Statement& q) { return q.Json(0); }, "definition not found");
  });
}

Result<WorkflowRecord> SqliteStore::SetWorkflowStatus(const std::string& workspace_id,
                                                      const std::string& workflow_id,
                                                      const std::string& status, int64_t now,
                                                      const AuditEntry& audit) {
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<Statement*> st = db.Prepare(
        "UPDATE workflows SET status = ?, updated_at = ? WHERE workspace_id = ? AND id = ?");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, status).Bind(2, now).Bind(3, workspace_id).Bind(4, workflow_id);
    if (Status r = (*st)->Run(); !r.ok()) {
      return r;
    }
    if (db.Changes() == 0) {
      return NotFound("workflow " + workflow_id + " not found");
    }
    return InsertAudit(db, audit);
  });
  if (!s.ok()) {
    return s;
  }
  return GetWorkflow(workspace_id, workflow_id);
}

// --- runs ---

namespace {

Status InsertRun(Connection& db, const RunRecord& r) {
  Result<Statement*> st = db.Prepare(
      std::string("INSERT INTO runs(") + kRunColumns +
      ", pause_reason, wait_kind) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'','')");
  if (!st.ok()) {
    return st.status();
  }
  Statement& q = **st;
  q.Bind(1, r.id).Bind(2, r.workspace_id).Bind(3, r.workflow_id).Bind(4, r.workflow_version);
  q.Bind(5, ToString(r.status)).Bind(6, r.version).Bind(7, ToString(r.paused_from));
  q.BindJson(8, r.pause).BindJson(9, r.wait).BindJson(10, r.cancel).BindJson(11, r.input);
  q.BindJson(12, r.output).BindJson(13, r.error).BindJson(14, r.trigger).Bind(15, r.replay_of);
  q.Bind(16, r.created_at).Bind(17, r.started_at).Bind(18, r.updated_at).Bind(19, r.finished_at);
  q.Bind(20, r.parent_run_id).Bind(21, r.parent_path);
  return q.Run();
}

Result<RunRecord> SelectRun(Connection& db, const std::string& run_id) {
  return QueryOne<RunRecord>(
      db, std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?",
      [&](Statement& q) { q.Bind(1, run_id); }, ReadRun, "run " + run_id + " not found");
}

}  // namespace

namespace {

// Inserts `run` unless `key` names a run made by the same request in its window (then
// `out` is that run, replayed).
Status ApplyCreateRun(Connection& db, const RunRecord& run,
                      const std::optional<IdempotencyKey>& key, CreateRunResult& out,
                      std::vector<std::string>& changed) {
  if (key) {
    Result<std::pair<std::string, std::string>> existing =
        QueryOne<std::pair<std::string, std::string>>(
            db,
            "SELECT request_hash, run_id FROM idempotency WHERE workspace_id = ? AND key = ? "
            "AND created_at >= ?",
            [&](Statement& q) {
              q.Bind(1, run.workspace_id).Bind(2, key->key).Bind(3, key->expires_before);
            },
            [](const Statement& q) { return std::make_pair(q.Text(0), q.Text(1)); }, "");
    if (existing.ok()) {
      if (existing->first != key->request_hash) {
        return Status(StatusCode::kAlreadyExists,
                      "Idempotency-Key was already used with a different request",
                      "idempotency_conflict");
      }
      Result<RunRecord> first = SelectRun(db, existing->second);
      if (!first.ok()) {
        return first.status();
      }
      out.run = std::move(first).value();
      out.replayed = true;
      return Status::Ok();
    }
    Result<Statement*> st = db.Prepare(
        "INSERT OR REPLACE INTO idempotency(workspace_id, key, request_hash, run_id, "
        "created_at) VALUES(?, ?, ?, ?, ?)");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, run.workspace_id).Bind(2, key->key).Bind(3, key->request_hash);
    (*st)->Bind(4, run.id).Bind(5, run.created_at);
    if (Status r = (*st)->Run(); !r.ok()) {
      return r;
    }
  }
  changed.push_back(run.id);
  return InsertRun(db, run);
}

}  // namespace

Result<CreateRunResult> SqliteStore::CreateRun(const RunRecord& run,
                                               const std::optional<IdempotencyKey>& key) {
  CreateRunResult out{run, false};
  Status s = WriteSync([&](Connection& db, std::vector<std::string>& changed) {
    return ApplyCreateRun(db, run, key, out, changed);
  });
  if (!s.ok()) {
    return s;
  }
  return out;
}

void SqliteStore::CreateRunAsync(RunRecord run, std::optional<IdempotencyKey> key,
                                 CreateRunDone done) {
  auto out = std::make_shared<CreateRunResult>(CreateRunResult{std::move(run), false});
  auto shared_key = std::make_shared<const std::optional<IdempotencyKey>>(std::move(key));
  Write(WriteOp{[out, shared_key](Connection& db, std::vector<std::string>& changed) {
                  return ApplyCreateRun(db, out->run, *shared_key, *out, changed);
                },
                [out, done = std::move(done)](Status s) {
                  done(s.ok() ? Result<CreateRunResult>(std::move(*out))
                              : Result<CreateRunResult>(s));
                }});
}

namespace {

// The run, and its steps when asked, as `db` sees it.
Result<RunRecord> SelectRunAndSteps(Connection& db, const std::string& run_id, bool with_steps) {
  Result<RunRecord> run = SelectRun(db, run_id);
  if (run.ok() && with_steps) {
    Result<std::vector<StepRecord>> steps = QueryAll<StepRecord>(
        db,
        "SELECT seq, path, step_id, type, status, attempt, started_at, finished_at, output, "
        "error, result_discarded, detail FROM steps WHERE run_id = ? ORDER BY seq",
        [&](Statement& q) { q.Bind(1, run_id); }, ReadStep);
    if (!steps.ok()) {
      return steps.status();
    }
    run->steps = std::move(steps).value();
  }
  return run;
}

}  // namespace

Result<RunRecord> SqliteStore::GetRun(const std::string& run_id, bool with_steps) {
  static const std::string kBegin = "BEGIN", kCommit = "COMMIT";
  return Read([&](Connection& db) -> Result<RunRecord> {
    // One read transaction so the run and its steps are one snapshot.
    db.ExecCached(kBegin);
    Result<RunRecord> run = SelectRunAndSteps(db, run_id, with_steps);
    db.ExecCached(kCommit);
    return run;
  });
}

namespace {

// Reads the run on the writer's connection, in the write's own transaction (pages the
// writer has cached; nothing can change the run in between), has `decide` make the
// transition and applies it. `after` is the run as it is then, unless `read_after` is
// false.
Status ApplyDecided(Connection& db, const std::string& run_id,
                    const Store::DecideTransition& decide, Store::UpdateReads reads,
                    bool read_after, std::optional<RunRecord>& after,
                    std::vector<std::string>& changed) {
  Result<RunRecord> run = SelectRunAndSteps(db, run_id, reads.steps_to_decide);
  if (!run.ok()) {
    return run.status();
  }
  Result<std::optional<RunTransition>> t = decide(*run);
  if (!t.ok()) {
    return t.status();
  }
  if (t->has_value()) {
    RunTransition& transition = **t;
    transition.run_id = run_id;
    transition.expected_version = run->version;
    transition.expected_status = run->status;
    if (Status applied = ApplyTransition(db, transition); !applied.ok()) {
      return applied;
    }
    changed.push_back(run_id);
    if (transition.create_run) {
      changed.push_back(transition.create_run->id);
    }
  } else if (reads.steps_to_decide == reads.steps_in_answer) {
    after = std::move(run).value();
    return Status::Ok();
  }
  if (!read_after) {
    return Status::Ok();
  }
  Result<RunRecord> updated = SelectRunAndSteps(db, run_id, reads.steps_in_answer);
  if (!updated.ok()) {
    return updated.status();
  }
  after = std::move(updated).value();
  return Status::Ok();
}

}  // namespace

Result<RunRecord> SqliteStore::UpdateRun(const std::string& run_id, DecideTransition decide,
                                         UpdateReads reads) {
  std::optional<RunRecord> after;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>& changed) {
    // The writer thread under load reads the answer from a reader afterwards, beside
    // the writer, rather than in the batch every other change waits for.
    return ApplyDecided(db, run_id, decide, reads, /*read_after=*/tl_writer_of != this, after,
                        changed);
  });
  if (!s.ok()) {
    return s;
  }
  if (!after) {
    return GetRun(run_id, reads.steps_in_answer);
  }
  return std::move(*after);
}

void SqliteStore::UpdateRunAsync(std::string run_id, DecideTransition decide, UpdateReads reads,
                                 UpdateRunDone done) {
  auto after = std::make_shared<std::optional<RunRecord>>();
  Write(WriteOp{[after, run_id = std::move(run_id), decide = std::move(decide), reads](
                    Connection& db, std::vector<std::string>& changed) {
                  return ApplyDecided(db, run_id, decide, reads, /*read_after=*/true, *after,
                                      changed);
                },
                [after, done = std::move(done)](Status s) {
                  done(s.ok() ? Result<RunRecord>(std::move(**after)) : Result<RunRecord>(s));
                }});
}

Result<RunPage> SqliteStore::ListRuns(const std::string& workspace_id, const RunFilter& filter) {
  constexpr int kMaxPage = 500;
  RunFilter f = filter;
  f.limit = std::clamp(f.limit, 1, kMaxPage);
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE workspace_id = ?1";
  if (f.statuses) {
    sql += " AND status IN (";
    for (size_t i = 0; i < f.statuses->size(); ++i) {
      sql += (i ? ",'" : "'") + std::string(ToString((*f.statuses)[i])) + "'";
    }
    sql += ")";
  }
  if (f.workflow_id) sql += " AND workflow_id = ?2";
  if (f.pause_reason) sql += " AND pause_reason = ?3";
  if (f.wait_kind) sql += " AND wait_kind = ?4";
  if (f.id_contains) sql += " AND instr(id, ?5) > 0";
  if (f.parent_run_id) sql += " AND parent_run_id = ?8 AND parent_run_id != ''";
  if (!f.cursor.empty()) sql += " AND id < ?6";
  sql += " ORDER BY id DESC LIMIT ?7";
  return Read([&](Connection& db) -> Result<RunPage> {
    Result<std::vector<RunRecord>> rows = QueryAll<RunRecord>(
        db, sql,
        [&](Statement& q) {
          q.Bind(1, workspace_id);
          if (f.workflow_id) q.Bind(2, *f.workflow_id);
          if (f.pause_reason) q.Bind(3, *f.pause_reason);
          if (f.wait_kind) q.Bind(4, *f.wait_kind);
          if (f.id_contains) q.Bind(5, *f.id_contains);
          if (!f.cursor.empty()) q.Bind(6, f.cursor);
          q.Bind(7, f.limit + 1);
          if (f.parent_run_id) q.Bind(8, *f.parent_run_id);
        },
        ReadRun);
    if (!rows.ok()) {
      return rows.status();
    }
    RunPage page;
    page.items = std::move(rows).value();
    if (page.items.size() > static_cast<size_t>(f.limit)) {
      page.items.resize(f.limit);
      page.next_cursor = page.items.back().id;
    }
    return page;
  });
}

Result<std::vector<std::string>> SqliteStore::ListRunIdsByStatus(RunStatus status) {
  return Read([&](Connection& db) {
    return QueryAll<std::string>(
        db, "SELECT id FROM runs WHERE status = ? ORDER BY id",
        [&](Statement& q) { q.Bind(1, ToString(status)); },
        [](const Statement& q) { return q.Text(0); });
  });
}

Result<std::vector<RunStatusCount>> SqliteStore::CountRunsByStatus() {
  return Read([&](Connection& db) {
    return QueryAll<RunStatusCount>(
        db, "SELECT status, COUNT(*) FROM runs GROUP BY status", [](Statement&) {},
        [](const Statement& q) {
          return RunStatusCount{ParseRunStatus(q.Text(0)).value_or(RunStatus::kFailed), q.Int(1)};
        });
  });
}

SqliteStore::WriteOp SqliteStore::TransitionOp(std::shared_ptr<RunTransition> shared,
                                               TransitionDone done) {
  auto new_version = std::make_shared<int64_t>(0);
  return WriteOp{
      [shared, new_version](Connection& db, std::vector<std::string>& changed) -> Status {
        Status s = ApplyTransition(db, *shared);
        if (s.ok()) {
          *new_version = shared->expected_version + 1;
          changed.push_back(shared->run_id);
          if (shared->create_run) {
            changed.push_back(shared->create_run->id);
          }
        }
        return s;
      },
      [new_version, done = std::move(done), shared, this](Status s) {
        if (s.ok()) {
          uint64_t completed = 0;
          for (const StepRecord& step : shared->upsert_steps) {
            completed += step.status == StepStatus::kCompleted ? 1 : 0;
          }
          std::lock_guard lock(stats_mu_);
          stats_.steps_committed += completed;
        }
        done(s.ok() ? Result<int64_t>(*new_version) : Result<int64_t>(s));
      }};
}

void SqliteStore::TransitionRunAsync(std::shared_ptr<RunTransition> t, TransitionDone done) {
  Write(TransitionOp(std::move(t), std::move(done)));
}

Result<int64_t> SqliteStore::TransitionRun(RunTransition t) {
  Result<int64_t> out = Status(StatusCode::kUnavailable, "the store is shutting down");
  WriteOp op = TransitionOp(std::make_shared<RunTransition>(std::move(t)),
                            [&out](Result<int64_t> r) { out = std::move(r); });
  Status s = WriteSync(
      [&op](Connection& db, std::vector<std::string>& changed) { return op.apply(db, changed); });
  op.done(s);
  return out;
}

Result<std::vector<std::string>> SqliteStore::ActiveChildRuns(const std::string& run_id) {
  return Read([&](Connection& db) {
    return QueryAll<std::string>(
        db,
        // `parent_run_id != ''` lets SQLite use the partial index runs_by_parent.
        "SELECT id FROM runs WHERE parent_run_id = ? AND parent_run_id != '' AND status NOT IN "
        "('completed', 'failed', 'cancelled') ORDER BY id",
        [&](Statement& q) { q.Bind(1, run_id); }, [](const Statement& q) { return q.Text(0); });
  });
}

// --- agent tasks ---

Result<std::optional<AgentTaskRecord>> SqliteStore::ClaimAgentTask(
    const std::string& workspace_id, const std::vector<std::string>& queues,
    const std::string& agent_id, int64_t now, int64_t lease_ms) {
  std::optional<AgentTaskRecord> claimed;
  if (queues.empty()) {
    return claimed;
  }
  std::string in = "?";
  for (size_t i = 1; i < queues.size(); ++i) {
    in += ", ?";
  }
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<std::vector<AgentTaskRecord>> next = QueryAll<AgentTaskRecord>(
        db,
        std::string("SELECT ") + kTaskColumns +
            " FROM agent_tasks WHERE workspace_id = ? AND status = 'queued' AND available_at <= ? "
            "AND queue IN (" +
            in + ") ORDER BY available_at, id LIMIT 1",
        [&](Statement& q) {
          q.Bind(1, workspace_id).Bind(2, now);
          for (size_t i = 0; i < queues.size(); ++i) {
            q.Bind(static_cast<int>(i) + 3, queues[i]);
          }
        },
        ReadTask);
    if (!next.ok() || next->empty()) {
      return next.status();
    }
    AgentTaskRecord task = next->front();
    task.status = "claimed";
    task.agent_id = agent_id;
    task.lease_expires_at = now + lease_ms;
    task.updated_at = now;
    Status up = Exec(db,
                     "UPDATE agent_tasks SET status = 'claimed', agent_id = ?, lease_expires_at = "
                     "?, updated_at = ? WHERE id = ?",
                     [&](Statement& q) {
                       q.Bind(1, agent_id).Bind(2, task.lease_expires_at).Bind(3, now);
                       q.Bind(4, task.id);
                     });
    if (up.ok()) {
      claimed = std::move(task);
    }
    return up;
  });
  if (!s.ok()) {
    return s;
  }
  return claimed;
}

Result<AgentTaskRecord> SqliteStore::GetAgentTask(const std::string& task_id) {
  return Read([&](Connection& db) {
    return QueryOne<AgentTaskRecord>(
        db, std::string("SELECT ") + kTaskColumns + " FROM agent_tasks WHERE id = ?",
        [&](Statement& q) { q.Bind(1, task_id); }, ReadTask,
        "agent task " + task_id + " not found");
  });
}

Result<AgentTaskRecord> SqliteStore::HeartbeatAgentTask(const std::string& task_id,
                                                        const std::string& agent_id, int64_t now,
                                                        int64_t lease_ms) {
  std::optional<AgentTaskRecord> out;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status up = Exec(db,
                     "UPDATE agent_tasks SET lease_expires_at = ?, updated_at = ? WHERE id = ? "
                     "AND agent_id = ? AND status = 'claimed'",
                     [&](Statement& q) {
                       q.Bind(1, now + lease_ms).Bind(2, now).Bind(3, task_id).Bind(4, agent_id);
                     });
    if (!up.ok()) {
      return up;
    }
    Result<AgentTaskRecord> task = QueryOne<AgentTaskRecord>(
        db, std::string("SELECT ") + kTaskColumns + " FROM agent_tasks WHERE id = ?",
        [&](Statement& q) { q.Bind(1, task_id); }, ReadTask,
        "agent task " + task_id + " not found");
    if (!task.ok()) {
      return task.status();
    }
    out = std::move(task).value();
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return std::move(*out);
}

Status SqliteStore::CancelAgentTask(const std::string& task_id, int64_t now) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    return Exec(db,
                "UPDATE agent_tasks SET status = 'cancelled', updated_at = ? WHERE id = ? AND "
                "status IN ('queued', 'claimed')",
                [&](Statement& q) { q.Bind(1, now).Bind(2, task_id); });
  });
}

Result<std::vector<AgentTaskRecord>> SqliteStore::LapsedAgentTasks(int64_t now, int limit) {
  return Read([&](Connection& db) {
    return QueryAll<AgentTaskRecord>(
        db,
        std::string("SELECT ") + kTaskColumns +
            " FROM agent_tasks WHERE status = 'claimed' AND lease_expires_at < ? ORDER BY "
            "lease_expires_at LIMIT ?",
        [&](Statement& q) { q.Bind(1, now).Bind(2, limit); }, ReadTask);
  });
}

// --- timers and events ---

Result<std::vector<TimerRecord>> SqliteStore::DueTimers(int64_t due_before, int limit) {
  return Read([&](Connection& db) {
    return QueryAll<TimerRecord>(
        db,
        "SELECT run_id, kind, path, due_at FROM timers WHERE due_at < ? ORDER BY due_at LIMIT ?",
        [&](Statement& q) { q.Bind(1, due_before).Bind(2, limit); },
        [](const Statement& q) {
          return TimerRecord{q.Text(0), q.Text(1), q.Text(2), q.Int(3)};
        });
  });
}

Result<std::optional<EventRecord>> SqliteStore::FindBufferedEvent(const std::string& run_id,
                                                                  const std::string& event_type) {
  return Read([&](Connection& db) -> Result<std::optional<EventRecord>> {
    Result<std::vector<EventRecord>> rows = QueryAll<EventRecord>(
        db,
        "SELECT id, run_id, event_type, payload, created_at FROM events WHERE run_id = ? AND "
        "event_type = ? ORDER BY id LIMIT 1",
        [&](Statement& q) { q.Bind(1, run_id).Bind(2, event_type); },
        [](const Statement& q) {
          return EventRecord{q.Int(0), q.Text(1), q.Text(2), q.Json(3), q.Int(4)};
        });
    if (!rows.ok()) {
      return rows.status();
    }
    if (rows->empty()) {
      return std::optional<EventRecord>();
    }
    return std::optional<EventRecord>(rows->front());
  });
}

Status SqliteStore::BufferEvent(const std::string& run_id, int64_t expected_version,
                                const EventRecord& event) {
  return WriteSync([&](Connection& db, std::vector<std::string>& changed) -> Status {
    Result<Statement*> up = db.Prepare(
        "UPDATE runs SET version = version + 1, updated_at = ? WHERE id = ? AND version = ?");
    if (!up.ok()) {
      return up.status();
    }
    (*up)->Bind(1, event.created_at).Bind(2, run_id).Bind(3, expected_version);
    if (Status s = (*up)->Run(); !s.ok()) {
      return s;
    }
    if (db.Changes() == 0) {
      return Status(StatusCode::kAborted, "State changed; please refresh", "state_changed");
    }
    Result<Statement*> st = db.Prepare(
        "INSERT INTO events(run_id, event_type, payload, created_at) VALUES(?, ?, ?, ?)");
    if (!st.ok()) {
      return st.status();
    }
    (*st)->Bind(1, run_id).Bind(2, event.event_type).BindJson(3, event.payload);
    (*st)->Bind(4, event.created_at);
    changed.push_back(run_id);
    return (*st)->Run();
  });
}

Result<std::vector<AuditEntry>> SqliteStore::ListAudit(const std::string& workspace_id,
                                                       const std::string& target,
                                                       const std::string& cursor, int limit) {
  std::string sql =
      "SELECT id, workspace_id, at, actor, action, target, reason, request_id, status_before, "
      "status_after FROM audit WHERE workspace_id = ?1";
  if (!target.empty()) sql += " AND target = ?2";
  if (!cursor.empty()) sql += " AND id < ?3";
  sql += " ORDER BY id DESC LIMIT ?4";
  return Read([&](Connection& db) {
    return QueryAll<AuditEntry>(
        db, sql,
        [&](Statement& q) {
          q.Bind(1, workspace_id);
          if (!target.empty()) q.Bind(2, target);
          if (!cursor.empty()) q.Bind(3, cursor);
          q.Bind(4, limit);
        },
        ReadAudit);
  });
}

}  // namespace sw
