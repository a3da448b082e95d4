// shell: runs `with.argv` as a process (never through a shell), only on a server
// started with --allow-shell; output {exit_code, stdout, stderr}.
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class ShellStep final : public StepKind {
 public:
  std::string_view name() const override { return "shell"; }
  StepTraits traits() const override {
    return {.interrupted_by_restart = true, .needs_shell = true};
  }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"argv", "env", "cwd"}, {"argv"}); !s.ok()) {
      return s;
    }
    const nlohmann::json& argv = step.with["argv"];
    if (!argv.is_array() || argv.empty()) {
      return DefinitionError("'with.argv' must be a non-empty list of strings", step.id,
                             "with.argv");
    }
    for (size_t i = 0; i < argv.size(); ++i) {
      if (!argv[i].is_string() || (i == 0 && argv[i].get<std::string>().empty())) {
        return DefinitionError("'with.argv' must be a non-empty list of strings", step.id,
                               "with.argv[" + std::to_string(i) + "]");
      }
    }
    if (step.with.contains("env")) {
      const nlohmann::json& env = step.with["env"];
      if (!env.is_object()) {
        return DefinitionError("'with.env' must be an object of strings", step.id, "with.env");
      }
      for (const auto& [name, value] : env.items()) {
        if (!value.is_string() || name.empty() || name.find('=') != std::string::npos) {
          return DefinitionError("'with.env." + name + "' must be a string", step.id,
                                 "with.env." + name);
        }
      }
    }
    return CheckWithString(step, "cwd", false);
  }
};

}  // namespace

const StepKind& ShellStepKind() {
  static const ShellStep kind;
  return kind;
}

}  // namespace sw
