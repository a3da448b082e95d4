// The writes of a run that more than one of SqlStore's files make (runs.cc, and
// operations.cc for a bulk operation's batch): creating a run, and a change decided on
// the run as the write itself reads it.
//
// Not thread-safe: runs on the thread that holds the writer connection, inside the
// batch's transaction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sql/connection.h"
#include "store/store.h"
#include "store/transition_plan.h"

namespace sw::sql {

// Inserts `run` (and its steps), owned by `owner`, unless `key` names a run made by the
// same request in its window (then `out` is that run, replayed).
Status ApplyCreateRun(Connection& db, const RunRecord& run, std::string_view owner,
                      const std::optional<IdempotencyKey>& key, CreateRunResult& out,
                      std::vector<std::string>& changed);

// The run as a write that decides from it reads it: in the write's own transaction,
// locked (so that another instance's writer cannot change it before the commit), with
// its steps when asked. kNotFound without the run.
Result<RunRecord> ReadRunToDecide(Connection& db, const std::string& run_id, bool with_steps);

// Applies `t`, decided on the run whose head this transaction read (`head`), with its
// charge. REQUIRES: `t` names the run and expects its version (a compare-and-set on it).
Status ApplyDecidedTransition(Connection& db, const RunTransition& t, const RunHead& head,
                              std::string_view self, std::vector<std::string>& changed);

// What ApplyDecision did: the run as it read it, and whether `decide` made a
// transition, which was then applied.
struct DecidedChange {
  RunRecord read;
  bool applied = false;
};

// ReadRunToDecide, `decide`, then ApplyDecidedTransition. An error of `decide` is
// answered as it is, with nothing written.
Result<DecidedChange> ApplyDecision(Connection& db, const std::string& run_id,
                                    std::string_view self, const Store::DecideTransition& decide,
                                    bool steps_to_decide, std::vector<std::string>& changed);

}  // namespace sw::sql
