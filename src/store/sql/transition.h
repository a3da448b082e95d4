// A run transition in SQL: read the run's head in the write's transaction, have
// PlanTransition check the compare-and-set and list the effects, and write each effect.
// What a transition implies is decided by the plan, not here.
//
// Not thread-safe: runs on the thread that holds the writer connection.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sql/connection.h"
#include "store/store.h"
#include "store/transition_plan.h"

namespace sw::sql {

// The head of run `run_id` as the write's transaction sees it, locked (so that another
// instance's writer cannot change the run before this commit). kNotFound without the
// run.
Result<RunHead> ReadRunHeadLocked(Connection& db, const std::string& run_id);

// Applies `t`, committed by instance `self` ("" for one process), and appends the runs
// it changed to `changed`. kAborted (nothing written) when the run is not at t's
// expected version and status or another instance owns it (PlanTransition);
// kNotFound without the run.
Status ApplyTransition(Connection& db, const RunTransition& t, std::string_view self,
                       std::vector<std::string>& changed);

// The same on a run already read in this transaction (`before`).
Status ApplyTransitionFrom(Connection& db, const RunTransition& t, const RunHead& before,
                           std::string_view self, std::vector<std::string>& changed);

// Writes `plan`'s effects, in order.
Status ApplyPlan(Connection& db, const TransitionPlan& plan);

}  // namespace sw::sql
