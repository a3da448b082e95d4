// approval: opens an approval (core/approval.h) and waits for people to decide it.
#include "engine/steps/human_task.h"

namespace sw {
namespace {

class ApprovalExecutor final : public HumanTaskExecutor {
 protected:
  Result<HumanTaskRecord> Open(const nlohmann::json& with, int64_t now) const override {
    Result<ApprovalPolicy> policy = ApprovalPolicy::Parse(with);
    if (!policy.ok()) {
      return policy.status();
    }
    HumanTaskRecord task;
    StoreInto(Approval::Open(std::move(policy).value(), now), task);
    return task;
  }
  const char* kind() const override { return kApprovalKind; }
  const char* id_prefix() const override { return "apr"; }
  WaitKind wait_kind() const override { return WaitKind::kApproval; }
  const char* wait_field() const override { return "approval_id"; }
};

}  // namespace

const StepExecutor& ApprovalStepExecutor() {
  static const ApprovalExecutor executor;
  return executor;
}

}  // namespace sw
