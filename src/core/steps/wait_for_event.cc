// wait_for_event: the run waits for an event of `with.event_type` (one that came early
// is taken at once), failing after `with.timeout`; output {payload}.
#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class WaitForEventStep final : public StepKind {
 public:
  std::string_view name() const override { return "wait_for_event"; }
  StepTraits traits() const override { return {}; }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"event_type", "timeout"}, {"event_type"}); !s.ok()) {
      return s;
    }
    if (Status s = CheckWithString(step, "event_type", true); !s.ok()) {
      return s;
    }
    return CheckWithDuration(step, "timeout");
  }
};

}  // namespace

const StepKind& WaitForEventStepKind() {
  static const WaitForEventStep kind;
  return kind;
}

}  // namespace sw
