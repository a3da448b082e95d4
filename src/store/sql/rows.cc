#include "store/sql/rows.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sql/query.h"
#include "store/sql/run_fields.h"

namespace sw::sql {

using nlohmann::json;

namespace {

// Reads one row's columns and keeps the first value its record does not admit; the
// record read is used only when Done() is ok. `keys` are the columns that name the row.
class RowReader {
 public:
  RowReader(const Statement& s, std::string_view table, std::initializer_list<int> keys)
      : s_(s), table_(table) {
    SW_CHECK(keys.size() <= keys_.size());
    for (int key : keys) {
      keys_[key_count_++] = key;
    }
  }

  std::string Text(int col) const { return s_.Text(col); }
  int64_t Int(int col) const { return s_.Int(col); }

  json Json(int col, std::string_view column) {
    json v = s_.Json(col);
    if (v.is_discarded()) {
      Corrupt(col, column);
      return json();
    }
    return v;
  }

  template <typename E>
  E Enum(int col, std::string_view column, std::optional<E> (*parse)(std::string_view)) {
    std::optional<E> v = parse(s_.Text(col));
    if (!v) {
      Corrupt(col, column);
      return E{};
    }
    return *v;
  }

  // A text column that takes one of `values`.
  std::string OneOf(int col, std::string_view column, std::span<const std::string_view> values) {
    std::string v = s_.Text(col);
    for (std::string_view allowed : values) {
      if (v == allowed) {
        return v;
      }
    }
    Corrupt(col, column);
    return v;
  }

  template <typename T>
  Result<T> Done(T record) const {
    if (!status_.ok()) {
      return status_;
    }
    return record;
  }

 private:
  void Corrupt(int col, std::string_view column) {
    if (!status_.ok()) {
      return;
    }
    std::string row;
    for (size_t i = 0; i < key_count_; ++i) {
      row += (i == 0 ? "" : "/") + s_.Text(keys_[i]);
    }
    status_ = DataCorruption(table_, row, column, s_.Text(col));
  }

  const Statement& s_;
  std::string_view table_;
  std::array<int, 3> keys_{};
  size_t key_count_ = 0;
  Status status_;
};

}  // namespace

Result<RunRecord> ReadRun(const Statement& s) {
  RowReader row(s, "runs", {0});
  RunRecord r;
  r.id = row.Text(0);
  r.workspace_id = row.Text(1);
  r.workflow_id = row.Text(2);
  r.workflow_version = static_cast<int>(row.Int(3));
  r.status = row.Enum(4, "status", ParseRunStatus);
  r.version = row.Int(5);
  r.paused_from = row.Enum(6, "paused_from", ParseRunStatus);
  r.pause = row.Json(7, "pause");
  r.wait = row.Json(8, "wait");
  r.cancel = row.Json(9, "cancel");
  r.input = row.Json(10, "input");
  r.output = row.Json(11, "output");
  r.error = row.Json(12, "error");
  r.trigger = row.Json(13, "trigger");
  r.replay_of = row.Text(14);
  r.created_at = row.Int(15);
  r.started_at = row.Int(16);
  r.updated_at = row.Int(17);
  r.finished_at = row.Int(18);
  r.parent_run_id = row.Text(19);
  r.parent_path = row.Text(20);
  r.owner = row.Text(21);
  r.replay_from_step = row.Text(22);
  return row.Done(std::move(r));
}

Result<RunHead> ReadRunHead(const Statement& s) {
  RowReader row(s, "runs", {0});
  RunHead h;
  h.id = row.Text(0);
  h.status = row.Enum(1, "status", ParseRunStatus);
  h.version = row.Int(2);
  h.parent_run_id = row.Text(3);
  h.parent_path = row.Text(4);
  h.owner = row.Text(5);
  h.side_rows = row.Int(6) != 0;
  return row.Done(std::move(h));
}

Result<StepRecord> ReadStep(const Statement& s) {
  RowReader row(s, "steps", {0, 2});
  StepRecord st;
  st.seq = row.Int(1);
  st.path = row.Text(2);
  st.step_id = row.Text(3);
  st.type = row.Text(4);
  st.status = row.Enum(5, "status", ParseStepStatus);
  st.attempt = static_cast<int>(row.Int(6));
  st.started_at = row.Int(7);
  st.finished_at = row.Int(8);
  st.output = row.Json(9, "output");
  st.error = row.Json(10, "error");
  st.result_discarded = row.Int(11) != 0;
  st.detail = row.Json(12, "detail");
  st.copied = row.Int(13) != 0;
  return row.Done(std::move(st));
}

Result<AgentTaskRecord> ReadTask(const Statement& s) {
  RowReader row(s, "agent_tasks", {0});
  AgentTaskRecord t;
  t.id = row.Text(0);
  t.workspace_id = row.Text(1);
  t.run_id = row.Text(2);
  t.path = row.Text(3);
  t.step_id = row.Text(4);
  t.queue = row.Text(5);
  t.input = row.Json(6, "input");
  t.attempt = static_cast<int>(row.Int(7));
  t.status = row.OneOf(8, "status", kAgentTaskStatuses);
  t.agent_id = row.Text(9);
  t.available_at = row.Int(10);
  t.lease_expires_at = row.Int(11);
  t.created_at = row.Int(12);
  t.updated_at = row.Int(13);
  return row.Done(std::move(t));
}

Result<HumanTaskRecord> ReadHumanTask(const Statement& s) {
  RowReader row(s, "human_tasks", {0});
  HumanTaskRecord t;
  t.id = row.Text(0);
  t.kind = row.OneOf(1, "kind", kHumanTaskKinds);
  t.workspace_id = row.Text(2);
  t.workflow_id = row.Text(3);
  t.run_id = row.Text(4);
  t.path = row.Text(5);
  t.step_id = row.Text(6);
  t.status = row.OneOf(7, "status", kHumanTaskStatuses);
  t.version = row.Int(8);
  t.body = row.Json(9, "body");
  t.resolution = row.Json(10, "resolution");
  t.expires_at = row.Int(11);
  t.created_at = row.Int(12);
  t.updated_at = row.Int(13);
  return row.Done(std::move(t));
}

ApprovalLinkRecord ReadApprovalLink(const Statement& s) {
  return ApprovalLinkRecord{s.Text(0), s.Text(1), s.Text(2), s.Text(3),
                            s.Int(4),  s.Int(5),  s.Int(6)};
}

Result<WorkflowRecord> ReadWorkflow(const Statement& s) {
  RowReader row(s, "workflows", {0, 1});
  WorkflowRecord w;
  w.workspace_id = row.Text(0);
  w.id = row.Text(1);
  w.kind = row.Text(2);
  w.mode = row.Text(3);
  w.status = row.OneOf(4, "status", kWorkflowStatuses);
  w.version = static_cast<int>(row.Int(5));
  w.created_at = row.Int(6);
  w.updated_at = row.Int(7);
  w.safety = row.Json(8, "safety");
  return row.Done(std::move(w));
}

Result<TokenRecord> ReadToken(const Statement& s) {
  RowReader row(s, "tokens", {0});
  TokenRecord t;
  t.id = row.Text(0);
  t.workspace_id = row.Text(1);
  t.name = row.Text(2);
  t.role = row.Enum(3, "role", ParseRole);
  t.hash = row.Text(4);
  t.created_at = row.Int(5);
  t.revoked_at = row.Int(6);
  return row.Done(std::move(t));
}

WorkspaceRecord ReadWorkspace(const Statement& s) {
  return WorkspaceRecord{s.Text(0), s.Text(1), s.Int(2)};
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

Result<TimerRecord> ReadTimer(const Statement& s) {
  RowReader row(s, "timers", {0, 1});
  TimerRecord t{row.Text(0), row.Enum(1, "kind", &ParseTimerKind), row.Text(2), row.Int(3)};
  return row.Done(std::move(t));
}

Result<EventRecord> ReadEvent(const Statement& s) {
  RowReader row(s, "events", {0});
  EventRecord e{row.Int(0), row.Text(1), row.Text(2), row.Json(3, "payload"), row.Int(4)};
  return row.Done(std::move(e));
}

Result<json> ReadDefinition(const Statement& s) {
  RowReader row(s, "workflow_versions", {0, 1, 2});
  json definition = row.Json(3, "definition");
  return row.Done(std::move(definition));
}

Result<NotificationRecord> ReadNotification(const Statement& s) {
  RowReader row(s, "notifications", {0});
  NotificationRecord n;
  n.id = row.Text(0);
  n.workspace_id = row.Text(1);
  n.kind = row.Text(2);
  n.title = row.Text(3);
  n.body = row.Text(4);
  n.link = row.Text(5);
  n.subject = row.Json(6, "subject");
  n.created_at = row.Int(7);
  n.read_at = row.Int(8);
  return row.Done(std::move(n));
}

Result<DeliveryRecord> ReadDelivery(const Statement& s) {
  RowReader row(s, "deliveries", {0});
  DeliveryRecord d;
  d.id = row.Text(0);
  d.workspace_id = row.Text(1);
  d.notification_id = row.Text(2);
  d.channel = row.Enum(3, "channel", &ParseDeliveryChannel);
  d.target = row.Text(4);
  d.format = row.Enum(5, "format", &ParseDeliveryFormat);
  d.status = row.Enum(6, "status", &ParseDeliveryStatus);
  d.attempts = static_cast<int>(row.Int(7));
  d.next_attempt_at = row.Int(8);
  d.last_error = row.Text(9);
  d.created_at = row.Int(10);
  d.updated_at = row.Int(11);
  return row.Done(std::move(d));
}

Result<ChannelRow> ReadChannelRow(const Statement& s) {
  RowReader row(s, "notification_channels", {0, 1});
  ChannelRow c;
  c.position = row.Int(1);
  c.channel = row.Enum(2, "channel", &ParseDeliveryChannel);
  c.target = row.Text(3);
  c.format = row.Enum(4, "format", &ParseDeliveryFormat);
  return row.Done(std::move(c));
}

Status InsertRun(Connection& db, const RunRecord& r, std::string_view owner) {
  static const std::string kSql = std::string("INSERT INTO runs(") + kRunColumns +
                                  ", pause_reason, wait_kind, side_rows, fields_indexed) "
                                  "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'','',0,?)";
  std::optional<std::vector<RunField>> fields = IndexedFields("input", r.input);
  if (fields && !r.output.is_null()) {
    std::optional<std::vector<RunField>> output = IndexedFields("output", r.output);
    if (output) {
      fields->insert(fields->end(), output->begin(), output->end());
    } else {
      fields.reset();
    }
  }
  Result<Statement*> st = db.Prepare(kSql);
  if (!st.ok()) {
    return st.status();
  }
  Statement& q = **st;
  q.Bind(1, r.id).Bind(2, r.workspace_id).Bind(3, r.workflow_id).Bind(4, r.workflow_version);
  q.Bind(5, ToString(r.status)).Bind(6, r.version).Bind(7, ToString(r.paused_from));
  q.BindJson(8, r.pause).BindJson(9, r.wait).BindJson(10, r.cancel).BindJson(11, r.input);
  q.BindJson(12, r.output).BindJson(13, r.error).BindJson(14, r.trigger).Bind(15, r.replay_of);
  q.Bind(16, r.created_at).Bind(17, r.started_at).Bind(18, r.updated_at).Bind(19, r.finished_at);
  q.Bind(20, r.parent_run_id).Bind(21, r.parent_path).Bind(22, owner);
  q.Bind(23, r.replay_from_step).Bind(24, int64_t{fields ? 1 : 0});
  if (Status s = q.Run(); !s.ok() || !fields) {
    return s;
  }
  return InsertRunFields(db, r.workspace_id, r.id, *fields);
}

namespace {

constexpr char kStepInsert[] =
    "INSERT INTO steps(run_id, seq, path, step_id, type, status, attempt, started_at, "
    "finished_at, output, error, result_discarded, detail, copied) VALUES";
// A new path gets the run's next seq; an existing one keeps its seq, and its attempt and
// start unless given, and its detail unless one is given; `copied` is the insert's.
constexpr char kStepOnConflict[] =
    " ON CONFLICT(run_id, path) DO UPDATE SET status = excluded.status, attempt = CASE WHEN "
    "excluded.attempt = 0 THEN steps.attempt ELSE excluded.attempt END, started_at = CASE WHEN "
    "excluded.started_at = 0 THEN steps.started_at ELSE excluded.started_at END, finished_at = "
    "excluded.finished_at, output = excluded.output, error = excluded.error, "
    "result_discarded = excluded.result_discarded, detail = COALESCE(excluded.detail, "
    "steps.detail)";
constexpr int kStepParams = 12;  // per row, besides the run id (?1) and the seq

// "?first, …" for the kStepParams parameters of a row.
std::string StepParams(int first) {
  std::string out;
  for (int i = 0; i < kStepParams; ++i) {
    out += (i == 0 ? "?" : ", ?") + std::to_string(first + i);
  }
  return out;
}

// Binds a row's parameters from index `first` on.
void BindStep(Statement& q, int first, const StepRecord& s) {
  const int b = first;
  q.Bind(b, s.path).Bind(b + 1, s.step_id).Bind(b + 2, s.type);
  q.Bind(b + 3, ToString(s.status)).Bind(b + 4, s.attempt).Bind(b + 5, s.started_at);
  q.Bind(b + 6, s.finished_at).BindJson(b + 7, s.output).BindJson(b + 8, s.error);
  q.Bind(b + 9, s.result_discarded ? 1 : 0).BindJson(b + 10, s.detail);
  q.Bind(b + 11, s.copied ? 1 : 0);
}

bool DistinctPaths(std::span<const StepRecord> steps) {
  std::set<std::string_view> paths;
  for (const StepRecord& s : steps) {
    if (!paths.insert(s.path).second) {
      return false;
    }
  }
  return true;
}

// The seq each of `steps` is written with: its own for a path the run has, the next
// ones in order for new paths. Two statements for any number of rows: this read and the
// insert. The run's row is locked by the transition, so no other writer adds steps.
Result<std::vector<int64_t>> PlanStepSeqs(Connection& db, const std::string& run_id,
                                          std::span<const StepRecord> steps) {
  std::string sql =
      "SELECT path, seq FROM steps WHERE run_id = ?1 AND (seq = (SELECT MAX(seq) FROM steps "
      "WHERE run_id = ?1) OR path IN (";
  for (size_t k = 0; k < steps.size(); ++k) {
    sql += (k == 0 ? "?" : ", ?") + std::to_string(k + 2);
  }
  sql += "))";
  int64_t max_seq = 0;
  std::map<std::string, int64_t, std::less<>> existing;
  Result<std::vector<std::pair<std::string, int64_t>>> rows =
      QueryAll<std::pair<std::string, int64_t>>(
          db, sql,
          [&](Statement& q) {
            q.Bind(1, run_id);
            for (size_t k = 0; k < steps.size(); ++k) {
              q.Bind(static_cast<int>(k) + 2, steps[k].path);
            }
          },
          [](const Statement& r) { return std::make_pair(r.Text(0), r.Int(1)); });
  if (!rows.ok()) {
    return rows.status();
  }
  for (auto& [path, seq] : *rows) {
    max_seq = std::max(max_seq, seq);
    existing.emplace(std::move(path), seq);
  }
  std::vector<int64_t> seqs;
  for (const StepRecord& s : steps) {
    auto it = existing.find(s.path);
    seqs.push_back(it != existing.end() ? it->second : ++max_seq);
  }
  return seqs;
}

}  // namespace

Status UpsertStep(Connection& db, const std::string& run_id, const StepRecord& s) {
  static const std::string kSql = std::string(kStepInsert) +
                                  " (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE "
                                  "run_id = ?1), " +
                                  StepParams(2) + ")" + kStepOnConflict;
  Result<Statement*> st = db.Prepare(kSql);
  if (!st.ok()) {
    return st.status();
  }
  (*st)->Bind(1, run_id);
  BindStep(**st, 2, s);
  return (*st)->Run();
}

Status UpsertSteps(Connection& db, const std::string& run_id, std::span<const StepRecord> steps) {
  // Where a statement is a round trip, three or more rows go as one read and one insert.
  // A path twice would update its row twice in one statement, which PostgreSQL refuses:
  // those go one by one.
  if (steps.size() < 3 || !db.dialect().round_trips || !DistinctPaths(steps)) {
    for (const StepRecord& s : steps) {
      if (Status st = UpsertStep(db, run_id, s); !st.ok()) {
        return st;
      }
    }
    return Status::Ok();
  }
  Result<std::vector<int64_t>> seqs = PlanStepSeqs(db, run_id, steps);
  if (!seqs.ok()) {
    return seqs.status();
  }
  constexpr int kRowParams = kStepParams + 1;
  std::string sql = kStepInsert;
  for (size_t k = 0; k < steps.size(); ++k) {
    const int seq = 2 + static_cast<int>(k) * kRowParams;
    sql +=
        (k == 0 ? " (?1, ?" : ", (?1, ?") + std::to_string(seq) + ", " + StepParams(seq + 1) + ")";
  }
  sql += kStepOnConflict;
  Result<Statement*> st = db.Prepare(sql);
  if (!st.ok()) {
    return st.status();
  }
  (*st)->Bind(1, run_id);
  for (size_t k = 0; k < steps.size(); ++k) {
    const int seq = 2 + static_cast<int>(k) * kRowParams;
    (*st)->Bind(seq, (*seqs)[k]);
    BindStep(**st, seq + 1, steps[k]);
  }
  return (*st)->Run();
}

Status InsertTask(Connection& db, const AgentTaskRecord& t) {
  static const std::string kSql = std::string("INSERT INTO agent_tasks(") + kTaskColumns +
                                  ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  Result<Statement*> st = db.Prepare(kSql);
  if (!st.ok()) {
    return st.status();
  }
  Statement& q = **st;
  q.Bind(1, t.id).Bind(2, t.workspace_id).Bind(3, t.run_id).Bind(4, t.path);
  q.Bind(5, t.step_id).Bind(6, t.queue).BindJson(7, t.input).Bind(8, t.attempt);
  q.Bind(9, t.status).Bind(10, t.agent_id).Bind(11, t.available_at);
  q.Bind(12, t.lease_expires_at).Bind(13, t.created_at).Bind(14, t.updated_at);
  return q.Run();
}

Status InsertHumanTask(Connection& db, const HumanTaskRecord& t) {
  static const std::string kSql = std::string("INSERT INTO human_tasks(") + kHumanTaskColumns +
                                  ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  Result<Statement*> st = db.Prepare(kSql);
  if (!st.ok()) {
    return st.status();
  }
  Statement& q = **st;
  q.Bind(1, t.id).Bind(2, t.kind).Bind(3, t.workspace_id).Bind(4, t.workflow_id);
  q.Bind(5, t.run_id).Bind(6, t.path).Bind(7, t.step_id).Bind(8, t.status).Bind(9, t.version);
  q.BindJson(10, t.body).BindJson(11, t.resolution).Bind(12, t.expires_at);
  q.Bind(13, t.created_at).Bind(14, t.updated_at);
  return q.Run();
}

Status InsertAudit(Connection& db, const AuditEntry& a) {
  static const std::string kSql =
      std::string("INSERT INTO audit(") + kAuditColumns + ") VALUES(?,?,?,?,?,?,?,?,?,?)";
  Result<Statement*> st = db.Prepare(kSql);
  if (!st.ok()) {
    return st.status();
  }
  Statement& q = **st;
  q.Bind(1, a.id).Bind(2, a.workspace_id).Bind(3, a.at).Bind(4, a.actor).Bind(5, a.action);
  q.Bind(6, a.target).Bind(7, a.reason).Bind(8, a.request_id).Bind(9, a.status_before);
  q.Bind(10, a.status_after);
  return q.Run();
}

Result<int64_t> InsertNotification(Connection& db, const NotificationRecord& n) {
  static const std::string kInsert = std::string("INSERT INTO notifications(") +
                                     kNotificationColumns + ") VALUES(?,?,?,?,?,?,?,?,?)";
  // The delivery's id is the notification's time-ordered part and the recipient's
  // position: unique, and sorted as the notifications are.
  static const std::string kFanOut =
      std::string("INSERT INTO deliveries(") + kDeliveryColumns +
      ") SELECT 'dlv_' || ?1 || '-' || position, workspace_id, ?2, channel, target, format, "
      "'pending', 0, ?3, '', ?3, ?3 FROM notification_channels WHERE workspace_id = ?4";
  Result<Statement*> st = db.Prepare(kInsert);
  if (!st.ok()) {
    return st.status();
  }
  Statement& q = **st;
  q.Bind(1, n.id).Bind(2, n.workspace_id).Bind(3, n.kind).Bind(4, n.title).Bind(5, n.body);
  q.Bind(6, n.link).BindJson(7, n.subject).Bind(8, n.created_at).Bind(9, n.read_at);
  if (Status s = q.Run(); !s.ok()) {
    return s;
  }
  const size_t sep = n.id.find('_');
  const std::string suffix = sep == std::string::npos ? n.id : n.id.substr(sep + 1);
  Status fanned = Exec(db, kFanOut, [&](Statement& f) {
    f.Bind(1, suffix).Bind(2, n.id).Bind(3, n.created_at).Bind(4, n.workspace_id);
  });
  if (!fanned.ok()) {
    return fanned;
  }
  return db.Changes();
}

Result<std::optional<std::string>> FindIdempotent(Connection& db, const std::string& workspace_id,
                                                  const IdempotencyKey& key) {
  Result<std::pair<std::string, std::string>> existing =
      QueryOne<std::pair<std::string, std::string>>(
          db,
          "SELECT request_hash, run_id FROM idempotency WHERE workspace_id = ? AND key = ? "
          "AND created_at >= ?",
          [&](Statement& q) {
            q.Bind(1, workspace_id).Bind(2, key.key).Bind(3, key.expires_before);
          },
          [](const Statement& q) { return std::make_pair(q.Text(0), q.Text(1)); }, "");
  if (existing.status().code() == StatusCode::kNotFound) {
    return std::optional<std::string>();
  }
  if (!existing.ok()) {
    return existing.status();
  }
  if (existing->first != key.request_hash) {
    return Status(StatusCode::kAlreadyExists,
                  "Idempotency-Key was already used with a different request",
                  "idempotency_conflict");
  }
  return std::optional<std::string>(existing->second);
}

Status KeepIdempotent(Connection& db, const std::string& workspace_id, const IdempotencyKey& key,
                      const std::string& id, int64_t created_at) {
  return Exec(db,
              "INSERT INTO idempotency(workspace_id, key, request_hash, run_id, created_at) "
              "VALUES(?, ?, ?, ?, ?) ON CONFLICT(workspace_id, key) DO UPDATE SET "
              "request_hash = excluded.request_hash, run_id = excluded.run_id, "
              "created_at = excluded.created_at",
              [&](Statement& q) {
                q.Bind(1, workspace_id).Bind(2, key.key).Bind(3, key.request_hash);
                q.Bind(4, id).Bind(5, created_at);
              });
}

}  // namespace sw::sql
