// form: the run waits for data that the step's JSON Schema (draft 7) admits; the data
// becomes the output. An optional `expires_in` fails the step (form_expired).
#include "core/form.h"

#include "core/json_schema.h"
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class FormStep final : public StepKind {
 public:
  std::string_view name() const override { return "form"; }
  StepTraits traits() const override { return {}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"message", "schema", "expires_in"}, {"message", "schema"});
        !s.ok()) {
      return s;
    }
    Result<FormPolicy> policy = FormPolicy::Parse(step.with);
    if (!policy.ok()) {
      return DefinitionError(policy.status(), step.id, "with");
    }
    if (Status s = CheckSchema(policy->schema); !s.ok()) {
      return DefinitionError("with." + s.message(), step.id, "with.schema");
    }
    return Status::Ok();
  }
};

}  // namespace

const StepKind& FormStepKind() {
  static const FormStep kind;
  return kind;
}

}  // namespace sw
