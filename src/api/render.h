// JSON shapes of the API's objects (API.md): runs, steps, workflows, tokens, audit
// entries, and the error body. Pure functions over records.
#pragma once

#include <nlohmann/json.hpp>

#include "core/definition.h"
#include "core/result.h"
#include "store/records.h"

namespace sw {

// `definition` (may be null) adds the top-level steps not reached yet as `pending`.
// `workflow_safety`: the hold of the run's workflow as a run shows it ({reason,
// message}, or null).
nlohmann::json RunJson(const RunRecord& run, bool detail, const Definition* definition,
                       const nlohmann::json& workflow_safety);
nlohmann::json WorkflowJson(const WorkflowRecord& wf, bool detail);
nlohmann::json TokenJson(const TokenRecord& token);
nlohmann::json AuditJson(const AuditEntry& entry);
// An approval or a form as API.md shows it; a stored body that does not parse is an
// error (data corruption), never a guess.
Result<nlohmann::json> ApprovalJson(const HumanTaskRecord& task);
Result<nlohmann::json> FormJson(const HumanTaskRecord& task);
nlohmann::json ErrorJson(const Status& status);
// A time as RFC 3339, or null for 0 (not set).
nlohmann::json TimeOrNull(int64_t unix_ms);
// A list's next_cursor: null when there is no further page.
nlohmann::json CursorJson(const std::string& cursor);
// The HTTP status for a non-ok Status.
int HttpStatusFor(const Status& status);

}  // namespace sw
