// The step kinds this build knows: one line each.
#include "core/steps/step_kind.h"

namespace sw {

const StepKind& NoopStepKind();
const StepKind& FailStepKind();
const StepKind& HttpStepKind();
const StepKind& ShellStepKind();
const StepKind& SleepStepKind();
const StepKind& SleepUntilStepKind();
const StepKind& WaitForEventStepKind();
const StepKind& LoopStepKind();
const StepKind& SwitchStepKind();
const StepKind& WorkflowStepKind();
const StepKind& AgentTaskStepKind();
const StepKind& ApprovalStepKind();
const StepKind& FormStepKind();

std::span<const StepKind* const> AllStepKinds() {
  static const StepKind* const kKinds[] = {
      &NoopStepKind(),   &FailStepKind(),       &HttpStepKind(),         &ShellStepKind(),
      &SleepStepKind(),  &SleepUntilStepKind(), &WaitForEventStepKind(), &LoopStepKind(),
      &SwitchStepKind(), &WorkflowStepKind(),   &AgentTaskStepKind(),    &ApprovalStepKind(),
      &FormStepKind(),
  };
  return kKinds;
}

const StepKind* FindStepKind(std::string_view name) {
  for (const StepKind* kind : AllStepKinds()) {
    if (kind->name() == name) {
      return kind;
    }
  }
  return nullptr;
}

}  // namespace sw
