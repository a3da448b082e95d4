// The SQL store's rows: for each record type its column list, the one reader that
// maps a row selected with that list to the record, and the statement that writes it.
// A reader refuses a value its record does not admit (DataCorruption) rather than
// substitute a default.
//
// Not thread-safe, like the Connection and Statement they use.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/records.h"
#include "store/sql/connection.h"
#include "store/transition_plan.h"

namespace sw::sql {

inline constexpr char kRunColumns[] =
    "id, workspace_id, workflow_id, workflow_version, status, version, paused_from, pause, "
    "wait, cancel, input, output, error, trigger, replay_of, created_at, started_at, "
    "updated_at, finished_at, parent_run_id, parent_path, owner, replay_from_step";
inline constexpr char kRunHeadColumns[] =
    "id, status, version, parent_run_id, parent_path, owner, side_rows";
inline constexpr char kStepColumns[] =
    "run_id, seq, path, step_id, type, status, attempt, started_at, finished_at, output, "
    "error, result_discarded, detail, copied";
inline constexpr char kTaskColumns[] =
    "id, workspace_id, run_id, path, step_id, queue, input, attempt, status, agent_id, "
    "available_at, lease_expires_at, created_at, updated_at";
inline constexpr char kWorkflowColumns[] =
    "workspace_id, id, kind, mode, status, version, created_at, updated_at, safety";
inline constexpr char kTokenColumns[] =
    "id, workspace_id, name, role, hash, created_at, revoked_at";
inline constexpr char kWorkspaceColumns[] = "id, slug, created_at";
inline constexpr char kAuditColumns[] =
    "id, workspace_id, at, actor, action, target, reason, request_id, status_before, "
    "status_after";
inline constexpr char kTimerColumns[] = "run_id, kind, path, due_at";
inline constexpr char kEventColumns[] = "id, run_id, event_type, payload, created_at";
inline constexpr char kHumanTaskColumns[] =
    "id, kind, workspace_id, workflow_id, run_id, path, step_id, status, version, body, "
    "resolution, expires_at, created_at, updated_at";
inline constexpr char kApprovalLinkColumns[] =
    "token_hash, approval_id, workspace_id, recipient, expires_at, used_at, created_at";
inline constexpr char kDefinitionColumns[] = "workspace_id, workflow_id, version, definition";
inline constexpr char kNotificationColumns[] =
    "id, workspace_id, kind, title, body, link, subject, created_at, read_at";
inline constexpr char kDeliveryColumns[] =
    "id, workspace_id, notification_id, channel, target, format, status, attempts, "
    "next_attempt_at, last_error, created_at, updated_at";

// Each reads a row selected with its column list above.
Result<RunRecord> ReadRun(const Statement& s);
Result<RunHead> ReadRunHead(const Statement& s);
Result<StepRecord> ReadStep(const Statement& s);
Result<AgentTaskRecord> ReadTask(const Statement& s);
Result<WorkflowRecord> ReadWorkflow(const Statement& s);
Result<TokenRecord> ReadToken(const Statement& s);
WorkspaceRecord ReadWorkspace(const Statement& s);
AuditEntry ReadAudit(const Statement& s);
Result<TimerRecord> ReadTimer(const Statement& s);
Result<EventRecord> ReadEvent(const Statement& s);
Result<nlohmann::json> ReadDefinition(const Statement& s);
Result<HumanTaskRecord> ReadHumanTask(const Statement& s);
ApprovalLinkRecord ReadApprovalLink(const Statement& s);
Result<NotificationRecord> ReadNotification(const Statement& s);
Result<DeliveryRecord> ReadDelivery(const Statement& s);
// A row of notification_channels: (position, channel, target, format).
struct ChannelRow {
  int64_t position = 0;
  DeliveryChannel channel = DeliveryChannel::kEmail;
  std::string target;
  DeliveryFormat format = DeliveryFormat::kText;
};
Result<ChannelRow> ReadChannelRow(const Statement& s);

// Inserts the run, owned by `owner` (its own `owner` field is not read), with no timers
// or tasks yet (RunHead::side_rows).
Status InsertRun(Connection& db, const RunRecord& r, std::string_view owner);
// By (run, path): a new path gets the run's next seq; an attempt or start of 0 and a
// null detail keep what is stored.
Status UpsertStep(Connection& db, const std::string& run_id, const StepRecord& s);
// The same for several, in order (one statement where the dialect has round trips).
Status UpsertSteps(Connection& db, const std::string& run_id, std::span<const StepRecord> steps);
Status InsertTask(Connection& db, const AgentTaskRecord& t);
Status InsertAudit(Connection& db, const AuditEntry& a);
Status InsertHumanTask(Connection& db, const HumanTaskRecord& t);
// Idempotency keys (a run's start, a connection's create): the id the key made for the
// same request within its window (nullopt: none yet), or kAlreadyExists
// "idempotency_conflict" when the key was used for another request.
Result<std::optional<std::string>> FindIdempotent(Connection& db, const std::string& workspace_id,
                                                  const IdempotencyKey& key);
// Remembers that `key` made `id`.
Status KeepIdempotent(Connection& db, const std::string& workspace_id, const IdempotencyKey& key,
                      const std::string& id, int64_t created_at);
// Inserts the notification and fans it out: one pending delivery, due at its creation,
// per row of its workspace's notification_channels. Answers the deliveries queued.
Result<int64_t> InsertNotification(Connection& db, const NotificationRecord& n);

}  // namespace sw::sql
