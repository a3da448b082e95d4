// The search index of runs' input and output fields (API.md "Day-two operations",
// `GET /api/v1/runs?input.customer_id=42`): one row of run_fields per scalar member of a
// run's input or output, by (workspace, field, value, run), so that a field filter finds
// its runs by an index lookup instead of reading every run's JSON.
//
// A member is a path of object keys from the document's top (arrays are not entered: a
// filter cannot address their elements). Keys a filter cannot write (empty, with a '.'
// or a '"') are left out: no filter can ask for them. A document with more members than
// kMaxIndexedFields, a path deeper than kMaxIndexedDepth or a string longer than
// kMaxIndexedValueBytes is not indexed at all: its run is marked `fields_indexed = 0`
// and the search reads its JSON instead (run_search.cc), so an answer never depends on
// whether a run was indexed. Runs written before this index existed are marked so too.
//
// Not thread-safe, like the Connection it writes on.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sql/connection.h"

namespace sw::sql {

inline constexpr size_t kMaxIndexedFields = 32;
inline constexpr size_t kMaxIndexedDepth = 16;  // as deep as a filter may go
inline constexpr size_t kMaxIndexedValueBytes = 256;

struct RunField {
  std::string field;  // "input.customer.id"
  std::string value;  // IndexedValue()
};

// A scalar as run_fields stores it: its type and its value in one text, so that 42 and
// "42" differ and 42 and 42.0 do not (as the JSON comparison of run_search.cc). nullopt
// for what is not indexed (an object, an array, a string over kMaxIndexedValueBytes).
std::optional<std::string> IndexedValue(const nlohmann::json& scalar);

// The rows of `doc` under `prefix` ("input" or "output"); nullopt when `doc` is over the
// limits above (its run is searched by its JSON). A null or non-object doc has none.
std::optional<std::vector<RunField>> IndexedFields(std::string_view prefix,
                                                   const nlohmann::json& doc);

// Inserts `fields` for the run (one statement).
Status InsertRunFields(Connection& db, const std::string& workspace_id, const std::string& run_id,
                       const std::vector<RunField>& fields);

// Writes the run's output rows anew: drops those it had, inserts `fields` (the run's
// workspace is read from its row).
Status ReplaceOutputFields(Connection& db, const std::string& run_id,
                           const std::vector<RunField>& fields);

}  // namespace sw::sql
