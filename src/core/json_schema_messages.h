// Internal to core/json_schema: how an error names a place in the data and says what
// the schema wanted ("must be a string or null", "must have at most 3 items").
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <valijson/constraints/concrete_constraints.hpp>
#include <vector>

namespace sw::schema_internal {

using JsonType = valijson::constraints::TypeConstraint::JsonType;

// The JSON Pointer `path` extended by one object key (escaping "~" and "/") or index.
std::string PointerChild(const std::string& path, std::string_view key);
std::string PointerChild(const std::string& path, size_t index);

// 10 rather than 10.000000; other numbers in their shortest exact form.
std::string NumberText(double n);
// "1 item", "3 items".
std::string CountText(uint64_t n, const char* one, const char* many);
// "must be an integer", "must be a string, an integer or null"; null comes last.
std::string TypesText(std::vector<JsonType> wanted);
// What a string failing `format` must look like: "must be a date like 2024-05-31".
std::string FormatText(const std::string& format);

}  // namespace sw::schema_internal
