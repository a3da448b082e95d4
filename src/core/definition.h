// Workflow definitions: parsed from JSON and validated on apply, so a stored version
// is always one the engine can run. Errors name the step and the field.
// Immutable after parsing; thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/retry.h"
#include "core/steps/step_kind.h"

namespace sw {

// Bounds of a definition (API.md "Limits").
inline constexpr size_t kMaxSteps = 100;
inline constexpr int kMaxLoopIterations = 100000;
inline constexpr int kMaxNesting = 8;

enum class WorkflowKind { kWorkflow, kScript };
enum class WorkflowMode { kStandard, kAgent };
std::string_view ToString(WorkflowKind k);
std::string_view ToString(WorkflowMode m);

struct StepDef;

struct SwitchCase {
  std::string when;  // a condition expression
  std::vector<StepDef> steps;
};

struct StepDef {
  std::string id;
  const StepKind* kind = nullptr;                    // never null once parsed
  nlohmann::json with = nlohmann::json::object();    // as written; may hold expressions
  std::optional<std::chrono::milliseconds> timeout;  // per attempt
  RetryPolicy retry;                                 // one attempt unless `retry` says more

  // loop
  int max_iterations = 0;
  std::string until;  // empty: run max_iterations times
  std::vector<StepDef> steps;

  // switch
  std::vector<SwitchCase> cases;
  std::vector<StepDef> default_steps;

  std::string_view type() const { return kind->name(); }
  StepTraits traits() const { return kind->traits(); }
  // True for steps that contain other steps (loop, switch): the engine never
  // "executes" them; the cursor walks into them.
  bool IsControl() const { return traits().control != ControlFlow::kNone; }
};

struct Definition {
  std::string id;
  WorkflowKind kind = WorkflowKind::kWorkflow;
  WorkflowMode mode = WorkflowMode::kStandard;
  nlohmann::json limits = nlohmann::json::object();
  // The throughput breaker's limits (core/workflow_safety.h); unset: the server's.
  std::optional<int64_t> max_runs_per_minute;
  std::optional<int64_t> max_steps_per_minute;
  std::optional<std::chrono::milliseconds> timeout;  // of the whole run
  std::vector<StepDef> steps;

  // Finds a step anywhere in the tree by id (ids are unique in a definition).
  const StepDef* FindStep(std::string_view step_id) const;
  // The first step anywhere in the tree whose kind has `trait`, or null.
  const StepDef* FindStepWith(bool StepTraits::*trait) const;
};

// Parses and validates `doc`. `workflow_id` is the id from the URL; a body `id` must
// match it. Errors are kInvalidArgument with reason "invalid_definition" and the step
// (when there is one) and field in their detail.
Result<std::shared_ptr<const Definition>> ParseDefinition(const nlohmann::json& doc,
                                                          std::string_view workflow_id);

}  // namespace sw
