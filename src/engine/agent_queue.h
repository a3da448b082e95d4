// AgentQueue is the engine's side of the external-agent protocol: agents claim tasks
// that `agent_task` steps queued, keep them with heartbeats, and complete or fail
// them. Every change that concerns the run (a result, a failure, a retry) is one
// compare-and-set on the run committed with the task's own change, so a task and its
// step never disagree. A claimed task whose lease lapses counts as a failed attempt
// (`lease_expired`) and goes back to the queue under the step's retry policy.
//
// When the run ends (cancelled, failed, timed out), the store closes its tasks: a late
// `complete` is answered {"discarded": true} and the step records result_discarded; a
// heartbeat answers {"cancelled": true} so a cooperative agent can stop early.
//
// Thread-safe. Owns a thread that sweeps lapsed leases; waiters (long-polling claims)
// are told when a task is queued.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/clock.h"
#include "engine/engine.h"
#include "store/notifier.h"
#include "store/store.h"

namespace sw {

struct AgentQueueOptions {
  int64_t lease_ms = 30000;
  int64_t sweep_interval_ms = 200;
};

struct Heartbeat {
  int64_t lease_expires_at = 0;
  bool cancelled = false;
};

class AgentQueue {
 public:
  // `notifier` carries "a task was queued" to waiting claims; null: in this process.
  AgentQueue(Store& store, Engine& engine, const Clock& clock, AgentQueueOptions options,
             Notifier* notifier = nullptr);
  ~AgentQueue();

  // Starts the lease sweeper; Stop ends it (also run by the destructor).
  void Start();
  void Stop();

  // Claims the oldest available task of `queues` in the workspace, or nothing.
  Result<std::optional<AgentTaskRecord>> Claim(const std::string& workspace_id,
                                               const std::vector<std::string>& queues,
                                               const std::string& agent_id);
  // `agent_id` may be empty (any agent of the workspace) in the calls below.
  // Extends the lease. `cancelled` is true when the run ended or the task is no longer
  // this agent's (its lease lapsed and it went back to the queue).
  Result<Heartbeat> Beat(const std::string& workspace_id, const std::string& task_id,
                         const std::string& agent_id);
  // Answers whether the result was discarded (the run ended or the task is no longer
  // this agent's).
  Result<bool> Complete(const std::string& workspace_id, const std::string& task_id,
                        const std::string& agent_id, const nlohmann::json& output);
  Result<bool> Fail(const std::string& workspace_id, const std::string& task_id,
                    const std::string& agent_id, const nlohmann::json& error);

  // Long-poll support: `wake` runs once, when a task is queued in one of `queues` of the
  // workspace; it runs on the notifying thread and must only hand work off. Answers a
  // handle for CancelWait, which every Wait needs (also after the wake-up).
  uint64_t Wait(const std::string& workspace_id, const std::vector<std::string>& queues,
                std::function<void()> wake);
  void CancelWait(uint64_t handle);
  // Told by the engine after a task was queued.
  void Notify(const std::string& workspace_id, const std::string& queue);

  // Lapsed leases are handled every sweep; tests call it directly.
  void SweepLapsedLeases();

 private:
  // Loads the task and checks that it belongs to the workspace.
  Result<AgentTaskRecord> LoadTask(const std::string& workspace_id, const std::string& task_id);
  // The task while `agent_id` holds it; none when it no longer does (its late result is
  // discarded).
  Result<std::optional<AgentTaskRecord>> HeldTask(const std::string& workspace_id,
                                                  const std::string& task_id,
                                                  const std::string& agent_id);
  // A failed attempt of `task` (an agent's failure or a lapsed lease): requeued after
  // the back-off when the step's policy allows, else the run fails.
  Result<bool> FailAttempt(const AgentTaskRecord& task, const std::string& code,
                           const std::string& message, bool retryable, int64_t lapsed_before);
  // Marks the step of an ended run result_discarded.
  void DiscardLateResult(const AgentTaskRecord& task);
  void Loop();

  Store& store_;
  Engine& engine_;
  const Clock& clock_;
  AgentQueueOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  LocalNotifier local_notifier_;
  Notifier& notifier_;  // local_notifier_ unless given
  // A long-poll's wake-up, once: on its first signal, or when the queue stops.
  struct Waiter {
    std::vector<uint64_t> subscriptions;  // one per queue
    std::function<void()> wake;           // runs once (`woken`)
    std::shared_ptr<std::atomic<bool>> woken;
  };
  std::map<uint64_t, Waiter> waiters_;  // guarded by mu_
  uint64_t next_handle_ = 1;            // guarded by mu_
  std::thread sweeper_;
};

}  // namespace sw
