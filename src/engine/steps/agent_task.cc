// agent_task: queues a task for an external agent and parks until the agent queue
// (engine/agent_queue.h) commits its result. A step timeout closes the task.
#include <spdlog/spdlog.h>

#include "engine/steps/step_executor.h"

namespace sw {
namespace {

using nlohmann::json;

class AgentTaskExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const json& with) const override {
    StepServices services = ctx->services();
    const RunRecord& run = ctx->run();
    const int64_t now = services.clock.NowMs();
    AgentTaskRecord task;
    task.id = services.ids.Next("task");
    task.workspace_id = run.workspace_id;
    task.run_id = run.id;
    task.path = ctx->path();
    task.step_id = ctx->step().id;
    task.queue = with["queue"].get<std::string>();
    task.input = with.contains("input") ? with["input"] : json();
    task.attempt = ctx->attempt();
    task.available_at = now;
    task.created_at = task.updated_at = now;
    ctx->detail()["task_id"] = task.id;
    ParkRequest park;
    park.kind = WaitKind::kAgent;
    park.wait = {{"queue", task.queue}, {"task_id", task.id}};
    park.bounded_by_step_timeout = true;
    park.after = [spawner = services.spawner, workspace = task.workspace_id, queue = task.queue] {
      spawner->TaskQueued(workspace, queue);
    };
    park.with.enqueue_task = std::move(task);
    ctx->Park(std::move(park));
  }

  void StopWork(StepContext& ctx) const override {
    if (!ctx.detail().contains("task_id")) {
      return;
    }
    StepServices services = ctx.services();
    const std::string task_id = ctx.detail()["task_id"].get<std::string>();
    if (Status s = services.store.CancelAgentTask(task_id, services.clock.NowMs()); !s.ok()) {
      spdlog::warn("run {}: closing the timed-out agent task failed: {}", ctx.run().id,
                   s.message());
    }
  }
};

}  // namespace

const StepExecutor& AgentTaskStepExecutor() {
  static const AgentTaskExecutor executor;
  return executor;
}

}  // namespace sw
