#include "core/json_schema_messages.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <nlohmann/json.hpp>

namespace sw::schema_internal {
namespace {

const char* TypeName(JsonType type) {
  switch (type) {
    case JsonType::kArray:
      return "an array";
    case JsonType::kBoolean:
      return "a boolean";
    case JsonType::kInteger:
      return "an integer";
    case JsonType::kNull:
      return "null";
    case JsonType::kNumber:
      return "a number";
    case JsonType::kObject:
      return "an object";
    case JsonType::kString:
      return "a string";
    case JsonType::kAny:
      break;
  }
  return "any value";
}

int TypeRank(JsonType type) {
  constexpr JsonType kOrder[] = {JsonType::kObject,  JsonType::kArray,  JsonType::kString,
                                 JsonType::kInteger, JsonType::kNumber, JsonType::kBoolean,
                                 JsonType::kNull,    JsonType::kAny};
  return static_cast<int>(std::find(std::begin(kOrder), std::end(kOrder), type) -
                          std::begin(kOrder));
}

}  // namespace

std::string PointerChild(const std::string& path, std::string_view key) {
  std::string child = path + "/";
  for (char c : key) {
    child += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  }
  return child;
}

std::string PointerChild(const std::string& path, size_t index) {
  return path + "/" + std::to_string(index);
}

std::string NumberText(double n) {
  if (std::isfinite(n) && std::trunc(n) == n && std::fabs(n) < 1e15) {
    return std::to_string(static_cast<int64_t>(n));
  }
  return nlohmann::json(n).dump();
}

std::string CountText(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string TypesText(std::vector<JsonType> wanted) {
  std::sort(wanted.begin(), wanted.end(),
            [](JsonType a, JsonType b) { return TypeRank(a) < TypeRank(b); });
  std::string text = "must be ";
  for (size_t i = 0; i < wanted.size(); ++i) {
    text += i == 0 ? "" : i + 1 == wanted.size() ? " or " : ", ";
    text += TypeName(wanted[i]);
  }
  return text;
}

std::string FormatText(const std::string& format) {
  if (format == "email") {
    return "must be an email address";
  }
  if (format == "date") {
    return "must be a date like 2024-05-31";
  }
  if (format == "time") {
    return "must be a time with an offset like 13:45:00Z";
  }
  if (format == "date-time") {
    return "must be a date and time like 2024-05-31T13:45:00Z";
  }
  return "must be a valid " + format;
}

}  // namespace sw::schema_internal
