// RunScript runs a `kind: script` definition synchronously in the caller's thread,
// without a run record: the cursor walks the definition and each leaf runs on the same
// step executors as a durable run's (engine/steps/), through a context that records
// nothing and waits for the step's outcome. Validation keeps parking kinds out of
// scripts; an attempt's failure ends the script (scripts do not retry).
//
// Thread-safe (no shared state); blocks until the script ends.
#pragma once

#include <nlohmann/json.hpp>

#include "core/definition.h"
#include "engine/steps/step_executor.h"

namespace sw {

// {"output": ...} when the script completed, {"output": null, "error": {message, code,
// step_id?}} when a step failed.
nlohmann::json RunScript(const Definition& def, const nlohmann::json& input,
                         const std::string& workspace_id, StepServices services);

}  // namespace sw
