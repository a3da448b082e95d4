// Store is where everything durable lives: workspaces, tokens, workflow versions,
// runs, their steps, timers, buffered events, idempotency keys and the audit log.
// It speaks the domain, never SQL: a run changes only through TransitionRun, a
// compare-and-set on (status, version) committed in one transaction together with
// its step rows, timers and audit entry.
//
// Implementations are thread-safe. Writes go through one writer that commits many
// callers' changes per transaction (group commit); reads may run concurrently.
// After a commit the store calls its change listener with the runs that changed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/billing_records.h"
#include "store/connection_records.h"
#include "store/notification_records.h"
#include "store/records.h"
#include "store/schedule_records.h"

namespace sw {

// A change of an agent task, committed with a run's transition. It applies only when the
// task is in `expect_status` (and, when set, its lease lapsed before
// `expect_lease_before`); otherwise the whole transition fails with kAborted.
struct AgentTaskUpdate {
  std::string task_id;
  std::string expect_status;
  int64_t expect_lease_before = 0;  // 0: any lease
  std::string status;
  int attempt = 0;            // 0: unchanged
  int64_t available_at = -1;  // -1: unchanged
};

// An approval or form written with a run's transition: created (expected_version 0)
// or changed as a compare-and-set on its version (a lost one fails the whole
// transition with kAborted). The store sets version and updated_at.
struct HumanTaskWrite {
  HumanTaskRecord task;
  int64_t expected_version = 0;
};

// A compare-and-set on one run. Fields left unset are not changed.
struct RunTransition {
  std::string run_id;
  int64_t expected_version = 0;
  std::optional<RunStatus> expected_status;
  std::optional<RunStatus> next_status;  // unset: status unchanged (only a version bump)
  std::optional<RunStatus> paused_from;
  std::optional<nlohmann::json> pause;
  std::optional<nlohmann::json> wait;
  std::optional<nlohmann::json> cancel;
  std::optional<nlohmann::json> output;
  std::optional<nlohmann::json> error;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
  int64_t now = 0;

  std::vector<StepRecord> upsert_steps;  // by (run, path); a new path gets the next seq
  // Steps in flight (running/waiting) become cancelled with this error message.
  std::optional<std::string> cancel_steps_in_flight;
  // Marks the step at this path result_discarded (a late result after a cancel).
  std::optional<std::string> discard_step_result;
  // A timer with an empty run_id is this run's; another run's (a parent woken by its
  // child's end) is added too.
  std::vector<TimerRecord> add_timers;
  bool clear_timers = false;            // delete the run's timers (but its run timeout) first
  std::optional<RunRecord> create_run;  // a child run, created with this change
  std::optional<AgentTaskRecord> enqueue_task;  // an agent task, queued with this change
  std::optional<AgentTaskUpdate> update_task;
  std::optional<int64_t> consume_event_id;
  std::optional<HumanTaskWrite> human_task;
  // A magic link this change uses (its token's hash): it must be unused (else the whole
  // transition fails with kAborted) and is used after.
  std::optional<std::string> use_link_hash;
  std::optional<AuditEntry> audit;
  // Notifications of the change (an approval requested), inserted and fanned out to
  // their deliveries in the same commit, so the change is never apart from them.
  std::vector<NotificationRecord> notify;
  // The prices of the step attempts this change dispatches, added to the spend in the
  // same commit. A charge the cap refuses fails the whole transition with
  // kResourceExhausted (kSpendCapRefused); nothing of it is written.
  std::optional<SpendCharge> charge;
  // Committed by the run's driver (the engine executing it), not by a control. With
  // several instances a driver's change applies only while no other instance owns the
  // run; otherwise it fails with kAborted (kLeaseLost) and writes nothing
  // (store/transition_plan.h says who owns a run).
  bool from_driver = false;
};

// The API code of a driver's change refused because another instance owns the run.
inline constexpr char kLeaseLost[] = "lease_lost";

// The message of a step stopped in flight by a cancel.
inline constexpr char kStoppedByUser[] = "workflow stopped by user";

// A cancel of `run` as it was read: a compare-and-set on its status and version that
// records `cancel` ({reason, by, at}), clears pause, wait, output and error, stops the
// steps in flight and drops its timers.
inline RunTransition CancelTransition(const RunRecord& run, nlohmann::json cancel, int64_t now) {
  RunTransition t;
  t.run_id = run.id;
  t.expected_version = run.version;
  t.expected_status = run.status;
  t.next_status = RunStatus::kCancelled;
  t.now = now;
  t.cancel = std::move(cancel);
  t.pause = nlohmann::json();
  t.wait = nlohmann::json();
  t.output = nlohmann::json();
  t.error = nlohmann::json();
  t.finished_at = now;
  t.cancel_steps_in_flight = kStoppedByUser;
  t.clear_timers = true;
  return t;
}

// Wakes `run`, waiting at a step, with that step's result (`row`: its path, id, type,
// status, output or error): a compare-and-set on the waiting run that clears its wait
// and timers and commits the row. The run then goes on (running).
inline RunTransition WakeWithStepResult(const RunRecord& run, StepRecord row, int64_t now) {
  RunTransition t;
  t.run_id = run.id;
  t.expected_version = run.version;
  t.expected_status = RunStatus::kWaiting;
  t.next_status = RunStatus::kRunning;
  t.wait = nlohmann::json();
  t.clear_timers = true;
  t.now = now;
  row.finished_at = now;
  t.upsert_steps.push_back(std::move(row));
  return t;
}

// A workflow's safety hold, written with its audit entry and notification in one
// commit, and only if the workflow holds none yet (so a trip is recorded once).
struct WorkflowSafetyTrip {
  std::string workspace_id;
  std::string workflow_id;
  nlohmann::json safety;  // {reason, message, tripped_at}
  int64_t now = 0;
  AuditEntry audit;
  NotificationRecord notify;
};

// A run whose input or output holds `value` (a JSON scalar: string, number, boolean or
// null, compared with its type: 42 is not "42") at the object keys `keys`, in order.
struct RunJsonMatch {
  enum class Field { kInput, kOutput };
  Field field = Field::kInput;
  std::vector<std::string> keys;  // REQUIRES: not empty
  nlohmann::json value;
};

// What ListRuns answers: every set field must hold (AND). Times are ms since the epoch;
// `*_after` is inclusive, `*_before` exclusive; `finished_*` only match finished runs.
struct RunFilter {
  std::optional<std::vector<RunStatus>> statuses;
  std::optional<std::string> workflow_id;
  std::optional<std::string> pause_reason;
  std::optional<std::string> wait_kind;
  std::optional<std::string> id_contains;
  std::optional<std::string> parent_run_id;
  std::optional<std::vector<std::string>> run_ids;  // exactly these runs (at most 500)
  std::optional<int64_t> workflow_version;
  std::optional<int64_t> created_after;
  std::optional<int64_t> created_before;
  std::optional<int64_t> finished_after;
  std::optional<int64_t> finished_before;
  std::optional<std::string> error_code;  // the run's error.code
  std::optional<std::string> actor;       // the run's trigger.actor ("token:NAME")
  std::vector<RunJsonMatch> json_matches;
  std::string cursor;  // exclusive: runs with smaller ids
  int limit = 50;
};

struct RunPage {
  std::vector<RunRecord> items;
  std::string next_cursor;  // empty when there is no further page
};

// A workspace's retention of finished runs; unset: no limit of that kind.
struct RetentionSettings {
  std::optional<int64_t> max_age_ms;
  std::optional<int64_t> max_count;
};

// How many runs one retention batch deleted, and whether more are due now.
struct RetentionBatch {
  int64_t deleted = 0;
  bool more = false;
};

struct CreateRunResult {
  RunRecord run;
  bool replayed = false;  // an Idempotency-Key repeat: `run` is the first run
};

struct IdempotencyKey {
  std::string key;
  std::string request_hash;
  int64_t expires_before = 0;  // keys created before this time are forgotten
};

struct PutWorkflowResult {
  WorkflowRecord workflow;
  bool created = false;
  bool changed = false;  // false: identical to the current version
};

struct HumanTaskFilter {
  std::string kind;  // "approval" or "form"
  std::optional<std::string> status;
  std::optional<std::string> run_id;
  std::string cursor;  // from the previous page's next_cursor
  int limit = 50;
};

// Open tasks first, then newest first.
struct HumanTaskPage {
  std::vector<HumanTaskRecord> items;
  std::string next_cursor;  // empty when there is no further page
};

struct RunStatusCount {
  RunStatus status;
  int64_t count;
};

struct ActiveRunCount {
  std::string workflow_id;
  RunStatus status = RunStatus::kPending;
  std::string pause_reason;  // paused runs: operator or reauth
  std::string wait_kind;     // waiting runs: sleep, event, approval, ...
  int64_t count = 0;
};

// The reason of a write that failed because the disk is full. Such a commit was
// rolled back whole, so it is not sticky: the store tries the next commit again.
inline constexpr std::string_view kDiskFull = "disk_full";
// The reason of a write that failed because the database could not be reached (a
// PostgreSQL server restarting). Not sticky either: the next commit tries again.
inline constexpr std::string_view kDatabaseUnavailable = "database_unavailable";
// The reason of a write the database rolled back to break a deadlock or a
// serialization conflict with another instance's writer. The store tries the batch
// again; this is what is left when the conflicts went on.
inline constexpr std::string_view kWriteConflict = "write_conflict";

// Whether a failed commit was rolled back whole for a reason that may pass by itself
// (a full disk, a database out of reach, a conflict with another writer), so the store
// keeps trying later commits.
inline bool IsTransientWriteFailure(const Status& s) {
  return s.reason() == kDiskFull || s.reason() == kDatabaseUnavailable ||
         s.reason() == kWriteConflict;
}

class Store {
 public:
  virtual ~Store() = default;

  // Health: false after a failed commit (a sticky error; the store stops writing), or
  // while commits fail because the disk is full or the database is out of reach (true
  // again after the next commit).
  virtual bool Healthy() const = 0;
  // The writer is committing or has changes waiting: a change asked for now is batched
  // with others rather than committed at once (what a caller may trade latency for).
  virtual bool WriterBusy() = 0;
  // Calls `then` once every write queued before this call is committed (or has
  // failed): on the store's writer, or at once on this thread when none is queued.
  // Writes queued later are not waited for.
  virtual void WhenQueuedWritesCommitted(std::function<void()> then) = 0;

  // Several instances on one database: this instance's id, which the store writes as
  // the owner of the runs it creates, wakes or drives (store/transition_plan.h). Set
  // before the first write; never set with one process.
  virtual void SetInstance(std::string id) = 0;

  // Workspaces and tokens.
  virtual Result<WorkspaceRecord> CreateWorkspace(const WorkspaceRecord& ws) = 0;
  virtual Result<WorkspaceRecord> FindWorkspaceBySlug(const std::string& slug) = 0;
  virtual Result<WorkspaceRecord> FindWorkspace(const std::string& id) = 0;
  virtual Status CreateToken(const TokenRecord& token, const std::optional<AuditEntry>& audit) = 0;
  virtual Result<TokenRecord> FindTokenByHash(const std::string& hash) = 0;
  virtual Result<std::vector<TokenRecord>> ListTokens(const std::string& workspace_id) = 0;
  virtual Status RevokeToken(const std::string& workspace_id, const std::string& token_id,
                             int64_t now, const AuditEntry& audit) = 0;

  // UI sessions: a cookie secret's hash that stands for a token until it expires, is
  // deleted (sign-out) or its token is revoked.
  virtual Status CreateSession(const std::string& hash, const std::string& token_id,
                               int64_t expires_at) = 0;
  virtual Result<TokenRecord> FindSessionToken(const std::string& hash, int64_t now) = 0;
  virtual Status DeleteSession(const std::string& hash) = 0;

  // Workflows. PutWorkflow stores a new version unless identical to the current one.
  virtual Result<PutWorkflowResult> PutWorkflow(const WorkflowRecord& wf,
                                                const AuditEntry& audit) = 0;
  // The workflow with its current definition, or its row alone (kind, mode, status,
  // version, safety): all a start needs, the engine caching definitions by version.
  virtual Result<WorkflowRecord> GetWorkflow(const std::string& workspace_id,
                                             const std::string& workflow_id,
                                             bool with_definition) = 0;
  Result<WorkflowRecord> GetWorkflow(const std::string& workspace_id,
                                     const std::string& workflow_id) {
    return GetWorkflow(workspace_id, workflow_id, /*with_definition=*/true);
  }
  virtual Result<std::vector<WorkflowRecord>> ListWorkflows(const std::string& workspace_id) = 0;
  // Workflows of every workspace by their shown status (active, disabled,
  // paused_safety: core/workflow_safety.h), for /metrics.
  virtual Result<std::vector<std::pair<std::string, int64_t>>> CountWorkflowsByStatus() = 0;
  // Workflows held for safety, counted by the hold's reason (throughput_cap, spend_cap).
  virtual Result<std::vector<std::pair<std::string, int64_t>>> CountWorkflowHolds() = 0;
  virtual Result<nlohmann::json> GetDefinition(const std::string& workspace_id,
                                               const std::string& workflow_id, int version) = 0;
  virtual Result<WorkflowRecord> SetWorkflowStatus(const std::string& workspace_id,
                                                   const std::string& workflow_id,
                                                   const std::string& status, int64_t now,
                                                   const AuditEntry& audit) = 0;

  // Safety holds. TripWorkflowSafety answers false (and writes nothing) when the
  // workflow holds one already; kNotFound for an unknown workflow.
  virtual Result<bool> TripWorkflowSafety(const WorkflowSafetyTrip& trip) = 0;
  // Clears the workflow's hold if its reason is `reason`; kFailedPrecondition
  // (invalid_transition) when it holds none or one for another reason. The audit
  // entry's status_after is set to the admin's status, which shows again. Answers the
  // workflow as it is after.
  virtual Result<WorkflowRecord> ClearWorkflowSafety(const std::string& workspace_id,
                                                     const std::string& workflow_id,
                                                     const std::string& reason, int64_t now,
                                                     const AuditEntry& audit) = 0;

  // Spend (store/billing_records.h), as of `now`: a later billing period starts with
  // nothing spent. GetBilling answers the defaults for a workspace never configured.
  virtual Result<BillingRecord> GetBilling(const std::string& workspace_id, int64_t now) = 0;
  // Applies `u` with its audit entry; a cap above the spend (or none) ends the capped
  // stage. Answers the billing as it is after.
  virtual Result<BillingRecord> UpdateBilling(const BillingUpdate& u) = 0;
  // A dispatch costing `price` was refused for the cap. If the cap still refuses it, the
  // workspace is capped and the trip is written as TripWorkflowSafety writes it (unless
  // the workflow holds already), in one commit: true. False (nothing written) when the
  // cap no longer refuses it (raised meanwhile, a new period): the dispatch may retry.
  virtual Result<bool> TripSpendCap(const WorkflowSafetyTrip& trip, int64_t price) = 0;
  // Ends the spend holds the cap no longer justifies: each workflow held for
  // `spend_cap` whose workspace is not capped as of `now` (its cap raised, or a new
  // period) is cleared, with an audit entry by `system`. Answers those workflows.
  virtual Result<std::vector<WorkflowRef>> SettleSpendHolds(int64_t now) = 0;
  // Every workflow held for safety now, with the reason of its hold (several instances
  // bring their in-memory breakers in line with it).
  virtual Result<std::vector<std::pair<WorkflowRef, std::string>>> ListWorkflowHolds() = 0;

  // Runs.
  // `run.steps`, when given (a rerun's copied steps, in execution order), are inserted
  // in the run's own transaction.
  virtual Result<CreateRunResult> CreateRun(const RunRecord& run,
                                            const std::optional<IdempotencyKey>& key) = 0;
  // The same, without waiting: `done` runs on this thread when the store is idle,
  // else on the committing thread; it must not block on anything but the store.
  // `first`, when given, is the run's first change as its driver planned it from the run
  // as created (the results of its pure first steps, and the run's start, completion or
  // failure): it is applied in the create's own transaction, unless `key` replays an
  // earlier run. The answer is the run as created either way (pending, version 1): a
  // start answers `pending` (API.md), and the driver knows what `first` made of it.
  // REQUIRES: `first` charges nothing (a refused charge would refuse the create).
  using CreateRunDone = std::function<void(Result<CreateRunResult>)>;
  virtual void CreateRunAsync(RunRecord run, std::optional<IdempotencyKey> key,
                              std::shared_ptr<RunTransition> first, CreateRunDone done) = 0;
  void CreateRunAsync(RunRecord run, std::optional<IdempotencyKey> key, CreateRunDone done) {
    CreateRunAsync(std::move(run), std::move(key), nullptr, std::move(done));
  }
  virtual Result<RunRecord> GetRun(const std::string& run_id, bool with_steps) = 0;
  // The runs of `run_ids` that exist (without their steps), or only their statuses, as
  // they are now, read in one query beside the writer, in no particular order: for code
  // that looks at many runs at once (a bulk operation's batch, a scheduler's look).
  // REQUIRES: at most kMaxRunsRead ids.
  static constexpr size_t kMaxRunsRead = 1000;
  virtual Result<std::vector<RunRecord>> GetRuns(const std::vector<std::string>& run_ids) = 0;
  virtual Result<std::vector<std::pair<std::string, RunStatus>>> GetRunStatuses(
      const std::vector<std::string>& run_ids) = 0;
  virtual Result<RunPage> ListRuns(const std::string& workspace_id, const RunFilter& filter) = 0;
  virtual Result<std::vector<std::string>> ListRunIdsByStatus(RunStatus status) = 0;
  virtual Result<std::vector<RunStatusCount>> CountRunsByStatus() = 0;
  // Runs not finished, counted by workflow, status, pause reason and wait kind.
  virtual Result<std::vector<ActiveRunCount>> CountActiveRuns() = 0;

  // Retention (per workspace; none set: keep everything). PutRetention replaces both
  // limits and writes `audit` in the same commit.
  virtual Result<RetentionSettings> GetRetention(const std::string& workspace_id) = 0;
  virtual Status PutRetention(const std::string& workspace_id, const RetentionSettings& settings,
                              const AuditEntry& audit) = 0;
  // Deletes up to `limit` finished runs (completed, failed, cancelled) that are past a
  // limit of their workspace as of `now` — finished before now - max_age, or older than
  // the newest max_count finished runs — with every row that is theirs (steps, timers,
  // events, agent tasks, approvals and forms with their links, idempotency keys), in
  // one commit. A run whose parent or one of whose children is not finished is kept
  // until they are. Unfinished runs are never touched; audit entries and
  // notifications stay.
  virtual Result<RetentionBatch> DeleteExpiredRuns(int64_t now, int limit) = 0;

  // The compare-and-set. Answers the new version; kAborted when the run is not at
  // (expected_status, expected_version). `done` runs after the commit: on this thread
  // (before this returns) when the store was idle, else on the committing thread. A
  // caller may chain its next change from there without a thread hand-off; it must not
  // block on anything but the store.
  // The store only reads `t`; the caller may take it back once `done` runs.
  using TransitionDone = std::function<void(Result<int64_t>)>;
  virtual void TransitionRunAsync(std::shared_ptr<RunTransition> t, TransitionDone done) = 0;
  void TransitionRunAsync(RunTransition t, TransitionDone done) {
    TransitionRunAsync(std::make_shared<RunTransition>(std::move(t)), std::move(done));
  }
  // The same, waiting for the commit. Safe to call from a `done` callback.
  virtual Result<int64_t> TransitionRun(RunTransition t) = 0;

  // Reads the run and has `decide` make its transition from what it read (nullopt: no
  // change), then applies it, in one write: nothing changes the run in between, so no
  // compare-and-set can be lost. Answers the run as it is afterwards. `decide` runs
  // inside the store's write (on any thread): it must be quick and not call the store.
  using DecideTransition =
      std::function<Result<std::optional<RunTransition>>(const RunRecord& run)>;
  // Whether the run `decide` sees, and the run answered, come with their steps.
  struct UpdateReads {
    bool steps_to_decide = false;
    bool steps_in_answer = true;
  };
  virtual Result<RunRecord> UpdateRun(const std::string& run_id, DecideTransition decide,
                                      UpdateReads reads) = 0;
  // The same, without waiting; `done` runs as a TransitionRunAsync's does. `waiter`
  // says who waits for `done`, which decides how soon the store's writer takes the change
  // (UpdateRun's is taken before the engine's progress).
  enum class Waiter {
    kEngine,   // the engine: the change is batched with the rest of its progress
    kControl,  // a client's pause, resume or cancel: taken before any other change
  };
  using UpdateRunDone = std::function<void(Result<RunRecord>)>;
  virtual void UpdateRunAsync(std::string run_id, DecideTransition decide, UpdateReads reads,
                              Waiter waiter, UpdateRunDone done) = 0;

  // Schedules (store/schedule_records.h). Update and Delete are compare-and-sets on the
  // schedule's version (kAborted when it changed; kNotFound for another workspace's).
  // CreateSchedule answers `s` as created; with `key`, a repeat of the same request
  // answers the first schedule instead (kAlreadyExists "idempotency_conflict" for another
  // request under the key; kNotFound when that schedule was deleted since).
  virtual Result<ScheduleRecord> CreateSchedule(const ScheduleRecord& s, const AuditEntry& audit,
                                                const std::optional<IdempotencyKey>& key) = 0;
  virtual Result<ScheduleRecord> GetSchedule(const std::string& id) = 0;
  // Newest first; `workflow_id` empty: the schedules of every workflow.
  virtual Result<SchedulePage> ListSchedules(const std::string& workspace_id,
                                             const std::string& workflow_id,
                                             const std::string& cursor, int limit) = 0;
  // Writes every field of `s` but id, workspace and created_at; answers it as written
  // (version bumped).
  virtual Result<ScheduleRecord> UpdateSchedule(const ScheduleRecord& s, int64_t expected_version,
                                                const AuditEntry& audit) = 0;
  virtual Status DeleteSchedule(const std::string& workspace_id, const std::string& id,
                                const AuditEntry& audit) = 0;
  // Schedules not paused with a tick due at or before `now`, earliest first.
  virtual Result<std::vector<ScheduleRecord>> DueSchedules(int64_t now, int limit) = 0;
  // The earliest tick due of the schedules not paused; 0 when there is none.
  virtual Result<int64_t> EarliestScheduleFire() = 0;
  // See ScheduleFire. Answers the runs it created (empty after a lost compare-and-set:
  // kAborted instead).
  virtual Result<std::vector<RunRecord>> FireSchedule(const ScheduleFire& fire) = 0;
  // Many fires without waiting: queued together, so they share a few transactions
  // (each still wins or loses its compare-and-set alone). Each `done` runs on the
  // committing thread (as a CreateRunAsync's does).
  using FireScheduleDone = std::function<void(Result<std::vector<RunRecord>>)>;
  struct QueuedFire {
    ScheduleFire fire;
    FireScheduleDone done;
  };
  virtual void FireSchedulesAsync(std::vector<QueuedFire> fires) = 0;

  // Timers and events.
  virtual Result<std::vector<TimerRecord>> DueTimers(int64_t due_before, int limit) = 0;
  virtual Result<std::optional<EventRecord>> FindBufferedEvent(const std::string& run_id,
                                                               const std::string& event_type) = 0;
  // Buffers an event for a run at `expected_version` (a CAS, so a wait that starts
  // concurrently either sees the event or makes this fail with kAborted).
  virtual Status BufferEvent(const std::string& run_id, int64_t expected_version,
                             const EventRecord& event) = 0;

  // Agent tasks. A run that ends closes its open tasks (status cancelled) in the same
  // commit, so a late completion finds out.
  // Claims the oldest available task of `queues` (a lease until now + lease_ms).
  virtual Result<std::optional<AgentTaskRecord>> ClaimAgentTask(
      const std::string& workspace_id, const std::vector<std::string>& queues,
      const std::string& agent_id, int64_t now, int64_t lease_ms) = 0;
  virtual Result<AgentTaskRecord> GetAgentTask(const std::string& task_id) = 0;
  // Extends the lease of a task claimed by `agent_id` (if still claimed): answers the
  // task as it is after.
  virtual Result<AgentTaskRecord> HeartbeatAgentTask(const std::string& task_id,
                                                     const std::string& agent_id, int64_t now,
                                                     int64_t lease_ms) = 0;
  // Closes a queued or claimed task (its step timed out): a late completion is discarded.
  virtual Status CancelAgentTask(const std::string& task_id, int64_t now) = 0;
  // Claimed tasks whose lease ran out before `now`.
  virtual Result<std::vector<AgentTaskRecord>> LapsedAgentTasks(int64_t now, int limit) = 0;
  // The active (not terminal) runs started by `run_id`'s steps.
  virtual Result<std::vector<std::string>> ActiveChildRuns(const std::string& run_id) = 0;

  // Approvals and forms (written only with their run's transition; a run that ends
  // closes its open ones in the same commit), and magic links.
  virtual Result<HumanTaskRecord> GetHumanTask(const std::string& id) = 0;
  virtual Result<HumanTaskPage> ListHumanTasks(const std::string& workspace_id,
                                               const HumanTaskFilter& filter) = 0;
  virtual Status CreateApprovalLink(const ApprovalLinkRecord& link) = 0;
  virtual Result<ApprovalLinkRecord> FindApprovalLink(const std::string& token_hash) = 0;

  // Connections. Records carry their secrets in the clear; the store seals them at rest
  // and they leave it only through these reads. Names are unique per workspace
  // (kAlreadyExists).
  // With `key`: a repeat of the same request answers the first connection (kAlreadyExists
  // "idempotency_conflict" for another request under the key).
  virtual Result<ConnectionRecord> CreateConnection(const ConnectionRecord& c,
                                                    const AuditEntry& audit,
                                                    const std::optional<IdempotencyKey>& key) = 0;
  virtual Result<ConnectionRecord> GetConnection(const std::string& id) = 0;
  virtual Result<ConnectionRecord> FindConnectionByName(const std::string& workspace_id,
                                                        const std::string& name) = 0;
  virtual Result<ConnectionPage> ListConnections(const std::string& workspace_id,
                                                 const ConnectionFilter& filter) = 0;
  // A compare-and-set on the connection's version (kAborted when it changed); answers
  // the connection as written.
  virtual Result<ConnectionRecord> UpdateConnection(const ConnectionWrite& w) = 0;
  virtual Status DeleteConnection(const std::string& workspace_id, const std::string& id,
                                  const AuditEntry& audit) = 0;
  // Wakes the runs waiting (agent mode) for `connection_id` to be reconnected (for "":
  // those whose connection is active, or deleted), all in one commit: each becomes
  // running with no wait and its version bumped, a compare-and-set on its status and
  // wait. Answers their ids (the change listener is told them too).
  virtual Result<std::vector<std::string>> WakeReauthWaits(const std::string& connection_id,
                                                           int64_t now) = 0;
  // Seals every stored secret again under the store's current key (a key rotation);
  // flows under way are dropped. One transaction.
  virtual Status ResealSecrets() = 0;
  // Authorization-code flows under way. TakeOAuthState answers a state once (kNotFound
  // when unknown, used or expired) and forgets it.
  virtual Status CreateOAuthState(const OAuthStateRecord& state) = 0;
  virtual Result<OAuthStateRecord> TakeOAuthState(const std::string& state_hash, int64_t now) = 0;

  // Audit.
  virtual Result<std::vector<AuditEntry>> ListAudit(const std::string& workspace_id,
                                                    const std::string& target,
                                                    const std::string& cursor, int limit) = 0;

  // Notifications. A notification is inserted together with one pending delivery per
  // recipient of its workspace's channels (each email address, each webhook), due at
  // once; the in-app item is the notification itself.
  virtual Status AddNotification(const NotificationRecord& n) = 0;
  // Newest first, with the workspace's unread count.
  virtual Result<NotificationPage> ListNotifications(const std::string& workspace_id,
                                                     const NotificationFilter& filter) = 0;
  // Sets read_at unless it is set already; answers the notification as it is after.
  virtual Result<NotificationRecord> MarkNotificationRead(const std::string& workspace_id,
                                                          const std::string& notification_id,
                                                          int64_t now) = 0;
  // Empty channels until put.
  virtual Result<NotificationChannels> GetNotificationChannels(const std::string& workspace_id) = 0;
  // Replaces the workspace's channels; notifications added before keep their deliveries.
  virtual Status PutNotificationChannels(const std::string& workspace_id,
                                         const NotificationChannels& channels,
                                         const AuditEntry& audit) = 0;
  // Newest first; `cursor` is exclusive (deliveries with smaller ids).
  virtual Result<DeliveryPage> ListDeliveries(const std::string& workspace_id,
                                              const std::string& cursor, int limit) = 0;
  // Pending deliveries due before `due_before`, soonest first, with their notifications
  // (claimed or not).
  virtual Result<std::vector<OutboxItem>> DueDeliveries(int64_t due_before, int limit) = 0;
  // Claims for `claimer` (an instance's id) up to `limit` pending deliveries due at
  // `now`, soonest first, that nobody else holds (never claimed, their claim lapsed, or
  // `claimer`'s own: a restarted instance takes its claims back), each until `now +
  // claim_ms`. While a claim holds no other claimer gets the delivery, so one instance
  // sends each attempt; FinishDeliveryAttempt ends it, and a killed claimer's lapses.
  virtual Result<std::vector<OutboxItem>> ClaimDueDeliveries(const std::string& claimer,
                                                             int64_t now, int64_t claim_ms,
                                                             int limit) = 0;
  // Records an attempt's outcome and ends its claim; kAborted when the delivery is no
  // longer pending after a.expected_attempts attempts (another sender recorded it first).
  virtual Status FinishDeliveryAttempt(const DeliveryAttempt& a) = 0;
  // Called after a commit that queued deliveries (a signal: look at DueDeliveries
  // again). Set before use; it must only hand off.
  virtual void SetOutboxListener(std::function<void()> listener) = 0;

  // Called after each commit with the ids of the runs it changed. Set before use.
  using ChangeListener = std::function<void(const std::vector<std::string>& run_ids)>;
  virtual void SetChangeListener(ChangeListener listener) = 0;

  // Commit statistics for /metrics.
  struct Stats {
    uint64_t commits = 0;
    uint64_t writes = 0;  // every queued change: runs, workflows, tokens, sessions
    uint64_t steps_committed = 0;
    uint64_t batch_size_sum = 0;
    uint64_t batch_size_max = 0;
    uint64_t batch_buckets[6] = {};  // <=1, <=4, <=16, <=64, <=256, more
    uint64_t queued = 0;             // changes waiting for the writer now
  };
  virtual Stats GetStats() const = 0;
};

}  // namespace sw
