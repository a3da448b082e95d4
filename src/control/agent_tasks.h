// AgentTasks is what the API calls for the external-agent protocol: claims, heartbeats,
// completions and failures of agent tasks, always within the caller's workspace (a task
// of another workspace is "not found"). The protocol itself is the engine's AgentQueue.
//
// Thread-safe. Borrows the queue, which outlives it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/service.h"
#include "core/result.h"
#include "engine/agent_queue.h"

namespace sw {

class AgentTasks {
 public:
  explicit AgentTasks(AgentQueue& queue) : queue_(queue) {}

  // The oldest available task of `queues`, or nothing.
  Result<std::optional<AgentTaskRecord>> Claim(const RequestContext& ctx,
                                               const std::vector<std::string>& queues,
                                               const std::string& agent_id);
  // `wake` runs at most once, when a task is queued in one of `queues`, on the thread
  // that queued it: it must only hand work off. Answers a handle for CancelWait, which
  // forgets a wait no task has woken yet.
  uint64_t Wait(const RequestContext& ctx, const std::vector<std::string>& queues,
                std::function<void()> wake);
  void CancelWait(uint64_t handle);

  // `agent_id` may be empty (any agent of the workspace).
  Result<Heartbeat> Beat(const RequestContext& ctx, const std::string& task_id,
                         const std::string& agent_id);
  // Answer whether the result was discarded (the run ended or the task is no longer
  // this agent's).
  Result<bool> Complete(const RequestContext& ctx, const std::string& task_id,
                        const std::string& agent_id, const nlohmann::json& output);
  Result<bool> Fail(const RequestContext& ctx, const std::string& task_id,
                    const std::string& agent_id, const nlohmann::json& error);

 private:
  AgentQueue& queue_;
};

}  // namespace sw
