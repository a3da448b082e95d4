// JSON Schema (draft 7) for the `form` step: CheckSchema refuses a bad schema when a
// definition is applied; CompiledSchema turns submitted data into per-field errors.
//
// Valijson (Debian's libvalijson-dev) parses the schema and decides the leaf keywords
// (formats, bounds, lengths, patterns, uniqueItems); our walk over its parsed schema
// (core/json_schema_errors.h) decides the keywords that combine subschemas, so each
// error carries the JSON Pointer of the value it is about and one sentence, and so the
// strings a regular expression runs on are bounded.
//
// Supported: every draft-7 validation keyword, with references only inside the schema
// (`#` or `#/...`, `$id` only at the root). Formats checked: date, time, date-time,
// email; any other format is accepted as it is. A schema is refused when it is not a
// valid draft-7 schema (checked against the draft-7 meta-schema), refers outside itself,
// has a reference that leads nowhere or back to itself without descending into the
// data, or has a pattern std::regex (ECMAScript) cannot compile.
//
// Pure (no I/O). A CompiledSchema is immutable after Compile; copies share it and any
// number of threads may Validate at once.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/result.h"

namespace valijson {
class Schema;
}

namespace sw {

// Bounds on one validation: errors returned; strings a pattern is matched against
// (libstdc++'s std::regex recurses per character: with nested groups it overflows an
// 8 MiB stack near 8,000 characters); schema levels walked for one value (each takes
// under 1.5 KiB of stack; the walk also refuses schemas that loop in place).
inline constexpr size_t kMaxSchemaErrors = 100;
inline constexpr size_t kMaxPatternSubjectLength = 1000;
inline constexpr int kMaxSchemaWalkDepth = 256;
// The largest repetition count (`a{n}`, `a{n,m}`) or back-reference number (`\n`) a
// pattern may hold: libstdc++ reads them into a `long` unchecked (a longer one overflows,
// which is undefined behaviour), and its automaton stops at 100,000 states, so no larger
// count compiles anyway.
inline constexpr int64_t kMaxPatternCount = 100000;

// One reason the data does not match: `path` is a JSON Pointer into the data ("" for
// the data itself, "/items/0/name"); for a missing required property it names the
// property ("/name"). `message` is a sentence about that value ("must be an integer",
// "is required").
using SchemaError = FieldError;  // core/result.h
// {"path": ..., "message": ...}, as the API answers it; json(errors) gives the array.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SchemaError, path, message)

class CompiledSchema {
 public:
  // The errors are those of CheckSchema.
  static Result<CompiledSchema> Compile(const nlohmann::json& schema);

  // Empty when `data` matches. Otherwise one error per failing keyword (a failed
  // anyOf/oneOf/not is one error at its own value), at most kMaxSchemaErrors, in the
  // same order for the same schema and data.
  std::vector<SchemaError> Validate(const nlohmann::json& data) const;

 private:
  explicit CompiledSchema(std::shared_ptr<const valijson::Schema> schema)
      : schema_(std::move(schema)) {}

  std::shared_ptr<const valijson::Schema> schema_;  // Shared by copies; immutable.
};

// Ok, or kInvalidArgument whose message names the place and the fault, e.g.
// "schema: /properties/age/type: must be one of \"array\", \"boolean\", ...".
Status CheckSchema(const nlohmann::json& schema);

// Compiles and validates in one go; a schema CheckSchema refuses gives one error at ""
// saying why.
std::vector<SchemaError> Validate(const nlohmann::json& schema, const nlohmann::json& data);

}  // namespace sw
