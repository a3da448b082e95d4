// SqlStore: the Store (and the OperationStore) on an SQL database, written once for every backend
// (store/sql/connection.h): SqliteStore, the embedded default, and PostgresStore.
//
// Thread-safe. Writes share one connection and go through a CommitQueue (group
// commit, in-place commits on an idle store, chained completions, a sticky failure);
// the store gives it the batch's transaction: the dialect's BEGIN, each change in a
// savepoint of its own (a lost compare-and-set rolls back only itself), one COMMIT.
// Reads use a small pool of connections beside the writer. What a run transition
// writes is planned by PlanTransition (store/transition_plan.h) and applied by
// sql/transition.cc.
//
// The methods live in files by domain: runs.cc (runs and steps), run_search.cc (the
// filters of ListRuns), retention.cc (retention settings and the deletion of old runs),
// workspaces.cc (workspaces, tokens, sessions, workflows, audit), timers_and_tasks.cc (timers,
// events, agent tasks), human_tasks.cc (approvals, forms, magic links),
// notifications.cc (notifications, channels, deliveries), connections.cc (connections,
// OAuth flow states), billing.cc (spend), schedules.cc (schedules), operations.cc (bulk
// operations); rows.cc reads and writes each record's row.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/commit_queue.h"
#include "store/operation_store.h"
#include "store/secret_box.h"
#include "store/sql/connection.h"
#include "store/store.h"

namespace sw {

class SqlStore : public Store, public OperationStore {
 public:
  // Connections open, on a migrated database. The store starts its committer.
  SqlStore(std::unique_ptr<sql::Connection> writer,
           std::vector<std::unique_ptr<sql::Connection>> readers,
           std::shared_ptr<const SecretBox> secrets);
  ~SqlStore() override;

  bool Healthy() const override { return queue_.Healthy(); }
  bool WriterBusy() override { return queue_.Busy(); }
  void WhenQueuedWritesCommitted(std::function<void()> then) override;
  void SetInstance(std::string id) override { self_ = std::move(id); }
  // The database's SQL dialect (constant, so any thread may read it).
  const sql::Dialect& dialect() const { return writer_conn_->dialect(); }

  Result<WorkspaceRecord> CreateWorkspace(const WorkspaceRecord& ws) override;
  Result<WorkspaceRecord> FindWorkspaceBySlug(const std::string& slug) override;
  Result<WorkspaceRecord> FindWorkspace(const std::string& id) override;
  Status CreateToken(const TokenRecord& token, const std::optional<AuditEntry>& audit) override;
  Result<TokenRecord> FindTokenByHash(const std::string& hash) override;
  Result<std::vector<TokenRecord>> ListTokens(const std::string& workspace_id) override;
  Status RevokeToken(const std::string& workspace_id, const std::string& token_id, int64_t now,
                     const AuditEntry& audit) override;
  Status CreateSession(const std::string& hash, const std::string& token_id,
                       int64_t expires_at) override;
  Result<TokenRecord> FindSessionToken(const std::string& hash, int64_t now) override;
  Status DeleteSession(const std::string& hash) override;

  Result<PutWorkflowResult> PutWorkflow(const WorkflowRecord& wf, const AuditEntry& audit) override;
  using Store::GetWorkflow;
  Result<WorkflowRecord> GetWorkflow(const std::string& workspace_id,
                                     const std::string& workflow_id, bool with_definition) override;
  Result<std::vector<WorkflowRecord>> ListWorkflows(const std::string& workspace_id) override;
  Result<nlohmann::json> GetDefinition(const std::string& workspace_id,
                                       const std::string& workflow_id, int version) override;
  Result<WorkflowRecord> SetWorkflowStatus(const std::string& workspace_id,
                                           const std::string& workflow_id,
                                           const std::string& status, int64_t now,
                                           const AuditEntry& audit) override;
  Result<bool> TripWorkflowSafety(const WorkflowSafetyTrip& trip) override;
  Result<WorkflowRecord> ClearWorkflowSafety(const std::string& workspace_id,
                                             const std::string& workflow_id,
                                             const std::string& reason, int64_t now,
                                             const AuditEntry& audit) override;

  Result<int64_t> CountRuns(const std::string& workspace_id, const RunFilter& filter) override;
  Result<OperationRecord> CreateOperation(const OperationRecord& op, const RunFilter& filter,
                                          int64_t max_runs, const AuditEntry& audit) override;
  Result<OperationRecord> GetOperation(const std::string& id) override;
  Result<std::vector<std::string>> ListRunningOperations() override;
  Result<std::vector<std::string>> PendingOperationRuns(const std::string& operation_id,
                                                        const std::string& after,
                                                        int limit) override;
  Result<OperationRecord> RecordOperationProgress(const OperationProgress& p) override;
  void ApplyOperationBatchesAsync(std::vector<OperationBatch> batches,
                                  OperationBatchDone done) override;

  Result<ScheduleRecord> CreateSchedule(const ScheduleRecord& s, const AuditEntry& audit,
                                        const std::optional<IdempotencyKey>& key) override;
  Result<ScheduleRecord> GetSchedule(const std::string& id) override;
  Result<SchedulePage> ListSchedules(const std::string& workspace_id,
                                     const std::string& workflow_id, const std::string& cursor,
                                     int limit) override;
  Result<ScheduleRecord> UpdateSchedule(const ScheduleRecord& s, int64_t expected_version,
                                        const AuditEntry& audit) override;
  Status DeleteSchedule(const std::string& workspace_id, const std::string& id,
                        const AuditEntry& audit) override;
  Result<std::vector<ScheduleRecord>> DueSchedules(int64_t now, int limit) override;
  Result<std::vector<RunRecord>> FireSchedule(const ScheduleFire& fire) override;
  void FireSchedulesAsync(std::vector<QueuedFire> fires) override;
  Result<int64_t> EarliestScheduleFire() override;

  Result<CreateRunResult> CreateRun(const RunRecord& run,
                                    const std::optional<IdempotencyKey>& key) override;
  using Store::CreateRunAsync;
  void CreateRunAsync(RunRecord run, std::optional<IdempotencyKey> key,
                      std::shared_ptr<RunTransition> first, CreateRunDone done) override;
  Result<RunRecord> GetRun(const std::string& run_id, bool with_steps) override;
  Result<std::vector<RunRecord>> GetRuns(const std::vector<std::string>& run_ids) override;
  Result<std::vector<std::pair<std::string, RunStatus>>> GetRunStatuses(
      const std::vector<std::string>& run_ids) override;
  Result<RunRecord> UpdateRun(const std::string& run_id, DecideTransition decide,
                              UpdateReads reads) override;
  void UpdateRunAsync(std::string run_id, DecideTransition decide, UpdateReads reads, Waiter waiter,
                      UpdateRunDone done) override;
  Result<RunPage> ListRuns(const std::string& workspace_id, const RunFilter& filter) override;
  Result<std::vector<std::string>> ListRunIdsByStatus(RunStatus status) override;
  Result<std::vector<RunStatusCount>> CountRunsByStatus() override;
  Result<std::vector<ActiveRunCount>> CountActiveRuns() override;
  Result<RetentionSettings> GetRetention(const std::string& workspace_id) override;
  Status PutRetention(const std::string& workspace_id, const RetentionSettings& settings,
                      const AuditEntry& audit) override;
  Result<RetentionBatch> DeleteExpiredRuns(int64_t now, int limit) override;
  Result<std::vector<std::pair<std::string, int64_t>>> CountWorkflowsByStatus() override;
  Result<std::vector<std::pair<std::string, int64_t>>> CountWorkflowHolds() override;
  using Store::TransitionRunAsync;
  void TransitionRunAsync(std::shared_ptr<RunTransition> t, TransitionDone done) override;
  Result<int64_t> TransitionRun(RunTransition t) override;

  Result<std::vector<TimerRecord>> DueTimers(int64_t due_before, int limit) override;
  Result<std::optional<EventRecord>> FindBufferedEvent(const std::string& run_id,
                                                       const std::string& event_type) override;
  Status BufferEvent(const std::string& run_id, int64_t expected_version,
                     const EventRecord& event) override;

  Result<std::optional<AgentTaskRecord>> ClaimAgentTask(const std::string& workspace_id,
                                                        const std::vector<std::string>& queues,
                                                        const std::string& agent_id, int64_t now,
                                                        int64_t lease_ms) override;
  Result<AgentTaskRecord> GetAgentTask(const std::string& task_id) override;
  Result<AgentTaskRecord> HeartbeatAgentTask(const std::string& task_id,
                                             const std::string& agent_id, int64_t now,
                                             int64_t lease_ms) override;
  Status CancelAgentTask(const std::string& task_id, int64_t now) override;
  Result<std::vector<AgentTaskRecord>> LapsedAgentTasks(int64_t now, int limit) override;
  Result<std::vector<std::string>> ActiveChildRuns(const std::string& run_id) override;

  Result<HumanTaskRecord> GetHumanTask(const std::string& id) override;
  Result<HumanTaskPage> ListHumanTasks(const std::string& workspace_id,
                                       const HumanTaskFilter& filter) override;
  Status CreateApprovalLink(const ApprovalLinkRecord& link) override;
  Result<ApprovalLinkRecord> FindApprovalLink(const std::string& token_hash) override;

  Result<ConnectionRecord> CreateConnection(const ConnectionRecord& c, const AuditEntry& audit,
                                            const std::optional<IdempotencyKey>& key) override;
  Result<ConnectionRecord> GetConnection(const std::string& id) override;
  Result<ConnectionRecord> FindConnectionByName(const std::string& workspace_id,
                                                const std::string& name) override;
  Result<ConnectionPage> ListConnections(const std::string& workspace_id,
                                         const ConnectionFilter& filter) override;
  Result<ConnectionRecord> UpdateConnection(const ConnectionWrite& w) override;
  Status DeleteConnection(const std::string& workspace_id, const std::string& id,
                          const AuditEntry& audit) override;
  Result<std::vector<std::string>> WakeReauthWaits(const std::string& connection_id,
                                                   int64_t now) override;
  Status ResealSecrets() override;
  Status CreateOAuthState(const OAuthStateRecord& state) override;
  Result<OAuthStateRecord> TakeOAuthState(const std::string& state_hash, int64_t now) override;

  Result<BillingRecord> GetBilling(const std::string& workspace_id, int64_t now) override;
  Result<BillingRecord> UpdateBilling(const BillingUpdate& u) override;
  Result<bool> TripSpendCap(const WorkflowSafetyTrip& trip, int64_t price) override;
  Result<std::vector<WorkflowRef>> SettleSpendHolds(int64_t now) override;
  Result<std::vector<std::pair<WorkflowRef, std::string>>> ListWorkflowHolds() override;

  Result<std::vector<AuditEntry>> ListAudit(const std::string& workspace_id,
                                            const std::string& target, const std::string& cursor,
                                            int limit) override;

  Status AddNotification(const NotificationRecord& n) override;
  Result<NotificationPage> ListNotifications(const std::string& workspace_id,
                                             const NotificationFilter& filter) override;
  Result<NotificationRecord> MarkNotificationRead(const std::string& workspace_id,
                                                  const std::string& notification_id,
                                                  int64_t now) override;
  Result<NotificationChannels> GetNotificationChannels(const std::string& workspace_id) override;
  Status PutNotificationChannels(const std::string& workspace_id,
                                 const NotificationChannels& channels,
                                 const AuditEntry& audit) override;
  Result<DeliveryPage> ListDeliveries(const std::string& workspace_id, const std::string& cursor,
                                      int limit) override;
  Result<std::vector<OutboxItem>> DueDeliveries(int64_t due_before, int limit) override;
  Result<std::vector<OutboxItem>> ClaimDueDeliveries(const std::string& claimer, int64_t now,
                                                     int64_t claim_ms, int limit) override;
  Status FinishDeliveryAttempt(const DeliveryAttempt& a) override;
  void SetOutboxListener(std::function<void()> listener) override {
    outbox_listener_ = std::move(listener);
  }

  void SetChangeListener(ChangeListener listener) override {
    queue_.SetListener(std::move(listener));
  }
  Stats GetStats() const override {
    Stats stats = queue_.GetStats();
    stats.queued = queue_.Queued();
    return stats;
  }

 protected:
  // For a backend whose empty commit shows that the database takes commits again (a
  // server that answers): see CommitQueue::SetRecoveryProbe.
  void SetRecoveryProbe(std::chrono::milliseconds interval) { queue_.SetRecoveryProbe(interval); }

 private:
  using Queue = CommitQueue<sql::Connection>;

  // The batch's transaction on the writer connection, for the queue.
  Queue::Outcome CommitBatch(std::vector<Queue::Change>& batch);
  Status WriteSync(Queue::Apply apply) { return queue_.CommitSync(std::move(apply)); }
  // The batch applied again while the database breaks deadlocks with it (bounded).
  Queue::Outcome RetryConflicts(std::vector<Queue::Change>& batch);
  // Each change of the batch in a transaction of its own (after a deadlock); the
  // commit is ok and each change has its own outcome.
  Queue::Outcome CommitOneByOne(std::vector<Queue::Change>& batch);
  // One attempt at CommitBatch's transaction.
  Queue::Outcome ApplyBatchOnce(std::vector<Queue::Change>& batch);
  // The batch in one transaction, each change in a savepoint of its own or none. Without
  // savepoints the first change that fails sets `*change_failed` and the batch is rolled
  // back.
  Queue::Outcome ApplyBatch(std::vector<Queue::Change>& batch, bool savepoints,
                            bool* change_failed = nullptr);
  Queue::Change TransitionChange(std::shared_ptr<RunTransition> t, TransitionDone done);
  // `decide`, noting a transition that carries notifications (the outbox listener is
  // told after the commit).
  DecideTransition NotingNotifications(DecideTransition decide);

  // A short read on the writer's connection while the store is idle, where the pages
  // just committed are cached (SQLite drops a reader's cache at every commit); else as
  // Read.
  template <typename Fn>
  auto ReadWarm(Fn&& fn) -> decltype(fn(std::declval<sql::Connection&>())) {
    std::optional<decltype(fn(std::declval<sql::Connection&>()))> out;
    if (dialect().warm_writer && queue_.ReadIfIdle([&] { out = fn(*writer_conn_); })) {
      return std::move(*out);
    }
    return Read(fn);
  }

  // Borrows a read connection for the duration of `fn`.
  template <typename Fn>
  auto Read(Fn&& fn) -> decltype(fn(std::declval<sql::Connection&>())) {
    std::unique_ptr<sql::Connection> conn;
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

  std::shared_ptr<const SecretBox> secrets_;
  std::string self_;  // the instance's id; set before the first write, then constant
  std::unique_ptr<sql::Connection> writer_conn_;  // used by the queue's committer

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<sql::Connection>> readers_;  // guarded by readers_mu_

  // Set before the first write. Told after a commit that queued deliveries.
  std::function<void()> outbox_listener_;
  // A change of the batch being committed carries notifications; touched only by the
  // thread that holds the writer (the queue's `committing_`), which hands it on.
  bool outbox_signal_ = false;

  // Last, so it stops (committing what is queued) before the connections close.
  Queue queue_;
};

}  // namespace sw
