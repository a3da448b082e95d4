// agent_task: queues a task on `with.queue` for an external agent and waits for its
// result; output what the agent completes with.
#include "core/ids.h"
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class AgentTaskStep final : public StepKind {
 public:
  std::string_view name() const override { return "agent_task"; }
  StepTraits traits() const override { return {}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"queue", "input"}, {"queue"}); !s.ok()) {
      return s;
    }
    const nlohmann::json& queue = step.with["queue"];
    if (!queue.is_string() || !IsValidSlug(queue.get<std::string>())) {
      return DefinitionError("'with.queue' must be a queue name matching [a-z0-9-]{1,63}", step.id,
                             "with.queue");
    }
    return Status::Ok();
  }
};

}  // namespace

const StepKind& AgentTaskStepKind() {
  static const AgentTaskStep kind;
  return kind;
}

}  // namespace sw
