// Internal to core/json_schema: the walk over a parsed schema that turns a value into
// SchemaErrors, one per failing keyword, each at the JSON Pointer of its value.
//
// Valijson's own validator reports every failure as a chain of context messages and runs
// std::regex on strings of any length. This walk follows the keywords that combine
// subschemas itself (properties, items, allOf, anyOf, dependencies, ...) and asks
// valijson only about the leaf keywords (bounds, lengths, formats, patterns,
// uniqueItems); `type`, `enum` and `const` it decides itself, to name what was wanted.
//
// Pure; thread-safe: all state lives in one call.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "core/json_schema.h"

namespace valijson {
class Subschema;
}

namespace sw::schema_internal {

// REQUIRES: `schema` comes from ParseSchema (core/json_schema_parse.h) of a schema that
// passed CheckSchema. An exception from the library becomes one error at "".
std::vector<SchemaError> CollectErrors(const valijson::Subschema& schema,
                                       const nlohmann::json& data);

}  // namespace sw::schema_internal
