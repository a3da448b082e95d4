// The records of bulk operations (API.md "Bulk controls", docs/bulk.md): one control
// (pause, resume, cancel, replay) applied to every run a filter matched when the
// operation started. The runs are fixed then and kept with the operation, each with
// its own state, so an operation interrupted by a restart goes on where it stopped.
// Times are milliseconds since the Unix epoch; 0 means "not set". Value types.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/records.h"

namespace sw {

// An operation's runs each end in one of these; `pending` until the operation got to it.
inline constexpr std::string_view kOperationRunStates[] = {"pending", "done", "skipped", "failed"};

struct OperationRecord {
  std::string id;  // "op_…"
  std::string workspace_id;
  std::string action;                                // pause | resume | cancel | replay
  nlohmann::json filter = nlohmann::json::object();  // as the caller gave it
  std::string reason;                                // cancel's reason; "" for the default
  std::string actor;                                 // who started it ("token:NAME")
  std::string status = "running";                    // running | completed
  // The runs fixed at the start, and how many of them were changed (done), no longer
  // allowed the action (skipped) or failed otherwise; done + skipped + failed = total
  // once completed.
  int64_t total = 0;
  int64_t done = 0;
  int64_t skipped = 0;
  int64_t failed = 0;
  int64_t created_at = 0;
  int64_t finished_at = 0;
};

// The outcome of one run of an operation.
struct OperationRunOutcome {
  std::string run_id;
  std::string state;   // done | skipped | failed
  std::string detail;  // the error's reason or message, or a replay's new run id
};

// Outcomes recorded in one commit. Only runs still pending take their outcome (a repeat
// after a restart counts once), and the operation's counters grow by those. With
// `finish_at` set and no run pending any more, the operation becomes completed then,
// with `finish_audit`.
struct OperationProgress {
  std::string operation_id;
  std::vector<OperationRunOutcome> outcomes;
  std::optional<int64_t> finish_at;
  std::optional<AuditEntry> finish_audit;
};

}  // namespace sw
