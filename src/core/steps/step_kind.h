// StepKind is the pure half of a step type: its name, its traits (what the cursor, the
// engine, validation and scripts need to know of it) and the validation of its fields.
// The other half, how a step of the kind executes, is its StepExecutor in
// engine/steps/. A step type is these two files plus one registration line each
// (core/steps/registry.cc, engine/steps/registry.cc); nothing else names it.
//
// Kinds are stateless singletons; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sw {

struct StepDef;

// Steps that contain steps: the cursor walks into them; they never execute.
enum class ControlFlow { kNone, kLoop, kSwitch };

struct StepTraits {
  ControlFlow control = ControlFlow::kNone;
  // A script runs synchronously without a run record: only kinds that neither park nor
  // need the server's permission may appear in one.
  bool allowed_in_scripts = false;
  // An attempt found in flight after a restart counts as made (its outside effect may
  // have happened): http, shell.
  bool interrupted_by_restart = false;
  // The step may start child runs (a cancel walks down to them).
  bool starts_child_runs = false;
  // Needs a server started with --allow-shell.
  bool needs_shell = false;
  // Its result is a function of what is stored (noop): it may be carried to the run's
  // next commit instead of a commit of its own.
  bool pure = false;
  // The step owns a `steps` field beside `with` (a loop's body).
  bool owns_steps_field = false;
};

// What a kind's validation may ask of the definition parser: nested steps.
class NestedStepParser {
 public:
  virtual ~NestedStepParser() = default;
  // Parses `list` as steps nested in `owner`'s `field`, one level deeper than `depth`.
  virtual Result<std::vector<StepDef>> ParseNested(const nlohmann::json& list,
                                                   std::string_view owner, std::string_view field,
                                                   int depth) = 0;
};

class StepKind {
 public:
  virtual ~StepKind() = default;
  virtual std::string_view name() const = 0;
  virtual StepTraits traits() const = 0;
  // Checks `step.with` (already an object) and fills the parsed fields of `step`.
  // `item` is the step as written; `depth` its nesting. Errors name the step and field.
  virtual Status Validate(StepDef& step, const nlohmann::json& item, int depth,
                          NestedStepParser& parser) const = 0;
  // Checks the step against the definition it is in, `workflow_id` (after all steps
  // parsed). Most kinds have nothing to check.
  virtual Status CheckInWorkflow(const StepDef& /*step*/, std::string_view /*workflow_id*/) const {
    return Status::Ok();
  }
};

// The registered kinds (core/steps/registry.cc), and one by name (null: unknown).
std::span<const StepKind* const> AllStepKinds();
const StepKind* FindStepKind(std::string_view name);

}  // namespace sw
