#include "cli/definition_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace sw::cli {
namespace {

using nlohmann::json;

class DefinitionFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "stepwell-definition-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Writes `content` to a file named `name` in the test's directory; returns its path.
  std::string WriteFile(const std::string& name, const std::string& content) {
    std::filesystem::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out << content;
    out.close();
    EXPECT_TRUE(out.good()) << "cannot write " << path;
    return path.string();
  }

  std::filesystem::path dir_;
};

TEST_F(DefinitionFileTest, YamlWithNestedStepsBecomesTheSameJson) {
  std::string path = WriteFile("charge.yaml", R"(# A workflow with a loop.
id: charge-customer
kind: workflow
steps:
  - id: fetch
    type: http
    with:
      url: "https://example.com/users/{{ input.userId }}"
      method: GET
      headers:
        Accept: application/json
    retry:
      max_attempts: 3
      backoff: 500ms
  - id: poll
    type: loop
    with:
      max_iterations: 10
      steps:
        - id: check
          type: http
          with: {url: "https://example.com/status", method: GET}
        - id: nap
          type: sleep
          with:
            duration: 30s
  - id: await-approval
    type: wait_for_event
    with:
      event_type: user-approval
      timeout: 7d
)");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_TRUE(definition.ok()) << definition.status().message();
  json expected = {{"id", "charge-customer"},
                   {"kind", "workflow"},
                   {"steps",
                    {{{"id", "fetch"},
                      {"type", "http"},
                      {"with",
                       {{"url", "https://example.com/users/{{ input.userId }}"},
                        {"method", "GET"},
                        {"headers", {{"Accept", "application/json"}}}}},
                      {"retry", {{"max_attempts", 3}, {"backoff", "500ms"}}}},
                     {{"id", "poll"},
                      {"type", "loop"},
                      {"with",
                       {{"max_iterations", 10},
                        {"steps",
                         {{{"id", "check"},
                           {"type", "http"},
                           {"with", {{"url", "https://example.com/status"}, {"method", "GET"}}}},
                          {{"id", "nap"}, {"type", "sleep"}, {"with", {{"duration", "30s"}}}}}}}}},
                     {{"id", "await-approval"},
                      {"type", "wait_for_event"},
                      {"with", {{"event_type", "user-approval"}, {"timeout", "7d"}}}}}}};
  EXPECT_EQ(*definition, expected);
  EXPECT_TRUE((*definition)["steps"][0]["retry"]["max_attempts"].is_number_integer());
}

TEST_F(DefinitionFileTest, JsonFileIsParsedAsJson) {
  // Tabs are fine in JSON but not as YAML indentation: proves the JSON parser is used.
  std::string path = WriteFile("notify.json",
                               "{\n\t\"id\": \"notify\",\n\t\"steps\": [\n\t\t{\"id\": \"a\", "
                               "\"type\": \"log\", \"with\": {\"level\": 2, \"ratio\": 0.5, "
                               "\"on\": true, \"note\": null}}\n\t]\n}\n");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_TRUE(definition.ok()) << definition.status().message();
  json expected = {{"id", "notify"},
                   {"steps",
                    {{{"id", "a"},
                      {"type", "log"},
                      {"with", {{"level", 2}, {"ratio", 0.5}, {"on", true}, {"note", nullptr}}}}}}};
  EXPECT_EQ(*definition, expected);
}

TEST_F(DefinitionFileTest, YamlFileMayHoldJsonText) {
  std::string path = WriteFile("flow.yml", R"({"id": "flow", "version": "3", "n": 3})");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_TRUE(definition.ok()) << definition.status().message();
  EXPECT_EQ(*definition, (json{{"id", "flow"}, {"version", "3"}, {"n", 3}}));
}

TEST_F(DefinitionFileTest, QuotedScalarsStayStrings) {
  std::string path = WriteFile("quoted.yaml", R"(id: quoted
double_true: "true"
single_false: 'false'
quoted_number: "42"
quoted_float: '3.5'
quoted_null: "null"
quoted_tilde: "~"
explicit_str: !!str 17
empty_quoted: ""
)");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_TRUE(definition.ok()) << definition.status().message();
  EXPECT_EQ(*definition, (json{{"id", "quoted"},
                               {"double_true", "true"},
                               {"single_false", "false"},
                               {"quoted_number", "42"},
                               {"quoted_float", "3.5"},
                               {"quoted_null", "null"},
                               {"quoted_tilde", "~"},
                               {"explicit_str", "17"},
                               {"empty_quoted", ""}}));
}

TEST_F(DefinitionFileTest, PlainBooleansAndNullsAreTyped) {
  std::string path = WriteFile("plain.yaml", R"(id: plain
a: true
b: false
c: True
d: FALSE
e: null
f: ~
g:
h: NULL
)");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_TRUE(definition.ok()) << definition.status().message();
  EXPECT_EQ(*definition, (json{{"id", "plain"},
                               {"a", true},
                               {"b", false},
                               {"c", true},
                               {"d", false},
                               {"e", nullptr},
                               {"f", nullptr},
                               {"g", nullptr},
                               {"h", nullptr}}));
}

TEST_F(DefinitionFileTest, PlainNumbersBecomeIntegersOrDoubles) {
  std::string path = WriteFile("numbers.yaml", R"(id: numbers
int: 42
negative: -7
plus: +5
zero: 0
big: 9007199254740993
hex: 0x1F
octal: 0o17
float: 3.5
exponent: 1e3
leading_dot: .25
negative_float: -0.5
)");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_TRUE(definition.ok()) << definition.status().message();
  const json& d = *definition;
  for (const char* key : {"int", "negative", "plus", "zero", "big", "hex", "octal"}) {
    EXPECT_TRUE(d[key].is_number_integer()) << key << " = " << d[key].dump();
  }
  EXPECT_EQ(d["int"].get<int64_t>(), 42);
  EXPECT_EQ(d["negative"].get<int64_t>(), -7);
  EXPECT_EQ(d["plus"].get<int64_t>(), 5);
  EXPECT_EQ(d["zero"].get<int64_t>(), 0);
  EXPECT_EQ(d["big"].get<int64_t>(), 9007199254740993);
  EXPECT_EQ(d["hex"].get<int64_t>(), 31);
  EXPECT_EQ(d["octal"].get<int64_t>(), 15);
  for (const char* key : {"float", "exponent", "leading_dot", "negative_float"}) {
    EXPECT_TRUE(d[key].is_number_float()) << key << " = " << d[key].dump();
  }
  EXPECT_DOUBLE_EQ(d["float"].get<double>(), 3.5);
  EXPECT_DOUBLE_EQ(d["exponent"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(d["leading_dot"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(d["negative_float"].get<double>(), -0.5);
}

TEST_F(DefinitionFileTest, OtherPlainScalarsStayStrings) {
  std::string path = WriteFile("words.yaml", R"(id: words
yes_word: yes
no_word: no
on_word: on
duration: 30s
dotted: 1.2.3
mixed: 12abc
time: 2026-11-22T10:00:00.000Z
)");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_TRUE(definition.ok()) << definition.status().message();
  EXPECT_EQ(*definition, (json{{"id", "words"},
                               {"yes_word", "yes"},
                               {"no_word", "no"},
                               {"on_word", "on"},
                               {"duration", "30s"},
                               {"dotted", "1.2.3"},
                               {"mixed", "12abc"},
                               {"time", "2026-11-22T10:00:00.000Z"}}));
}

TEST_F(DefinitionFileTest, BadYamlIsInvalidArgumentNamingFileAndLine) {
  std::string path = WriteFile("bad.yaml", "id: bad\nsteps: [a, b\nother: 1\n");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(definition.status().message().find(path + ":"), std::string::npos)
      << definition.status().message();
  EXPECT_NE(definition.status().message().find("invalid YAML"), std::string::npos)
      << definition.status().message();
}

TEST_F(DefinitionFileTest, BadJsonIsInvalidArgument) {
  std::string path = WriteFile("bad.json", R"({"id": "bad", "steps": [})");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(definition.status().message().find("invalid JSON"), std::string::npos)
      << definition.status().message();
}

TEST_F(DefinitionFileTest, MissingFileIsNotFound) {
  std::string path = (dir_ / "does-not-exist.yaml").string();

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kNotFound);
  EXPECT_NE(definition.status().message().find(path), std::string::npos)
      << definition.status().message();
}

TEST_F(DefinitionFileTest, DuplicateKeyIsInvalidArgument) {
  std::string path = WriteFile("dup.yaml", "id: dup\nkind: workflow\nid: other\n");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(definition.status().message().find("duplicate key 'id'"), std::string::npos)
      << definition.status().message();
}

TEST_F(DefinitionFileTest, TopLevelSequenceIsInvalidArgument) {
  std::string path = WriteFile("list.yaml", "- id: a\n- id: b\n");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DefinitionFileTest, EmptyFileIsInvalidArgument) {
  std::string path = WriteFile("empty.yaml", "# nothing here\n");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DefinitionFileTest, SeveralYamlDocumentsAreInvalidArgument) {
  std::string path = WriteFile("two.yaml", "id: one\n---\nid: two\n");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DefinitionFileTest, UnknownTagIsInvalidArgument) {
  std::string path = WriteFile("tag.yaml", "id: tagged\nsecret: !vault abc\n");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(definition.status().message().find("!vault"), std::string::npos)
      << definition.status().message();
}

TEST_F(DefinitionFileTest, NestingBeyondTheLimitIsInvalidArgument) {
  std::string deep = "id: deep\nx: ";
  for (int i = 0; i <= kMaxDefinitionDepth; ++i) {
    deep += "[";
  }
  for (int i = 0; i <= kMaxDefinitionDepth; ++i) {
    deep += "]";
  }
  std::string path = WriteFile("deep.yaml", deep + "\n");

  Result<json> definition = LoadDefinitionFile(path);

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
}

// yaml-cpp's LoadAll loops forever on a stray top-level ',' (found by
// definition_yaml_fuzz); the file is refused instead.
TEST_F(DefinitionFileTest, AStrayTopLevelCommaIsRefusedNotLoopedOn) {
  for (const char* content : {",", ",N", "[a],", "- a\n,"}) {
    Result<json> definition = LoadDefinitionFile(WriteFile("comma.yaml", content));

    ASSERT_FALSE(definition.ok()) << content;
    EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument) << content;
  }
}

TEST_F(DefinitionFileTest, InvalidUtf8IsRefusedNotPassedOn) {
  // Found by definition_yaml_fuzz: yaml-cpp keeps the byte, and sending the JSON threw.
  Result<json> definition =
      LoadDefinitionFile(WriteFile("bytes.yaml", "id: wf\nsteps:\n  - id: a\n    wit\x9f: 1\n"));

  ASSERT_FALSE(definition.ok());
  EXPECT_EQ(definition.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(definition.status().message().find("not valid UTF-8"), std::string::npos)
      << definition.status().message();
}

}  // namespace
}  // namespace sw::cli
