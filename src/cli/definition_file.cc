#include "cli/definition_file.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace sw::cli {
namespace {

using nlohmann::json;

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";
constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kFloatTag = "tag:yaml.org,2002:float";
constexpr std::string_view kBoolTag = "tag:yaml.org,2002:bool";
constexpr std::string_view kNullTag = "tag:yaml.org,2002:null";

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

Result<std::string> ReadFileBounded(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    int error = errno;
    std::string message = "cannot open definition file " + path + ": " + std::strerror(error);
    if (error == ENOENT) {
      return Status(StatusCode::kNotFound, std::move(message), "not_found");
    }
    return InvalidArgument(std::move(message));
  }
  std::string text;
  std::vector<char> buffer(64 * 1024);
  while (true) {
    std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
    text.append(buffer.data(), n);
    if (text.size() > kMaxDefinitionFileBytes) {
      return Status(StatusCode::kResourceExhausted,
                    "definition file " + path + " is larger than " +
                        std::to_string(kMaxDefinitionFileBytes) + " bytes",
                    "payload_too_large");
    }
    if (n < buffer.size()) {
      break;
    }
  }
  if (std::ferror(file.get())) {
    return InvalidArgument("cannot read definition file " + path + ": " + std::strerror(errno));
  }
  return text;
}

bool HasJsonExtension(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension == ".json";
}

// "file:line:col" for a node; just the file when yaml-cpp has no position for it.
std::string Where(const std::string& path, const YAML::Mark& mark) {
  if (mark.is_null()) {
    return path;
  }
  return path + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

std::optional<json> ParseInteger(std::string_view text) {
  static const std::regex kDecimal("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  int base = 10;
  std::string_view digits = text;
  if (std::regex_match(text.begin(), text.end(), kDecimal)) {
    if (!digits.empty() && digits.front() == '+') {
      digits.remove_prefix(1);
    }
  } else if (std::regex_match(text.begin(), text.end(), kOctal)) {
    base = 8;
    digits.remove_prefix(2);
  } else if (std::regex_match(text.begin(), text.end(), kHex)) {
    base = 16;
    digits.remove_prefix(2);
  } else {
    return std::nullopt;
  }
  const char* end = digits.data() + digits.size();
  int64_t signed_value = 0;
  auto [signed_end, signed_error] = std::from_chars(digits.data(), end, signed_value, base);
  if (signed_error == std::errc() && signed_end == end) {
    return json(signed_value);
  }
  uint64_t unsigned_value = 0;
  auto [unsigned_end, unsigned_error] = std::from_chars(digits.data(), end, unsigned_value, base);
  if (unsigned_error == std::errc() && unsigned_end == end) {
    return json(unsigned_value);
  }
  return std::nullopt;  // Too large for 64 bits: the float rule may still take it.
}

std::optional<json> ParseFloat(std::string_view text) {
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (!std::regex_match(text.begin(), text.end(), kFloat)) {
    return std::nullopt;
  }
  if (text.front() == '+') {
    text.remove_prefix(1);
  }
  double value = 0;
  const char* end = text.data() + text.size();
  auto [parsed_end, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || parsed_end != end) {
    return std::nullopt;  // Out of range (1e999): JSON has no infinity; keep the text.
  }
  return json(value);
}

// The YAML 1.2 core schema's reading of an untagged plain scalar.
json ResolvePlainScalar(const std::string& text) {
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (std::optional<json> integer = ParseInteger(text)) {
    return *std::move(integer);
  }
  if (std::optional<json> real = ParseFloat(text)) {
    return *std::move(real);
  }
  return text;
}

Result<json> ConvertScalar(const YAML::Node& node, const std::string& path) {
  const std::string& tag = node.Tag();
  const std::string& text = node.Scalar();
  if (tag == "!" || tag == kStrTag) {
    return json(text);  // Quoted, or explicitly a string.
  }
  if (tag.empty() || tag == "?") {
    return ResolvePlainScalar(text);
  }
  json value = ResolvePlainScalar(text);
  if (tag == kIntTag && value.is_number_integer()) {
    return value;
  }
  if (tag == kFloatTag && value.is_number()) {
    return json(value.get<double>());
  }
  if ((tag == kBoolTag && value.is_boolean()) || (tag == kNullTag && value.is_null())) {
    return value;
  }
  if (tag == kIntTag || tag == kFloatTag || tag == kBoolTag || tag == kNullTag) {
    return InvalidArgument(Where(path, node.Mark()) + ": '" + text + "' is not a valid " + tag);
  }
  return InvalidArgument(Where(path, node.Mark()) + ": unsupported YAML tag " + tag);
}

Result<json> ConvertNode(const YAML::Node& node, const std::string& path, int depth);

Result<json> ConvertMap(const YAML::Node& node, const std::string& path, int depth) {
  json object = json::object();
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) {
      return InvalidArgument(Where(path, key.Mark()) + ": mapping keys must be plain strings");
    }
    const std::string& name = key.Scalar();
    if (object.contains(name)) {
      return InvalidArgument(Where(path, key.Mark()) + ": duplicate key '" + name + "'");
    }
    Result<json> value = ConvertNode(entry.second, path, depth + 1);
    if (!value.ok()) {
      return value.status();
    }
    object[name] = *std::move(value);
  }
  return object;
}

Result<json> ConvertNode(const YAML::Node& node, const std::string& path, int depth) {
  if (depth > kMaxDefinitionDepth) {
    return InvalidArgument(Where(path, node.Mark()) + ": nested deeper than " +
                           std::to_string(kMaxDefinitionDepth) + " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return json(nullptr);
    case YAML::NodeType::Scalar:
      return ConvertScalar(node, path);
    case YAML::NodeType::Sequence: {
      json array = json::array();
      for (const YAML::Node& item : node) {
        Result<json> value = ConvertNode(item, path, depth + 1);
        if (!value.ok()) {
          return value.status();
        }
        array.push_back(*std::move(value));
      }
      return array;
    }
    case YAML::NodeType::Map:
      return ConvertMap(node, path, depth);
  }
  return Internal("unknown YAML node type");
}

// Counts the documents of a YAML stream, up to 2. yaml-cpp 0.7's LoadAll never ends on
// a stray top-level "," (",", "[a],"): each call yields an empty document without
// consuming it, so the count stops at 2 rather than loading them all.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

int CountDocuments(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  int documents = 0;
  while (documents < 2 && parser.HandleNextDocument(counter)) {
    ++documents;
  }
  return documents;
}

Result<json> ParseYaml(const std::string& text, const std::string& path) {
  try {
    const int documents = CountDocuments(text);
    if (documents > 1) {
      return InvalidArgument(path +
                             " holds more than one YAML document (or a stray ',' at the top "
                             "level); expected one definition");
    }
    if (documents == 0) {
      return json(nullptr);
    }
    Result<json> converted = ConvertNode(YAML::Load(text), path, 0);
    // yaml-cpp passes bytes that are not UTF-8 through (and makes some of a NUL): the
    // JSON they became could not be sent.
    if (converted.ok()) {
      (void)converted->dump();
    }
    return converted;
  } catch (const json::type_error&) {
    return InvalidArgument(path + " is not valid UTF-8");
  } catch (const YAML::Exception& e) {
    return InvalidArgument(Where(path, e.mark) + ": invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgument(path + ": invalid YAML: " + e.what());
  }
}

Result<json> ParseJson(const std::string& text, const std::string& path) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return InvalidArgument(path + ": invalid JSON: " + e.what());
  }
}

}  // namespace

Result<json> LoadDefinitionFile(const std::string& path) {
  Result<std::string> text = ReadFileBounded(path);
  if (!text.ok()) {
    return text.status();
  }
  return ParseDefinitionText(*text, path);
}

Result<json> ParseDefinitionText(const std::string& text, const std::string& path) {
  Result<json> definition = HasJsonExtension(path) ? ParseJson(text, path) : ParseYaml(text, path);
  if (!definition.ok()) {
    return definition.status();
  }
  if (definition->is_null()) {
    return InvalidArgument("definition file " + path + " is empty");
  }
  if (!definition->is_object()) {
    return InvalidArgument("definition file " + path +
                           " must hold a mapping (key: value pairs) at the top level");
  }
  return definition;
}

}  // namespace sw::cli
