// LoadDefinitionFile reads a workflow definition from a file on disk and returns it as
// JSON, the form `PUT /api/v1/workflows/{id}` takes. Used by `stepwell workflows apply`.
//
// A file whose name ends in `.json` is parsed as JSON. Any other file is parsed as YAML
// (one document) and its node tree converted to JSON by the YAML 1.2 core schema:
//   - a quoted scalar ('x' or "x") or one tagged !!str is always a string, so
//     `"true"` stays the string "true";
//   - a plain (unquoted) scalar: true/True/TRUE and false/False/FALSE become booleans;
//     null/Null/NULL/~ and an empty value become null; decimal integers (and 0x.. hex,
//     0o.. octal) become integers; decimals such as 3.5 or 1e3 become doubles;
//     anything else (`30s`, `yes`, `1.2.3`) stays a string. YAML 1.1 words like
//     yes/no/on/off are strings.
//   - mappings become objects (keys must be scalars, no duplicates), sequences arrays.
// The top level must be a mapping. The function does not validate the definition
// itself (steps, ids): the server does that.
//
// Errors (never exceptions): kNotFound when the file does not exist, kInvalidArgument
// for unreadable or malformed content (the message names the file and, for YAML, the
// line and column), kResourceExhausted for a file over kMaxDefinitionFileBytes.
//
// Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"

namespace sw::cli {

// A definition is at most 1 MiB of JSON on the server; YAML is a little larger than
// the JSON it becomes, so the file may be up to 4 MiB.
inline constexpr std::size_t kMaxDefinitionFileBytes = 4 * 1024 * 1024;

// Nesting deeper than this (mappings and sequences) is rejected.
inline constexpr int kMaxDefinitionDepth = 64;

Result<nlohmann::json> LoadDefinitionFile(const std::string& path);

// The content of a definition file already read, with the same rules and errors;
// `path` only names the file in the messages and says, by its extension, whether the
// text is JSON or YAML.
Result<nlohmann::json> ParseDefinitionText(const std::string& text, const std::string& path);

}  // namespace sw::cli
