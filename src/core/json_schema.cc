#include "core/json_schema.h"

#include <algorithm>
#include <map>
#include <regex>
#include <string_view>
#include <valijson/schema.hpp>

#include "core/json_schema_errors.h"
#include "core/json_schema_messages.h"
#include "core/json_schema_parse.h"

namespace sw {
namespace {

using nlohmann::json;
using schema_internal::PointerChild;

// Whether `pattern` holds a number that std::regex reads as a repetition count (after
// `{`, outside a bracket expression) or a back-reference (after `\`) above
// kMaxPatternCount. The numbers are read saturated, so none overflows here.
bool HasCountAboveLimit(std::string_view pattern) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  // The digits from `i` on, as a number; `i` ends past them.
  auto number_at = [&](size_t& i) {
    int64_t value = 0;
    for (; i < pattern.size() && is_digit(pattern[i]); ++i) {
      value = std::min<int64_t>(value * 10 + (pattern[i] - '0'), kMaxPatternCount + 1);
    }
    return value;
  };
  bool in_bracket = false;
  for (size_t i = 0; i < pattern.size();) {
    const char c = pattern[i++];
    if (c == '\\' && i < pattern.size()) {
      if (!is_digit(pattern[i])) {
        ++i;  // the escaped character
      } else if (number_at(i) > kMaxPatternCount) {
        return true;
      }
    } else if (in_bracket) {
      in_bracket = c != ']';
    } else if (c == '[') {
      in_bracket = true;
    } else if (c == '{') {
      if (number_at(i) > kMaxPatternCount) {
        return true;
      }
      if (i < pattern.size() && pattern[i] == ',' && number_at(++i) > kMaxPatternCount) {
        return true;
      }
    }
  }
  return false;
}

// Keywords whose value is one subschema, or (the *Map ones) an object of them, or (the
// *Array ones) an array of them. `items` is either; `dependencies` values are either a
// subschema or a list of property names.
constexpr std::string_view kSchemaKeywords[] = {"additionalItems",
                                                "additionalProperties",
                                                "contains",
                                                "else",
                                                "if",
                                                "items",
                                                "not",
                                                "propertyNames",
                                                "then"};
constexpr std::string_view kSchemaMapKeywords[] = {"definitions", "dependencies", "properties",
                                                   "patternProperties"};
constexpr std::string_view kSchemaArrayKeywords[] = {"allOf", "anyOf", "items", "oneOf"};
// Keywords whose subschemas apply to the very value their schema applies to; a loop
// through them (and $ref) never reaches a deeper value.
constexpr std::string_view kInPlaceKeywords[] = {"else", "if", "not", "then"};
constexpr std::string_view kInPlaceArrayKeywords[] = {"allOf", "anyOf", "oneOf"};

bool IsSchema(const json& value) { return value.is_object() || value.is_boolean(); }

Status SchemaFault(const std::string& pointer, const std::string& message) {
  return InvalidArgument("schema: " + (pointer.empty() ? "" : pointer + ": ") + message);
}

// "%25" -> "%", as a URI fragment is written.
Result<std::string> PercentDecoded(std::string_view text) {
  std::string decoded;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return InvalidArgument("has a bad percent escape");
    }
    decoded += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return decoded;
}

// Every subschema of a schema, by JSON Pointer, and what is wrong with any of them.
class SchemaStructure {
 public:
  explicit SchemaStructure(const json& root) : root_(root) {}

  Status Check() {
    if (root_.is_object() && root_.contains("$schema")) {
      std::string uri = root_["$schema"].get<std::string>();
      if (uri.find("json-schema.org/draft-07/schema") == std::string::npos) {
        return SchemaFault("/$schema",
                           "only draft 7 (http://json-schema.org/draft-07/schema#) "
                           "is supported, not " +
                               uri);
      }
    }
    Status listed = List(root_, "");
    if (!listed.ok()) {
      return listed;
    }
    for (const auto& [pointer, node] : subschemas_) {
      Status looped = CheckLoops(pointer, 0);
      if (!looped.ok()) {
        return looped;
      }
    }
    return Status::Ok();
  }

 private:
  enum class Visit { kOpen, kDone };

  Status List(const json& node, const std::string& pointer);
  Status CheckNode(const json& node, const std::string& pointer);
  Result<std::string> RefTarget(const json& node, const std::string& pointer) const;
  std::vector<std::string> InPlaceChildren(const std::string& pointer) const;
  Status CheckLoops(const std::string& pointer, int depth);

  const json& root_;
  std::map<std::string, const json*> subschemas_;
  std::map<std::string, Visit> visits_;
};

Status SchemaStructure::List(const json& node, const std::string& pointer) {
  subschemas_[pointer] = &node;
  Status checked = CheckNode(node, pointer);
  // The siblings of a $ref are ignored in draft 7, so are not checked either.
  if (!checked.ok() || !node.is_object() || node.contains("$ref")) {
    return checked;
  }
  std::vector<std::pair<std::string, const json*>> children;
  for (std::string_view keyword : kSchemaKeywords) {
    auto it = node.find(keyword);
    if (it != node.end() && IsSchema(*it)) {
      children.emplace_back(PointerChild(pointer, keyword), &*it);
    }
  }
  for (std::string_view keyword : kSchemaArrayKeywords) {
    auto it = node.find(keyword);
    for (size_t i = 0; it != node.end() && it->is_array() && i < it->size(); ++i) {
      children.emplace_back(PointerChild(PointerChild(pointer, keyword), i), &(*it)[i]);
    }
  }
  for (std::string_view keyword : kSchemaMapKeywords) {
    auto it = node.find(keyword);
    if (it == node.end()) {
      continue;
    }
    for (const auto& [key, value] : it->items()) {
      if (IsSchema(value)) {
        children.emplace_back(PointerChild(PointerChild(pointer, keyword), key), &value);
      }
    }
  }

  for (const auto& [child_pointer, child] : children) {
    Status listed = List(*child, child_pointer);
    if (!listed.ok()) {
      return listed;
    }
  }
  return Status::Ok();
}

Status SchemaStructure::CheckNode(const json& node, const std::string& pointer) {
  if (!node.is_object()) {
    return Status::Ok();
  }
  if (!pointer.empty() && node.contains("$id")) {
    return SchemaFault(pointer + "/$id", "$id is supported only at the root of the schema");
  }
  if (node.contains("$ref")) {
    return RefTarget(node, pointer).status();
  }
  std::vector<std::pair<std::string, std::string>> patterns;
  if (node.contains("pattern")) {
    patterns.emplace_back(pointer + "/pattern", node["pattern"].get<std::string>());
  }
  if (node.contains("patternProperties")) {
    for (const auto& [pattern, schema] : node["patternProperties"].items()) {
      patterns.emplace_back(PointerChild(pointer + "/patternProperties", pattern), pattern);
    }
  }
  for (const auto& [place, pattern] : patterns) {
    if (HasCountAboveLimit(pattern)) {
      return SchemaFault(place, "has a repetition count or back-reference above " +
                                    std::to_string(kMaxPatternCount) +
                                    ", more than std::regex can compile");
    }
    try {
      std::regex compiled(pattern);
    } catch (const std::regex_error& e) {
      return SchemaFault(place, "is not a regular expression std::regex (ECMAScript) accepts: " +
                                    std::string(e.what()));
    }
  }
  return Status::Ok();
}

// The JSON Pointer of the subschema a $ref names.
Result<std::string> SchemaStructure::RefTarget(const json& node, const std::string& pointer) const {
  const std::string& ref = node["$ref"].get_ref<const std::string&>();
  std::string place = pointer + "/$ref";
  if (ref != "#" && ref.rfind("#/", 0) != 0) {
    return SchemaFault(place,
                       "only references inside the schema (\"#\" or \"#/...\") are "
                       "supported, not " +
                           json(ref).dump());
  }
  Result<std::string> decoded = PercentDecoded(std::string_view(ref).substr(1));
  if (!decoded.ok()) {
    return SchemaFault(place, decoded.status().message());
  }
  try {
    json::json_pointer target(*decoded);
    if (!root_.contains(target)) {
      return SchemaFault(place, json(ref).dump() + " points at nothing in the schema");
    }
    if (!IsSchema(root_[target])) {
      return SchemaFault(place, json(ref).dump() + " points at a value that is not a schema");
    }
    return target.to_string();
  } catch (const json::exception&) {
    return SchemaFault(place, json(ref).dump() + " is not a JSON Pointer");
  }
}

std::vector<std::string> SchemaStructure::InPlaceChildren(const std::string& pointer) const {
  const json& node = *subschemas_.at(pointer);
  if (!node.is_object()) {
    return {};
  }
  if (node.contains("$ref")) {
    return {*RefTarget(node, pointer)};
  }
  std::vector<std::string> children;
  for (std::string_view keyword : kInPlaceKeywords) {
    if (node.contains(keyword)) {
      children.push_back(PointerChild(pointer, keyword));
    }
  }
  for (std::string_view keyword : kInPlaceArrayKeywords) {
    for (size_t i = 0; node.contains(keyword) && i < node[keyword].size(); ++i) {
      children.push_back(PointerChild(PointerChild(pointer, keyword), i));
    }
  }
  json dependencies = node.value("dependencies", json::object());
  for (const auto& [name, dependency] : dependencies.items()) {
    if (IsSchema(dependency)) {
      children.push_back(PointerChild(PointerChild(pointer, "dependencies"), name));
    }
  }
  return children;
}

// Depth-first over in-place children: reaching a subschema still open is a loop, which
// would make valijson's parser (and any validation) recurse without end.
Status SchemaStructure::CheckLoops(const std::string& pointer, int depth) {
  auto visit = visits_.find(pointer);
  if (visit != visits_.end()) {
    return visit->second == Visit::kDone
               ? Status::Ok()
               : SchemaFault(pointer, "refers back to itself without going into the data");
  }
  if (depth > kMaxSchemaWalkDepth) {
    return SchemaFault(pointer, "nests more than " + std::to_string(kMaxSchemaWalkDepth) +
                                    " references and combinations deep");
  }
  if (subschemas_.count(pointer) == 0) {
    // A $ref target inside a part of the schema that is no subschema position, e.g.
    // under an unknown keyword: valijson parses it from there, so list it.
    Status listed = List(root_[json::json_pointer(pointer)], pointer);
    if (!listed.ok()) {
      return listed;
    }
  }
  visits_[pointer] = Visit::kOpen;
  for (const std::string& child : InPlaceChildren(pointer)) {
    Status looped = CheckLoops(child, depth + 1);
    if (!looped.ok()) {
      return looped;
    }
  }
  visits_[pointer] = Visit::kDone;
  return Status::Ok();
}

Status SchemaStatus(const std::vector<SchemaError>& errors) {
  std::string more =
      errors.size() > 1 ? " (and " + std::to_string(errors.size() - 1) + " more)" : std::string();
  return SchemaFault(errors.front().path, errors.front().message + more);
}

const valijson::Schema& MetaSchema() {
  static const std::shared_ptr<const valijson::Schema> meta = [] {
    Result<std::shared_ptr<const valijson::Schema>> parsed =
        schema_internal::ParseSchema(json::parse(schema_internal::kDraft7MetaSchema));
    SW_CHECK(parsed.ok());
    return *parsed;
  }();
  return *meta;
}

}  // namespace

Result<CompiledSchema> CompiledSchema::Compile(const json& schema) {
  if (!IsSchema(schema)) {
    return SchemaFault("", "must be an object or a boolean");
  }
  std::vector<SchemaError> meta = schema_internal::CollectErrors(MetaSchema(), schema);
  if (!meta.empty()) {
    return SchemaStatus(meta);
  }
  Status structure = SchemaStructure(schema).Check();
  if (!structure.ok()) {
    return structure;
  }
  Result<std::shared_ptr<const valijson::Schema>> parsed = schema_internal::ParseSchema(schema);
  if (!parsed.ok()) {
    return parsed.status();
  }
  return CompiledSchema(std::move(*parsed));
}

std::vector<SchemaError> CompiledSchema::Validate(const json& data) const {
  return schema_internal::CollectErrors(*schema_, data);
}

Status CheckSchema(const json& schema) { return CompiledSchema::Compile(schema).status(); }

std::vector<SchemaError> Validate(const json& schema, const json& data) {
  Result<CompiledSchema> compiled = CompiledSchema::Compile(schema);
  if (!compiled.ok()) {
    return {{"", "cannot be checked: " + compiled.status().message()}};
  }
  return compiled->Validate(data);
}

}  // namespace sw
