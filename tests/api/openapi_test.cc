// The OpenAPI document (docs/openapi.json, embedded and served at /api/v1/openapi.json)
// against the route table (ApiRoutes in src/api/api.cc): the same routes, each with the
// same method, path template, path parameters and least role (`x-stepwell-role`), and a
// document whose references resolve and whose errors are the contract's error object.
//
// A route added to the table fails RouteTableAndDocumentHaveTheSameRoutes with a message
// naming what to add to docs/openapi.json; tests/e2e/test_openapi.py then checks the
// running server's answers against the schemas.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"
#include "api/openapi_document.h"

namespace sw {
namespace {

using nlohmann::json;

const char* const kMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};

const json& Document() {
  static const json doc = json::parse(OpenApiDocument(), nullptr, /*allow_exceptions=*/false);
  return doc;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string RoleName(const std::optional<Role>& role) {
  return role ? std::string(ToString(*role)) : "public";
}

// Every (method, path) the document describes, with its operation.
std::map<std::pair<std::string, std::string>, json> Operations() {
  std::map<std::pair<std::string, std::string>, json> ops;
  for (const auto& [path, item] : Document()["paths"].items()) {
    for (const char* method : kMethods) {
      if (item.contains(method)) {
        ops[{method, path}] = item[method];
      }
    }
  }
  return ops;
}

std::set<std::string> TemplateParams(const std::string& path) {
  std::set<std::string> names;
  static const std::regex kParam("\\{([^}]+)\\}");
  for (auto it = std::sregex_iterator(path.begin(), path.end(), kParam);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1].str());
  }
  return names;
}

// Follows a local "$ref" ("#/components/…") to what it names; null if it names nothing.
const json* Resolve(const std::string& ref) {
  if (ref.rfind("#/", 0) != 0) {
    return nullptr;
  }
  const json::json_pointer pointer(ref.substr(1));
  return Document().contains(pointer) ? &Document()[pointer] : nullptr;
}

void CollectRefs(const json& node, const std::string& where,
                 std::vector<std::pair<std::string, std::string>>& out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref" && value.is_string()) {
        out.emplace_back(where, value.get<std::string>());
      } else {
        CollectRefs(value, where + "/" + key, out);
      }
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      CollectRefs(node[i], where + "/" + std::to_string(i), out);
    }
  }
}

TEST(OpenApiDocumentTest, IsAnOpenApi31JsonDocument) {
  ASSERT_FALSE(Document().is_discarded()) << "docs/openapi.json is not valid JSON";
  ASSERT_TRUE(Document().is_object());
  EXPECT_EQ(Document().value("openapi", "").rfind("3.1.", 0), 0u);
  EXPECT_TRUE(Document()["info"].contains("title"));
  EXPECT_TRUE(Document()["info"].contains("version"));
  EXPECT_TRUE(Document()["components"]["schemas"].contains("Error"));
}

TEST(OpenApiDocumentTest, RouteTableAndDocumentHaveTheSameRoutes) {
  ASSERT_TRUE(Document().is_object());
  const auto ops = Operations();
  std::set<std::pair<std::string, std::string>> routed;
  for (const Route& route : ApiRoutes(/*fake_clock=*/true)) {
    const std::string method = Lower(route.method);
    routed.insert({method, route.pattern});
    auto it = ops.find({method, route.pattern});
    if (it == ops.end()) {
      ADD_FAILURE() << "route " << route.method << " " << route.pattern
                    << " (src/api/api.cc) is not in docs/openapi.json: add an operation at "
                       "paths[\""
                    << route.pattern << "\"]." << method << " with x-stepwell-role \""
                    << RoleName(route.role) << "\"";
      continue;
    }
    EXPECT_EQ(it->second.value("x-stepwell-role", ""), RoleName(route.role))
        << "x-stepwell-role of " << route.method << " " << route.pattern
        << " in docs/openapi.json differs from the route table's role";
  }
  for (const auto& [key, op] : ops) {
    if (!routed.contains(key)) {
      ADD_FAILURE() << "docs/openapi.json documents " << key.first << " " << key.second
                    << ", which the route table (src/api/api.cc) does not have";
    }
  }
}

TEST(OpenApiDocumentTest, EveryOperationDeclaresItsPathParametersAndAnswers) {
  std::set<std::string> operation_ids;
  for (const auto& [key, op] : Operations()) {
    const std::string name = key.first + " " + key.second;
    std::set<std::string> declared;
    for (const json& p : op.value("parameters", json::array())) {
      if (p.value("in", "") == "path") {
        declared.insert(p.value("name", ""));
        EXPECT_TRUE(p.value("required", false)) << name << ": path parameter " << p["name"];
      }
    }
    EXPECT_EQ(declared, TemplateParams(key.second)) << name << ": path parameters";
    ASSERT_TRUE(op.contains("operationId")) << name;
    EXPECT_TRUE(operation_ids.insert(op["operationId"].get<std::string>()).second)
        << name << ": operationId " << op["operationId"] << " is not unique";
    ASSERT_TRUE(op["responses"].is_object()) << name;
    bool success = false;
    for (const auto& [status, response] : op["responses"].items()) {
      success = success || status[0] == '2' || status[0] == '3';
    }
    EXPECT_TRUE(success) << name << ": no 2xx or 3xx answer";
    EXPECT_TRUE(op["responses"].contains("default")) << name << ": no default (error) answer";
    if (op.value("x-stepwell-role", "") != "public") {
      EXPECT_TRUE(op["responses"].contains("401")) << name << ": no 401";
      EXPECT_TRUE(op["responses"].contains("403")) << name << ": no 403";
    }
  }
}

TEST(OpenApiDocumentTest, EveryJsonErrorAnswerIsTheErrorObject) {
  for (const auto& [key, op] : Operations()) {
    for (const auto& [status, answer] : op["responses"].items()) {
      if (status[0] == '2' || status[0] == '3') {
        continue;
      }
      if (key.second == "/healthz" && status == "503") {
        continue;  // a failed store answers the health object, {"status": "store_failed"}
      }
      const json* response = &answer;
      if (answer.contains("$ref")) {
        response = Resolve(answer["$ref"].get<std::string>());
        ASSERT_NE(response, nullptr) << answer["$ref"];
      }
      const json* schema = nullptr;
      if (response->contains("content") && (*response)["content"].contains("application/json")) {
        schema = &(*response)["content"]["application/json"]["schema"];
      }
      if (schema == nullptr) {
        continue;  // an HTML page (the approval link's 410, the OAuth callback's 400)
      }
      EXPECT_EQ(schema->value("$ref", ""), "#/components/schemas/Error")
          << key.first << " " << key.second << " " << status;
    }
  }
}

TEST(OpenApiDocumentTest, EveryReferenceResolves) {
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(Document(), "", refs);
  EXPECT_GT(refs.size(), 100u);
  for (const auto& [where, ref] : refs) {
    EXPECT_NE(Resolve(ref), nullptr) << where << ": $ref " << ref << " names nothing";
  }
}

}  // namespace
}  // namespace sw
