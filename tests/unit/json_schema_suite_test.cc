// The official JSON-Schema-Test-Suite for draft 7 (Debian's json-schema-test-suite) run
// through CompiledSchema: every file in SW_JSON_SCHEMA_SUITE_DIR, optional ones included.
// kUnsupported lists what we do not support, with the reason; every entry must really
// behave as listed (refused, or accepted with some verdicts wrong), so the list cannot
// outlive the gap it names. Anything not listed must give every verdict right.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_schema.h"

namespace sw {
namespace {

using nlohmann::json;

enum class Gap {
  kRefused,      // CheckSchema refuses the group's schema.
  kNotAsserted,  // The schema is accepted; some of the group's verdicts are wrong.
};

struct Unsupported {
  std::string_view file;   // Relative to the suite directory.
  std::string_view group;  // A group's description; "" for every group of the file.
  Gap gap;
  std::string_view reason;
};

constexpr std::string_view kFormatNotChecked =
    "format is checked only for date, time, date-time and email; other formats are "
    "annotations, as draft 7 allows";

constexpr Unsupported kUnsupported[] = {
    {"refRemote.json", "", Gap::kRefused, "references outside the schema are not fetched"},
    {"definitions.json", "", Gap::kRefused,
     "refers to the draft-07 meta-schema by its URL, which is outside the schema"},
    {"ref.json", "remote ref, containing refs itself", Gap::kRefused,
     "refers to the draft-07 meta-schema by its URL, which is outside the schema"},
    {"ref.json", "Recursive references between schemas", Gap::kRefused,
     "relative references resolved against $id are not supported"},
    {"optional/content.json", "", Gap::kNotAsserted,
     "contentMediaType and contentEncoding are annotations, as draft 7 allows"},
    {"optional/ecmascript-regex.json", "", Gap::kNotAsserted,
     "std::regex's ECMAScript reads \\Z as a literal Z instead of refusing it"},
    {"optional/format/hostname.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/idn-email.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/idn-hostname.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/ipv4.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/ipv6.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/iri-reference.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/iri.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/json-pointer.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/regex.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/relative-json-pointer.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/uri-reference.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/uri-template.json", "", Gap::kNotAsserted, kFormatNotChecked},
    {"optional/format/uri.json", "", Gap::kNotAsserted, kFormatNotChecked},
};

const std::filesystem::path kSuiteDir = SW_JSON_SCHEMA_SUITE_DIR;

std::vector<std::string> SuiteFiles() {
  std::vector<std::string> files;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(kSuiteDir, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file() && it->path().extension() == ".json") {
      files.push_back(std::filesystem::relative(it->path(), kSuiteDir).generic_string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

const Unsupported* FindUnsupported(std::string_view file, std::string_view group) {
  for (const Unsupported& entry : kUnsupported) {
    if (entry.file == file && (entry.group.empty() || entry.group == group)) {
      return &entry;
    }
  }
  return nullptr;
}

// An error names a value of the data, or a missing property of an object in it.
void ExpectWellFormed(const SchemaError& error, const json& data) {
  EXPECT_FALSE(error.message.empty());
  if (error.path.empty()) {
    return;
  }
  ASSERT_EQ(error.path[0], '/') << error.path;
  json::json_pointer pointer(error.path);
  EXPECT_TRUE(data.contains(pointer) || data.contains(pointer.parent_pointer())) << error.path;
}

std::string Describe(const std::vector<SchemaError>& errors) {
  std::string text;
  for (const SchemaError& error : errors) {
    text += "\n  " + error.path + ": " + error.message;
  }
  return text.empty() ? " (no errors)" : text;
}

// Runs one group; returns how many verdicts were wrong.
int RunGroup(const std::string& file, const json& group, const Unsupported* gap) {
  std::string name = file + ": " + group["description"].get<std::string>();
  Result<CompiledSchema> compiled = CompiledSchema::Compile(group["schema"]);
  if (gap != nullptr && gap->gap == Gap::kRefused) {
    EXPECT_FALSE(compiled.ok()) << name << " is listed as refused but compiles";
    return 0;
  }
  EXPECT_TRUE(compiled.ok()) << name << ": " << compiled.status().message();
  if (!compiled.ok()) {
    return 0;
  }
  int wrong = 0;
  for (const json& test : group["tests"]) {
    std::vector<SchemaError> errors = compiled->Validate(test["data"]);
    for (const SchemaError& error : errors) {
      ExpectWellFormed(error, test["data"]);
    }
    bool expected = test["valid"].get<bool>();
    if (errors.empty() == expected) {
      continue;
    }
    ++wrong;
    if (gap == nullptr) {
      ADD_FAILURE() << name << " / " << test["description"].get<std::string>() << ": expected "
                    << (expected ? "valid" : "invalid") << Describe(errors);
    }
  }
  return wrong;
}

class JsonSchemaSuite : public testing::TestWithParam<std::string> {};

TEST_P(JsonSchemaSuite, GivesEveryVerdictOfTheSuite) {
  const std::string& file = GetParam();
  std::ifstream in(kSuiteDir / file);
  json groups = json::parse(in);
  ASSERT_TRUE(groups.is_array()) << file;
  for (const json& group : groups) {
    const Unsupported* gap = FindUnsupported(file, group["description"].get<std::string>());
    int wrong = RunGroup(file, group, gap);
    if (gap != nullptr && gap->gap == Gap::kNotAsserted && gap->group == "") {
      continue;  // A whole file: some of its groups may pass.
    }
    if (gap != nullptr && gap->gap == Gap::kNotAsserted) {
      EXPECT_GT(wrong, 0) << file << ": " << group["description"] << " is listed as unsupported ("
                          << gap->reason << ") but passes";
    }
  }
}

std::string TestName(const testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.size() - std::string(".json").size());
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Draft7, JsonSchemaSuite, testing::ValuesIn(SuiteFiles()), TestName);

TEST(JsonSchemaSuiteFiles, AreInstalled) {
  EXPECT_GE(SuiteFiles().size(), 30u)
      << "no draft-7 suite in " << kSuiteDir << "; install the json-schema-test-suite package";
}

// A whole file listed as not asserted must still fail somewhere, and every listed file
// must exist.
TEST(JsonSchemaSuiteFiles, ListOnlyRealGaps) {
  for (const Unsupported& entry : kUnsupported) {
    std::filesystem::path path = kSuiteDir / entry.file;
    ASSERT_TRUE(std::filesystem::exists(path)) << entry.file << " is listed but missing";
    std::ifstream in(path);
    json groups = json::parse(in);
    int wrong = 0;
    bool found = false;
    for (const json& group : groups) {
      if (!entry.group.empty() && group["description"] != entry.group) {
        continue;
      }
      found = true;
      Result<CompiledSchema> compiled = CompiledSchema::Compile(group["schema"]);
      for (const json& test : group["tests"]) {
        wrong +=
            compiled.ok() && compiled->Validate(test["data"]).empty() != test["valid"].get<bool>()
                ? 1
                : 0;
      }
    }
    EXPECT_TRUE(found) << entry.file << ": no group " << entry.group;
    if (entry.gap == Gap::kNotAsserted) {
      EXPECT_GT(wrong, 0) << entry.file << " is listed (" << entry.reason << ") but passes";
    }
  }
}

}  // namespace
}  // namespace sw
