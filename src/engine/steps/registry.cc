// The executors of the step kinds this build runs: one line each. Control kinds (loop,
// switch) have none: the cursor walks into them.
#include <map>

#include "engine/steps/step_executor.h"

namespace sw {

const StepExecutor& NoopStepExecutor();
const StepExecutor& FailStepExecutor();
const StepExecutor& HttpStepExecutor();
const StepExecutor& ShellStepExecutor();
const StepExecutor& SleepStepExecutor();
const StepExecutor& SleepUntilStepExecutor();
const StepExecutor& WaitForEventStepExecutor();
const StepExecutor& WorkflowStepExecutor();
const StepExecutor& AgentTaskStepExecutor();
const StepExecutor& ApprovalStepExecutor();
const StepExecutor& FormStepExecutor();

const StepExecutor* FindStepExecutor(std::string_view kind) {
  static const std::map<std::string_view, const StepExecutor*> kExecutors = {
      {"noop", &NoopStepExecutor()},
      {"fail", &FailStepExecutor()},
      {"http", &HttpStepExecutor()},
      {"shell", &ShellStepExecutor()},
      {"sleep", &SleepStepExecutor()},
      {"sleep_until", &SleepUntilStepExecutor()},
      {"wait_for_event", &WaitForEventStepExecutor()},
      {"workflow", &WorkflowStepExecutor()},
      {"agent_task", &AgentTaskStepExecutor()},
      {"approval", &ApprovalStepExecutor()},
      {"form", &FormStepExecutor()},
  };
  auto it = kExecutors.find(kind);
  return it == kExecutors.end() ? nullptr : it->second;
}

nlohmann::json StepError(const std::string& message, const std::string& code,
                         const std::string& step_id) {
  nlohmann::json error = {{"message", message}, {"code", code}};
  if (!step_id.empty()) {
    error["step_id"] = step_id;
  }
  return error;
}

}  // namespace sw
