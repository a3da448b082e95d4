// The run filter of GET /api/v1/runs (API.md "Runs"), read from the query's parameters,
// and the same filter given as a JSON object (a bulk operation's `filter`,
// API.md "Bulk controls"): one parser, so both accept and refuse the same things.
// Errors are kInvalidArgument naming the parameter (`field`).
//
// Stateless; thread-safe.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace sw {

// The filter of the query parameters `q`: status (comma-separated), workflow_id,
// pause_reason, wait_kind, q, limit, cursor, parent_run_id, run_ids (comma-separated,
// 1 to 500), workflow_version, the created_/finished_ after/before times, error_code,
// actor, input.PATH and output.PATH.
Result<RunFilter> ParseRunFilterQuery(const std::map<std::string, std::string>& q);

// `filter` (a JSON object of the same parameters, each a string, or a number where the
// query takes one; `status` also an array of statuses, `run_ids` an array of run ids; an
// input./output. value any JSON scalar, compared with its type) as a filter of every
// matching run: `limit` and `cursor` (a page's) are refused.
Result<RunFilter> ParseRunFilterJson(const nlohmann::json& filter);

}  // namespace sw
