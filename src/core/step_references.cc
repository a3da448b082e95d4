#include "core/step_references.h"

#include <set>
#include <string>
#include <utility>

#include "core/expression.h"
#include "core/steps/validation.h"

namespace sw {

namespace {

using StepIds = std::set<std::string>;

StepIds TreeIds(const StepDef& step);

// Every step id in `steps` and in the steps they hold. The tree is at most kMaxNesting
// deep and kMaxSteps large.
StepIds AllIds(const std::vector<StepDef>& steps) {
  StepIds ids;
  for (const StepDef& step : steps) {
    ids.merge(TreeIds(step));
  }
  return ids;
}

// The id of `step` and of every step it holds.
StepIds TreeIds(const StepDef& step) {
  StepIds ids = {step.id};
  ids.merge(AllIds(step.steps));
  ids.merge(AllIds(step.default_steps));
  for (const SwitchCase& c : step.cases) {
    ids.merge(AllIds(c.steps));
  }
  return ids;
}

// A JSON pointer inside `with` as a field path: "/headers/X-Id" is ".headers.X-Id".
std::string DottedPointer(const std::string& pointer) {
  std::string out;
  for (size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '/') {
      out.push_back('.');
    } else if (pointer[i] == '~' && i + 1 < pointer.size()) {
      out.push_back(pointer[++i] == '1' ? '/' : '~');
    } else {
      out.push_back(pointer[i]);
    }
  }
  return out;
}

class ReferenceChecker {
 public:
  explicit ReferenceChecker(StepIds all) : all_(std::move(all)) {}

  // Checks `steps`, the list at `path`, when the steps in `ran` have run before it.
  Status CheckList(const std::vector<StepDef>& steps, const std::string& path, StepIds ran) const {
    for (size_t i = 0; i < steps.size(); ++i) {
      const StepDef& step = steps[i];
      const std::string at = path + "[" + std::to_string(i) + "]";
      if (Status s = CheckStep(step, at, ran); !s.ok()) {
        return s;
      }
      ran.merge(TreeIds(step));
    }
    return Status::Ok();
  }

 private:
  Status CheckStep(const StepDef& step, const std::string& at, const StepIds& ran) const {
    switch (step.traits().control) {
      case ControlFlow::kLoop:
        return CheckLoop(step, at, ran);
      case ControlFlow::kSwitch:
        return CheckSwitch(step, at, ran);
      case ControlFlow::kNone:
        break;
    }
    Result<std::vector<StepReference>> refs = FindStepReferences(step.with);
    if (!refs.ok()) {
      return Status::Ok();  // the step kind's validation reports a bad expression
    }
    for (const StepReference& ref : *refs) {
      if (!ran.contains(ref.step_id)) {
        return Refuse(step, at + ".with" + DottedPointer(ref.pointer), ref.step_id);
      }
    }
    return Status::Ok();
  }

  // The body runs before `until` is evaluated, after each pass.
  Status CheckLoop(const StepDef& loop, const std::string& at, const StepIds& ran) const {
    if (Status s = CheckList(loop.steps, at + ".steps", ran); !s.ok()) {
      return s;
    }
    StepIds before_until = ran;
    before_until.merge(AllIds(loop.steps));
    return CheckCondition(loop, loop.until, at + ".with.until", before_until);
  }

  // Each case's condition and steps see only what ran before the switch.
  Status CheckSwitch(const StepDef& step, const std::string& at, const StepIds& ran) const {
    for (size_t k = 0; k < step.cases.size(); ++k) {
      const std::string case_at = at + ".with.cases[" + std::to_string(k) + "]";
      if (Status s = CheckCondition(step, step.cases[k].when, case_at + ".when", ran); !s.ok()) {
        return s;
      }
      if (Status s = CheckList(step.cases[k].steps, case_at + ".steps", ran); !s.ok()) {
        return s;
      }
    }
    return CheckList(step.default_steps, at + ".with.default", ran);
  }

  Status CheckCondition(const StepDef& step, const std::string& condition, const std::string& at,
                        const StepIds& ran) const {
    if (condition.empty()) {
      return Status::Ok();
    }
    Result<std::vector<std::string>> refs = FindConditionStepReferences(condition);
    if (!refs.ok()) {
      return Status::Ok();  // the step kind's validation reports a bad expression
    }
    for (const std::string& id : *refs) {
      if (!ran.contains(id)) {
        return Refuse(step, at, id);
      }
    }
    return Status::Ok();
  }

  Status Refuse(const StepDef& step, const std::string& field, const std::string& ref) const {
    const std::string why =
        all_.contains(ref) ? "which has not run yet" : "which this workflow does not have";
    return DefinitionError(field + " refers to step '" + ref + "', " + why, step.id, field);
  }

  const StepIds all_;
};

}  // namespace

Status CheckStepReferences(const std::vector<StepDef>& steps) {
  return ReferenceChecker(AllIds(steps)).CheckList(steps, "steps", {});
}

}  // namespace sw
