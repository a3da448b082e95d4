// sleep (`with.duration`) and sleep_until (`with.at`, RFC 3339): the run waits on a
// timer; output null.
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"
#include "core/time_format.h"

namespace sw {
namespace {

class SleepStep final : public StepKind {
 public:
  std::string_view name() const override { return "sleep"; }
  StepTraits traits() const override { return {}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"duration"}, {"duration"}); !s.ok()) {
      return s;
    }
    return CheckWithDuration(step, "duration");
  }
};

class SleepUntilStep final : public StepKind {
 public:
  std::string_view name() const override { return "sleep_until"; }
  StepTraits traits() const override { return {}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"at"}, {"at"}); !s.ok()) {
      return s;
    }
    if (Status s = CheckWithString(step, "at", true); !s.ok()) {
      return s;
    }
    if (!IsTemplated(step.with["at"])) {
      Result<int64_t> at = ParseTime(step.with["at"].get<std::string>());
      if (!at.ok()) {
        return DefinitionError("'with.at' is not an RFC 3339 time: " + at.status().message(),
                               step.id, "with.at");
      }
    }
    return Status::Ok();
  }
};

}  // namespace

const StepKind& SleepStepKind() {
  static const SleepStep kind;
  return kind;
}

const StepKind& SleepUntilStepKind() {
  static const SleepUntilStep kind;
  return kind;
}

}  // namespace sw
