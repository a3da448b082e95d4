// approval: the run waits until people decide (N of M approve, one denies) or the
// approval expires under its on_timeout policy; output {decision, decided_by, comment}.
// The rules are core/approval.h's; `with.message` may hold expressions.
#include "core/approval.h"

#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class ApprovalStep final : public StepKind {
 public:
  std::string_view name() const override { return "approval"; }
  StepTraits traits() const override { return {}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step,
                                 {"message", "approvers", "required", "expires_in", "on_timeout",
                                  "escalate_to", "reversibility", "on_deny"},
                                 {"message"});
        !s.ok()) {
      return s;
    }
    Result<ApprovalPolicy> policy = ApprovalPolicy::Parse(step.with);
    if (!policy.ok()) {
      return DefinitionError(policy.status(), step.id, "with");
    }
    return Status::Ok();
  }
};

}  // namespace

const StepKind& ApprovalStepKind() {
  static const ApprovalStep kind;
  return kind;
}

}  // namespace sw
