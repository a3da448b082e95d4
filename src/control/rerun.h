// Rerun from a step (API.md "Day-two operations", docs/rerun.md): which steps of a
// finished run a new run carries over instead of executing again.
//
// The plan walks a fresh Cursor over the chosen version's definition with the new
// input, feeding it the earlier run's recorded outputs, exactly as the engine replays a
// run's stored steps after a restart (Engine::Replay). It stops at the first leaf that
// is `from_step` (or inside it, or after it), or that the earlier run did not complete
// (a step new in this version, a branch the new input takes, a step that failed). The
// leaves before that point are the copied rows; the loops and switches entered on the
// way are their control rows. The new run is created with these rows in its own
// commit, and the engine goes on from there as after a restart: the walk is the same,
// so the rows always match the definition.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/definition.h"
#include "core/result.h"
#include "store/records.h"

namespace sw {

// Bound on the length of a `from_step`.
inline constexpr size_t kMaxFromStepLength = 1024;

struct RerunPlan {
  // The rows the new run is created with, in execution order: copied leaves
  // (copied = true, the earlier run's output and times) and the control rows of the
  // loops and switches entered before the stop (copied when they finished before it).
  std::vector<StepRecord> steps;
  std::vector<std::string> kept;      // paths of the copied leaves, in order
  std::vector<std::string> will_run;  // paths from the stop on, in definition order
};

// The path of `from_step` in `definition`: a step id (one outside any loop) or a path
// as a run's steps show it ("check", "route.notify", "retry_loop[2].call").
// kInvalidArgument naming the field `from_step` when the version has no such step, or
// when a step inside a loop is named without its iteration.
Result<std::string> ResolveFromStep(const Definition& definition, const std::string& from_step);

// Plans a rerun of a run whose steps were `earlier` from `from_path` (a resolved path;
// "" plans a rerun from the start: nothing kept). `run_scope` is what the new run's
// expressions see as `run` (as the engine builds it); `now` times the control rows.
// kInvalidArgument (field `from_step`) when the walk never reaches `from_path` with
// this input and version (a switch branch not taken, a loop that ends first).
Result<RerunPlan> PlanRerun(std::shared_ptr<const Definition> definition,
                            const nlohmann::json& input, const nlohmann::json& run_scope,
                            const std::vector<StepRecord>& earlier, const std::string& from_path,
                            int64_t now);

}  // namespace sw
