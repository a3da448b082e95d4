#include "core/json_schema.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/json_schema_parse.h"

namespace sw {

// Printed by gtest when an expectation on errors fails.
void PrintTo(const SchemaError& error, std::ostream* os) {
  *os << "{\"" << error.path << "\", \"" << error.message << "\"}";
}

namespace {

using nlohmann::json;
using Errors = std::vector<SchemaError>;

CompiledSchema Compiled(const json& schema) {
  Result<CompiledSchema> compiled = CompiledSchema::Compile(schema);
  EXPECT_TRUE(compiled.ok()) << schema.dump() << ": " << compiled.status().message();
  return compiled.ok() ? *compiled : *CompiledSchema::Compile(true);
}

Errors ErrorsOf(const char* schema, const json& data) {
  return Compiled(json::parse(schema)).Validate(data);
}

// The message CheckSchema refuses `schema` with.
std::string Refusal(const json& schema) {
  Status status = CheckSchema(schema);
  EXPECT_FALSE(status.ok()) << schema.dump() << " was accepted";
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  return status.message();
}

std::string RefusalOf(const char* schema) { return Refusal(json::parse(schema)); }

constexpr const char* kPersonSchema = R"({
  "type": "object",
  "required": ["name", "age"],
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "age": {"type": "integer", "minimum": 0},
    "email": {"type": "string", "format": "email"},
    "tags": {"type": "array", "items": {"type": "string"}}
  },
  "additionalProperties": false
})";

TEST(JsonSchema, MatchingDataHasNoErrors) {
  EXPECT_EQ(ErrorsOf(kPersonSchema, {{"name", "Ada"}, {"age", 36}, {"tags", {"x"}}}), Errors{});
}

TEST(JsonSchema, TypeMismatchNamesTheWantedType) {
  EXPECT_EQ(ErrorsOf(R"({"type": "integer"})", "7"), (Errors{{"", "must be an integer"}}));
  EXPECT_EQ(ErrorsOf(R"({"type": "object"})", json::array()), (Errors{{"", "must be an object"}}));
}

TEST(JsonSchema, TypeListNamesEveryType) {
  EXPECT_EQ(ErrorsOf(R"({"type": ["string", "null"]})", 5),
            (Errors{{"", "must be a string or null"}}));
  EXPECT_EQ(ErrorsOf(R"({"type": ["string", "null", "integer"]})", true),
            (Errors{{"", "must be a string, an integer or null"}}));
}

TEST(JsonSchema, NumberWithoutFractionIsAnInteger) {
  EXPECT_EQ(ErrorsOf(R"({"type": "integer"})", 1.0), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"type": "integer"})", 1.5), (Errors{{"", "must be an integer"}}));
}

TEST(JsonSchema, MissingRequiredPropertyIsReportedAtItsOwnPath) {
  EXPECT_EQ(ErrorsOf(kPersonSchema, {{"age", 3}}), (Errors{{"/name", "is required"}}));
}

TEST(JsonSchema, PropertyErrorIsReportedAtThePropertyOnce) {
  EXPECT_EQ(ErrorsOf(kPersonSchema, {{"name", "Ada"}, {"age", "old"}}),
            (Errors{{"/age", "must be an integer"}}));
}

TEST(JsonSchema, ItemErrorsCarryTheirIndex) {
  const char* schema = R"({"properties": {"items": {"type": "array",
      "items": {"type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}}}}}})";
  json data = {{"items", {{{"name", "a"}}, {{"name", 3}}, json::object()}}};
  EXPECT_EQ(ErrorsOf(schema, data),
            (Errors{{"/items/1/name", "must be a string"}, {"/items/2/name", "is required"}}));
}

TEST(JsonSchema, EveryPropertyAdditionalPropertiesRefusesIsReported) {
  EXPECT_EQ(ErrorsOf(kPersonSchema, {{"name", "Ada"}, {"age", 1}, {"x", 1}, {"y", 2}}),
            (Errors{{"/x", "is not allowed"}, {"/y", "is not allowed"}}));
}

TEST(JsonSchema, AdditionalPropertiesSchemaAppliesToTheOthersOnly) {
  const char* schema = R"({"properties": {"a": {"type": "string"}},
      "patternProperties": {"^n_": {"type": "number"}},
      "additionalProperties": {"type": "boolean"}})";
  EXPECT_EQ(ErrorsOf(schema, {{"a", "s"}, {"n_1", 2}, {"b", true}}), Errors{});
  EXPECT_EQ(
      ErrorsOf(schema, {{"a", 1}, {"n_1", "x"}, {"b", 3}}),
      (Errors{
          {"/a", "must be a string"}, {"/n_1", "must be a number"}, {"/b", "must be a boolean"}}));
}

TEST(JsonSchema, EnumListsTheAllowedValues) {
  EXPECT_EQ(ErrorsOf(R"({"enum": ["low", "high", 3]})", "mid"),
            (Errors{{"", R"(must be one of "low", "high", 3)"}}));
  EXPECT_EQ(ErrorsOf(R"({"enum": ["low", "high", 3]})", 3.0), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"enum": ["only"]})", "x"), (Errors{{"", R"(must be "only")"}}));
}

TEST(JsonSchema, LongEnumCountsItsValues) {
  json values = json::array();
  for (int i = 0; i < 100; ++i) {
    values.push_back("value number " + std::to_string(i));
  }
  EXPECT_EQ(Compiled({{"enum", values}}).Validate("x"),
            (Errors{{"", "must be one of the 100 values the schema allows"}}));
}

TEST(JsonSchema, ConstNamesItsValue) {
  EXPECT_EQ(ErrorsOf(R"({"const": {"a": [1, true]}})", {{"a", {1, false}}}),
            (Errors{{"", R"(must be {"a":[1,true]})"}}));
  EXPECT_EQ(ErrorsOf(R"({"const": 1})", true), (Errors{{"", "must be 1"}}));
  EXPECT_EQ(ErrorsOf(R"({"const": 1})", 1.0), Errors{});
}

TEST(JsonSchema, BoundsSayTheBound) {
  EXPECT_EQ(ErrorsOf(R"({"minimum": 18})", 17), (Errors{{"", "must be at least 18"}}));
  EXPECT_EQ(ErrorsOf(R"({"maximum": 10})", 10.5), (Errors{{"", "must be at most 10"}}));
  EXPECT_EQ(ErrorsOf(R"({"exclusiveMinimum": 0})", 0), (Errors{{"", "must be greater than 0"}}));
  EXPECT_EQ(ErrorsOf(R"({"exclusiveMaximum": 1.5})", 1.5), (Errors{{"", "must be less than 1.5"}}));
  EXPECT_EQ(ErrorsOf(R"({"multipleOf": 5})", 12), (Errors{{"", "must be a multiple of 5"}}));
  EXPECT_EQ(ErrorsOf(R"({"multipleOf": 0.25})", 0.3), (Errors{{"", "must be a multiple of 0.25"}}));
  EXPECT_EQ(ErrorsOf(R"({"minimum": 18, "multipleOf": 5})", "text"), Errors{});
}

TEST(JsonSchema, LengthsCountCharactersNotBytes) {
  EXPECT_EQ(ErrorsOf(R"({"maxLength": 5})", "h\u00e9llo"), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"maxLength": 4})", "h\u00e9llo"),
            (Errors{{"", "must be at most 4 characters long"}}));
  EXPECT_EQ(ErrorsOf(R"({"minLength": 1})", ""),
            (Errors{{"", "must be at least 1 character long"}}));
}

TEST(JsonSchema, PatternSaysThePattern) {
  EXPECT_EQ(ErrorsOf(R"({"pattern": "^[a-z]+$"})", "abc"), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"pattern": "^[a-z]+$"})", "ab1"),
            (Errors{{"", "must match the pattern ^[a-z]+$"}}));
  EXPECT_EQ(ErrorsOf(R"({"pattern": "b"})", "abc"), Errors{});  // Not anchored.
}

// std::regex recurses per character and overflows the stack near 20,000 of them.
TEST(JsonSchema, PatternIsNotRunOnStringsPastTheBound) {
  std::string at_bound(kMaxPatternSubjectLength, 'a');
  EXPECT_EQ(ErrorsOf(R"({"pattern": "^(a|b)*$"})", at_bound), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"pattern": "^(a|b)*$"})", std::string(200'000, 'a')),
            (Errors{{"",
                     "must be at most 1000 characters long to be checked against the "
                     "pattern ^(a|b)*$"}}));
  json data = {{std::string(200'000, 'a'), 1}};
  EXPECT_EQ(ErrorsOf(R"({"patternProperties": {"^(a|b)*$": {}}})", data).size(), 1u);
  EXPECT_EQ(ErrorsOf(R"({"anyOf": [{"pattern": "^(a|b)*$"}, {"pattern": "^c"}]})",
                     std::string(200'000, 'a'))
                .size(),
            1u);
}

TEST(JsonSchema, ArrayKeywordsSayTheCount) {
  EXPECT_EQ(ErrorsOf(R"({"minItems": 2})", {1}), (Errors{{"", "must have at least 2 items"}}));
  EXPECT_EQ(ErrorsOf(R"({"maxItems": 1})", {1, 2}), (Errors{{"", "must have at most 1 item"}}));
  EXPECT_EQ(ErrorsOf(R"({"uniqueItems": true})", {1, 2, 1.0}),
            (Errors{{"", "must not contain the same item twice"}}));
  EXPECT_EQ(ErrorsOf(R"({"items": [{"type": "string"}, {}], "additionalItems": false})", {1, 2, 3}),
            (Errors{{"/0", "must be a string"}, {"", "must have at most 2 items"}}));
  EXPECT_EQ(ErrorsOf(R"({"contains": {"const": 3}})", {1, 2}),
            (Errors{{"", "must contain an item that matches the schema in contains"}}));
}

TEST(JsonSchema, ObjectSizeSaysTheCount) {
  EXPECT_EQ(ErrorsOf(R"({"minProperties": 1})", json::object()),
            (Errors{{"", "must have at least 1 property"}}));
  EXPECT_EQ(ErrorsOf(R"({"maxProperties": 1})", {{"a", 1}, {"b", 2}}),
            (Errors{{"", "must have at most 1 property"}}));
}

TEST(JsonSchema, FormatsAreCheckedOnStringsOnly) {
  EXPECT_EQ(ErrorsOf(R"({"format": "email"})", "ada@example.com"), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"format": "email"})", "ada at example.com"),
            (Errors{{"", "must be an email address"}}));
  EXPECT_EQ(ErrorsOf(R"({"format": "email"})", "a@b@c"),
            (Errors{{"", "must be an email address"}}));
  EXPECT_EQ(ErrorsOf(R"({"format": "date"})", "2024-02-30"),
            (Errors{{"", "must be a date like 2024-05-31"}}));
  EXPECT_EQ(ErrorsOf(R"({"format": "date"})", "2024-02-29"), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"format": "date-time"})", "2024-05-31 13:45"),
            (Errors{{"", "must be a date and time like 2024-05-31T13:45:00Z"}}));
  EXPECT_EQ(ErrorsOf(R"({"format": "time"})", "13:45:00+02:00"), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"format": "date"})", 20240531), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"format": "hostname"})", "not a host"), Errors{});
}

TEST(JsonSchema, FailedAnyOfReportsTheBranchOfTheRightType) {
  const char* optional_email =
      R"({"anyOf": [{"type": "string", "format": "email"}, {"type": "null"}]})";
  EXPECT_EQ(ErrorsOf(optional_email, nullptr), Errors{});
  EXPECT_EQ(ErrorsOf(optional_email, "nope"), (Errors{{"", "must be an email address"}}));
  EXPECT_EQ(ErrorsOf(optional_email, 5), (Errors{{"", "must be a string or null"}}));
}

TEST(JsonSchema, FailedAnyOfWithoutOneBetterBranchSaysSo) {
  EXPECT_EQ(ErrorsOf(R"({"anyOf": [{"minimum": 10}, {"maximum": 0}]})", 5),
            (Errors{{"", "must match at least one of the schemas in anyOf"}}));
}

TEST(JsonSchema, OneOfSaysWhetherNoneOrSeveralMatched) {
  const char* schema = R"({"oneOf": [{"type": "integer"}, {"minimum": 2}]})";
  EXPECT_EQ(ErrorsOf(schema, 1), Errors{});
  EXPECT_EQ(ErrorsOf(schema, 3),
            (Errors{{"", "must match exactly one of the schemas in oneOf, but matches 2"}}));
  EXPECT_EQ(ErrorsOf(schema, 1.5), (Errors{{"", "must be at least 2"}}));
  EXPECT_EQ(ErrorsOf(R"({"oneOf": [{"minimum": 10}, {"maximum": 0}]})", 5),
            (Errors{{"", "must match exactly one of the schemas in oneOf"}}));
}

TEST(JsonSchema, NotAndFalseSchemas) {
  EXPECT_EQ(ErrorsOf(R"({"not": {"type": "string"}})", "s"),
            (Errors{{"", "must not match the schema in not"}}));
  EXPECT_EQ(Compiled(false).Validate(1), (Errors{{"", "is not allowed"}}));
  EXPECT_EQ(Compiled(true).Validate(1), Errors{});
  EXPECT_EQ(ErrorsOf(R"({"properties": {"x": false}})", {{"x", 1}}),
            (Errors{{"/x", "is not allowed"}}));
}

TEST(JsonSchema, IfThenElseReportsTheBranchTaken) {
  const char* schema = R"({"if": {"properties": {"kind": {"const": "person"}}},
      "then": {"required": ["name"]}, "else": {"required": ["title"]}})";
  EXPECT_EQ(ErrorsOf(schema, {{"kind", "person"}}), (Errors{{"/name", "is required"}}));
  EXPECT_EQ(ErrorsOf(schema, {{"kind", "book"}}), (Errors{{"/title", "is required"}}));
}

TEST(JsonSchema, DependenciesNameTheMissingProperty) {
  const char* schema = R"({"dependencies": {"card": ["billing"],
      "gift": {"required": ["to"]}}})";
  EXPECT_EQ(ErrorsOf(schema, {{"card", 1}}),
            (Errors{{"/billing", "is required when \"card\" is present"}}));
  EXPECT_EQ(ErrorsOf(schema, {{"gift", true}}), (Errors{{"/to", "is required"}}));
}

TEST(JsonSchema, PropertyNamesReportTheProperty) {
  EXPECT_EQ(ErrorsOf(R"({"propertyNames": {"maxLength": 3}})", {{"abcd", 1}, {"ab", 2}}),
            (Errors{{"/abcd",
                     "has a name that is not allowed (the name must be at most 3 characters "
                     "long)"}}));
}

TEST(JsonSchema, PathsEscapeTildeAndSlash) {
  EXPECT_EQ(ErrorsOf(R"({"properties": {"a/b~c": {"type": "string"}}})", {{"a/b~c", 1}}),
            (Errors{{"/a~1b~0c", "must be a string"}}));
}

TEST(JsonSchema, LocalReferencesAreFollowed) {
  const char* schema = R"({"definitions": {"address": {"type": "object",
      "required": ["city"], "properties": {"city": {"type": "string"}}}},
      "properties": {"home": {"$ref": "#/definitions/address"},
                     "work": {"$ref": "#/definitions/address"}}})";
  EXPECT_EQ(ErrorsOf(schema, {{"home", {{"city", 1}}}, {"work", json::object()}}),
            (Errors{{"/home/city", "must be a string"}, {"/work/city", "is required"}}));
}

TEST(JsonSchema, RecursiveSchemaFollowsTheData) {
  const char* schema = R"({"required": ["name"], "properties": {"child": {"$ref": "#"}}})";
  json data = {{"name", "a"}, {"child", {{"name", "b"}, {"child", json::object()}}}};
  EXPECT_EQ(ErrorsOf(schema, data), (Errors{{"/child/child/name", "is required"}}));
}

TEST(JsonSchema, DeeplyNestedDataStopsAtTheWalkBound) {
  json data = json::object();
  for (int i = 0; i < 1000; ++i) {
    data = json{{"child", std::move(data)}};
  }
  Errors errors = ErrorsOf(R"({"properties": {"child": {"$ref": "#"}}})", data);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("is nested too deeply to check"), std::string::npos);
}

TEST(JsonSchema, RepeatedErrorsAreReportedOnce) {
  EXPECT_EQ(ErrorsOf(R"({"allOf": [{"required": ["a"]}, {"required": ["a"]}]})", json::object()),
            (Errors{{"/a", "is required"}}));
}

TEST(JsonSchema, ErrorsAreBoundedAndInAStableOrder) {
  json data = json::array();
  for (int i = 0; i < 500; ++i) {
    data.push_back("x");
  }
  CompiledSchema schema = Compiled(json::parse(R"({"items": {"type": "integer"}})"));
  Errors errors = schema.Validate(data);
  ASSERT_EQ(errors.size(), kMaxSchemaErrors);
  EXPECT_EQ(errors.front(), (SchemaError{"/0", "must be an integer"}));
  EXPECT_EQ(errors.back(), (SchemaError{"/99", "must be an integer"}));
  EXPECT_EQ(schema.Validate(data), errors);
}

TEST(JsonSchema, CompiledSchemaValidatesFromManyThreadsAtOnce) {
  CompiledSchema schema = Compiled(json::parse(kPersonSchema));
  json bad = {{"name", ""}, {"age", -1}, {"email", "x"}, {"tags", {1}}};
  Errors expected = schema.Validate(bad);
  ASSERT_EQ(expected.size(), 4u);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      CompiledSchema copy = schema;
      for (int i = 0; i < 200; ++i) {
        mismatches[t] += copy.Validate(bad) == expected ? 0 : 1;
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(JsonSchema, ErrorsBecomeTheApiArray) {
  EXPECT_EQ(json(ErrorsOf(kPersonSchema, {{"age", "x"}})),
            json::parse(R"([{"path": "/age", "message": "must be an integer"},
                            {"path": "/name", "message": "is required"}])"));
}

TEST(JsonSchema, ValidateWithARefusedSchemaSaysWhy) {
  EXPECT_EQ(Validate(json::parse(R"({"type": "integr"})"), 1).at(0).path, "");
  EXPECT_NE(Validate(json::parse(R"({"type": "integr"})"), 1)
                .at(0)
                .message.find("cannot be checked: schema: /type: "),
            std::string::npos);
  EXPECT_EQ(Validate(json::parse(R"({"type": "integer"})"), "1"),
            (Errors{{"", "must be an integer"}}));
}

TEST(CheckSchema, AcceptsObjectsAndBooleans) {
  EXPECT_TRUE(CheckSchema(json::object()).ok());
  EXPECT_TRUE(CheckSchema(true).ok());
  EXPECT_TRUE(CheckSchema(false).ok());
  EXPECT_TRUE(CheckSchema(json::parse(kPersonSchema)).ok());
  EXPECT_TRUE(CheckSchema(json::parse(schema_internal::kDraft7MetaSchema)).ok());
}

TEST(CheckSchema, RefusesWhatIsNoSchema) {
  EXPECT_EQ(Refusal(5), "schema: must be an object or a boolean");
  EXPECT_EQ(Refusal(json::array()), "schema: must be an object or a boolean");
  EXPECT_EQ(Refusal("object"), "schema: must be an object or a boolean");
}

TEST(CheckSchema, NamesTheKeywordAgainstTheMetaSchema) {
  EXPECT_EQ(RefusalOf(R"({"properties": {"age": {"type": "integr"}}})"),
            "schema: /properties/age/type: must be one of \"array\", \"boolean\", "
            "\"integer\", \"null\", \"number\", \"object\", \"string\"");
  EXPECT_EQ(RefusalOf(R"({"type": ["string", 5]})"),
            "schema: /type/1: must be one of \"array\", \"boolean\", \"integer\", \"null\", "
            "\"number\", \"object\", \"string\"");
  EXPECT_EQ(RefusalOf(R"({"minLength": -1})"), "schema: /minLength: must be at least 0");
  EXPECT_EQ(RefusalOf(R"({"required": "name"})"), "schema: /required: must be an array");
  EXPECT_EQ(RefusalOf(R"({"multipleOf": 0})"), "schema: /multipleOf: must be greater than 0");
  EXPECT_EQ(RefusalOf(R"({"items": 5})"),
            "schema: /items: must be an object, an array or a boolean");
}

TEST(CheckSchema, CountsTheOtherProblems) {
  EXPECT_EQ(RefusalOf(R"({"minLength": -1, "maxLength": "x"})"),
            "schema: /maxLength: must be an integer (and 1 more)");
}

TEST(CheckSchema, RefusesReferencesOutsideTheSchema) {
  for (const char* ref : {"http://example.com/s.json", "other.json#/a", "#foo"}) {
    EXPECT_EQ(Refusal({{"properties", {{"a", {{"$ref", ref}}}}}}),
              std::string("schema: /properties/a/$ref: only references inside the schema "
                          "(\"#\" or \"#/...\") are supported, not \"") +
                  ref + "\"");
  }
}

TEST(CheckSchema, RefusesReferencesThatLeadNowhere) {
  EXPECT_EQ(RefusalOf(R"({"$ref": "#/definitions/missing"})"),
            "schema: /$ref: \"#/definitions/missing\" points at nothing in the schema");
  EXPECT_EQ(RefusalOf(R"({"$ref": "#/title", "title": "x"})"),
            "schema: /$ref: \"#/title\" points at a value that is not a schema");
  EXPECT_EQ(RefusalOf(R"({"$ref": "#/a~2"})"), "schema: /$ref: \"#/a~2\" is not a JSON Pointer");
}

// Valijson's parser recurses without end on these.
TEST(CheckSchema, RefusesReferencesThatLoopInPlace) {
  EXPECT_EQ(RefusalOf(R"({"$ref": "#"})"),
            "schema: refers back to itself without going into the data");
  EXPECT_EQ(RefusalOf(R"({"properties": {"a": {"$ref": "#/properties/a"}}})"),
            "schema: /properties/a: refers back to itself without going into the data");
  EXPECT_EQ(RefusalOf(R"({"allOf": [{"$ref": "#"}]})"),
            "schema: refers back to itself without going into the data");
  EXPECT_NE(RefusalOf(R"({"definitions": {"a": {"$ref": "#/definitions/b"},
                 "b": {"not": {"$ref": "#/definitions/a"}}}})")
                .find("refers back to itself"),
            std::string::npos);
}

TEST(CheckSchema, AcceptsReferencesThatRecurseThroughTheData) {
  EXPECT_TRUE(CheckSchema(json::parse(R"({"properties": {"child": {"$ref": "#"}}})")).ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"items": {"$ref": "#"}})")).ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"properties": {"a": {"properties":
      {"b": {"$ref": "#/properties/a"}}}}})"))
                  .ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"definitions": {"list": {"anyOf": [{"type": "null"},
      {"properties": {"next": {"$ref": "#/definitions/list"}}}]}},
      "$ref": "#/definitions/list"})"))
                  .ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"definitions": {"percent%field": {}},
      "$ref": "#/definitions/percent%25field"})"))
                  .ok());
}

TEST(CheckSchema, RefusesPatternsStdRegexCannotCompile) {
  EXPECT_NE(RefusalOf(R"({"pattern": "("})")
                .find("schema: /pattern: is not a regular expression std::regex"),
            std::string::npos);
  EXPECT_NE(RefusalOf(R"({"properties": {"a": {"patternProperties": {"[": {}}}}})")
                .find("schema: /properties/a/patternProperties/[: is not a regular expression"),
            std::string::npos);
}

// libstdc++ reads a repetition count or a back-reference into a `long` unchecked: the
// json_schema fuzzer found the overflow (undefined behaviour) with a 40-digit count.
TEST(CheckSchema, RefusesCountsAndBackReferencesAboveTheLimit) {
  const std::string why =
      "has a repetition count or back-reference above 100000, more than std::regex can compile";
  EXPECT_EQ(RefusalOf(R"({"pattern": "a{221118888888888888888888888888888888811111}"})"),
            "schema: /pattern: " + why);
  EXPECT_EQ(RefusalOf(R"({"pattern": "a{2,99999999999999999999999}"})"),
            "schema: /pattern: " + why);
  EXPECT_EQ(RefusalOf(R"({"pattern": "a{100001}"})"), "schema: /pattern: " + why);
  EXPECT_EQ(RefusalOf(R"({"pattern": "(a)\\99999999999999999999999"})"),
            "schema: /pattern: " + why);
  EXPECT_EQ(RefusalOf(R"({"patternProperties": {"^x{1,123456789012}$": {}}})"),
            "schema: /patternProperties/^x{1,123456789012}$: " + why);
  // Digits that are no count: literal, in a bracket expression, after an escaped brace.
  EXPECT_TRUE(CheckSchema(json::parse(R"({"pattern": "^12345678901234567890123$"})")).ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"pattern": "[{]99999999999999999999"})")).ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"pattern": "[\\]{]9999999999999999"})")).ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"pattern": "^[a-z]{1,64}(-[0-9]{2,3})?$"})")).ok());
  EXPECT_TRUE(CheckSchema(json::parse(R"({"pattern": "(a)\\1"})")).ok());
}

TEST(CheckSchema, AcceptsIdOnlyAtTheRoot) {
  EXPECT_TRUE(CheckSchema(json::parse(R"({"$id": "https://example.com/form.json"})")).ok());
  EXPECT_EQ(RefusalOf(R"({"definitions": {"a": {"$id": "#a"}}})"),
            "schema: /definitions/a/$id: $id is supported only at the root of the schema");
}

TEST(CheckSchema, RefusesAnotherDraft) {
  EXPECT_TRUE(
      CheckSchema(json::parse(R"({"$schema": "http://json-schema.org/draft-07/schema#"})")).ok());
  EXPECT_NE(RefusalOf(R"({"$schema": "http://json-schema.org/draft-04/schema#"})")
                .find("schema: /$schema: only draft 7"),
            std::string::npos);
}

TEST(CheckSchema, RefusesWhatValijsonCannotParse) {
  // Valid draft 7, but valijson wants an integer written without a fraction.
  EXPECT_NE(RefusalOf(R"({"minLength": 2.0})").find("schema: "), std::string::npos);
}

}  // namespace
}  // namespace sw
