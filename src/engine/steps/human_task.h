// What the approval and form executors share: a step that opens a task for people
// (an approval, a form) committed with its park, waits for it with an expiry timer,
// and takes its result when driven again after it was resolved. A kind says only how
// its task opens from the step's `with`.
//
// Stateless singletons; thread-safe.
#pragma once

#include "engine/human_tasks.h"
#include "engine/steps/step_executor.h"

namespace sw {

class HumanTaskExecutor : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const nlohmann::json& with) const override;
  bool Resume(const std::shared_ptr<StepContext>& ctx) const override;

 protected:
  // The kind's task opened now from the rendered `with`, its ids and run fields left
  // to Start; an error fails the run (the with is invalid at run time).
  virtual Result<HumanTaskRecord> Open(const nlohmann::json& with, int64_t now) const = 0;
  virtual const char* kind() const = 0;
  virtual const char* id_prefix() const = 0;  // "apr", "frm"
  virtual WaitKind wait_kind() const = 0;
  virtual const char* wait_field() const = 0;  // the run's wait names the task: "approval_id"

 private:
  // Parks the run on `task` (created with the park when `create`).
  void ParkOn(StepContext& ctx, const HumanTaskRecord& task, bool create) const;
};

}  // namespace sw
