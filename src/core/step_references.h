// Checks, when a definition is applied, that every `steps.<id>` an expression holds
// names a step that has run by the time the expression is evaluated: a step before it
// in the order the run walks the tree. So a step's `with` may refer to the steps before
// it in its list, to everything before the loop or switch that holds it (and to every
// step inside those, which have ended), but not to itself, to a later step, to the loop
// or switch it is in, or to a step of another case of its switch. A loop's `until`, which
// is evaluated after each pass, may also refer to the loop's body; a switch's `when` only
// to the steps before the switch. A step id the definition does not have is refused too.
//
// Pure; thread-safe.
#pragma once

#include <vector>

#include "core/definition.h"
#include "core/result.h"

namespace sw {

// kInvalidArgument "invalid_definition" with {"step_id", "field"} for the first
// reference to a step that has not run yet; `field` is the path from the definition's
// root, such as "steps[1].with.url".
Status CheckStepReferences(const std::vector<StepDef>& steps);

}  // namespace sw
