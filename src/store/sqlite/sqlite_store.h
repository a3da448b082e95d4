// SqliteStore: the embedded default Store, one SQLite file in WAL mode with
// synchronous=FULL, so a commit is on stable storage before anyone acts on it.
//
// Thread-safe. Writes share one connection. Under load a writer thread takes a
// bounded batch of queued changes, applies each inside its own savepoint (a lost
// compare-and-set rolls back only itself), commits once and then completes every
// caller: many transitions share one fsync (group commit, like leveldb's writer
// queue). Callbacks run on the writer thread and may queue the next changes, which
// join the next batch. A synchronous write that finds nothing queued or committing
// commits in place on its own thread, since a hand-off to the writer and back costs
// more than the write itself. A failed commit fails the whole group and makes the
// store unhealthy for good. Reads use a small pool of read-only connections, which
// WAL lets run beside the writer.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/db.h"
#include "store/store.h"

namespace sw {

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) DIR/stepwell.db and migrates it to the current schema.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& data_dir);
  ~SqliteStore() override;

  bool Healthy() const override { return healthy_.load(); }

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
  Result<WorkflowRecord> GetWorkflow(const std::string& workspace_id,
                                     const std::string& workflow_id) override;
  Result<std::vector<WorkflowRecord>> ListWorkflows(const std::string& workspace_id) override;
  Result<nlohmann::json> GetDefinition(const std::string& workspace_id,
                                       const std::string& workflow_id, int version) override;
  Result<WorkflowRecord> SetWorkflowStatus(const std::string& workspace_id,
                                           const std::string& workflow_id,
                                           const std::string& status, int64_t now,
                                           const AuditEntry& audit) override;

  Result<CreateRunResult> CreateRun(const RunRecord& run,
                                    const std::optional<IdempotencyKey>& key) override;
  void CreateRunAsync(RunRecord run, std::optional<IdempotencyKey> key,
                      CreateRunDone done) override;
  Result<RunRecord> GetRun(const std::string& run_id, bool with_steps) override;
  Result<RunRecord> UpdateRun(const std::string& run_id, DecideTransition decide,
                              UpdateReads reads) override;
  void UpdateRunAsync(std::string run_id, DecideTransition decide, UpdateReads reads,
                      UpdateRunDone done) override;
  Result<RunPage> ListRuns(const std::string& workspace_id, const RunFilter& filter) override;
  Result<std::vector<std::string>> ListRunIdsByStatus(RunStatus status) override;
  Result<std::vector<RunStatusCount>> CountRunsByStatus() override;
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

  Result<std::vector<AuditEntry>> ListAudit(const std::string& workspace_id,
                                            const std::string& target, const std::string& cursor,
                                            int limit) override;

  void SetChangeListener(ChangeListener listener) override { listener_ = std::move(listener); }
  Stats GetStats() const override;

 private:
  // One queued change. `apply` runs inside a savepoint of the committing thread and
  // appends the ids of runs it changed; `done` runs after the commit.
  struct WriteOp {
    std::function<Status(sqlite::Connection&, std::vector<std::string>&)> apply;
    std::function<void(Status)> done;
  };
  // What a batch's commit gave: a status per change, the runs changed.
  struct Committed {
    std::vector<Status> results;
    std::vector<std::string> changed;
  };

  // Largest number of queued changes committed in one transaction.
  static constexpr size_t kMaxBatch = 512;
  static constexpr size_t kReaders = 4;

  explicit SqliteStore(std::string path) : path_(std::move(path)) {}
  Status Init();
  void Enqueue(WriteOp op);
  // Queues `op` for the writer and wakes it if needed; mu_ held, not stopping.
  void PushLocked(WriteOp op);
  // Commits `op` in place when the store is idle (its `done` runs before this
  // returns), else queues it for the writer (its `done` runs there).
  void Write(WriteOp op);
  // Commits `op` alone on this thread, which holds the writer (`committing_`).
  void CommitInPlace(WriteOp op);
  // Commits `apply` and waits for it: in place when the store is idle, else through
  // the writer thread with whatever else is queued.
  Status WriteSync(std::function<Status(sqlite::Connection&, std::vector<std::string>&)> apply);
  WriteOp TransitionOp(std::shared_ptr<RunTransition> t, TransitionDone done);
  void WriterLoop();
  // Applies and commits `batch` on the writer connection; the caller holds it
  // (`committing_`).
  Committed CommitBatch(std::vector<WriteOp>& batch);
  void ReleaseWriter();
  // Tells the change listener; the caller still holds the writer.
  void NotifyListener(const Committed& committed);
  // Runs every change's `done`.
  void Complete(std::vector<WriteOp>& batch, const Committed& committed);

  // Borrows a read connection for the duration of `fn`.
  template <typename Fn>
  auto Read(Fn&& fn) -> decltype(fn(std::declval<sqlite::Connection&>()));

  std::string path_;
  std::unique_ptr<sqlite::Connection> writer_conn_;  // used by whoever set committing_
  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;  // the queue grew, or committing_ was released
  std::deque<WriteOp> queue_;   // guarded by mu_
  bool committing_ = false;     // guarded by mu_: a thread holds writer_conn_
  int waiting_to_commit_ = 0;   // guarded by mu_: threads waiting to commit in place
  bool stopping_ = false;       // guarded by mu_
  std::atomic<bool> healthy_{true};
  ChangeListener listener_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<sqlite::Connection>> readers_;  // guarded by readers_mu_

  mutable std::mutex stats_mu_;
  Stats stats_;  // guarded by stats_mu_
};

}  // namespace sw
