// form: opens a form (core/form.h) and waits for people to submit valid data.
#include "engine/steps/human_task.h"

namespace sw {
namespace {

class FormExecutor final : public HumanTaskExecutor {
 protected:
  Result<HumanTaskRecord> Open(const nlohmann::json& with, int64_t now) const override {
    Result<FormPolicy> policy = FormPolicy::Parse(with);
    if (!policy.ok()) {
      return policy.status();
    }
    HumanTaskRecord task;
    StoreInto(Form::Open(std::move(policy).value(), now), task);
    return task;
  }
  const char* kind() const override { return kFormKind; }
  const char* id_prefix() const override { return "frm"; }
  WaitKind wait_kind() const override { return WaitKind::kForm; }
  const char* wait_field() const override { return "form_id"; }
};

}  // namespace

const StepExecutor& FormStepExecutor() {
  static const FormExecutor executor;
  return executor;
}

}  // namespace sw
