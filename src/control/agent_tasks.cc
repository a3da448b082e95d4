#include "control/agent_tasks.h"

namespace sw {

Result<std::optional<AgentTaskRecord>> AgentTasks::Claim(const RequestContext& ctx,
                                                         const std::vector<std::string>& queues,
                                                         const std::string& agent_id) {
  return queue_.Claim(ctx.principal.workspace_id, queues, agent_id);
}

uint64_t AgentTasks::Wait(const RequestContext& ctx, const std::vector<std::string>& queues,
                          std::function<void()> wake) {
  return queue_.Wait(ctx.principal.workspace_id, queues, std::move(wake));
}

void AgentTasks::CancelWait(uint64_t handle) { queue_.CancelWait(handle); }

Result<Heartbeat> AgentTasks::Beat(const RequestContext& ctx, const std::string& task_id,
                                   const std::string& agent_id) {
  return queue_.Beat(ctx.principal.workspace_id, task_id, agent_id);
}

Result<bool> AgentTasks::Complete(const RequestContext& ctx, const std::string& task_id,
                                  const std::string& agent_id, const nlohmann::json& output) {
  return queue_.Complete(ctx.principal.workspace_id, task_id, agent_id, output);
}

Result<bool> AgentTasks::Fail(const RequestContext& ctx, const std::string& task_id,
                              const std::string& agent_id, const nlohmann::json& error) {
  return queue_.Fail(ctx.principal.workspace_id, task_id, agent_id, error);
}

}  // namespace sw
