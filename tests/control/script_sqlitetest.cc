// Scripts (`kind: script`) through ControlService::Invoke and RunScript: they complete
// with the last step's output, or end at the first failure with {"output": null,
// "error": {message, code, step_id}}. An http step is answered from another thread
// because a script blocks its caller.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <optional>
#include <string>

#include "control/script_runner.h"
#include "control_fixture.h"
#include "core/definition.h"

namespace sw::test {
namespace {

json Loop(const std::string& id, int max_iterations, json steps) {
  return {{"id", id},
          {"type", "loop"},
          {"with", {{"max_iterations", max_iterations}}},
          {"steps", std::move(steps)}};
}
json Switch(const std::string& id, const std::string& when, json then, json otherwise) {
  json cases = json::array({{{"when", when}, {"steps", std::move(then)}}});
  return {{"id", id}, {"type", "switch"}, {"with", {{"cases", cases}, {"default", otherwise}}}};
}
json Fail(const std::string& id, const std::string& message, const std::string& code) {
  return {{"id", id}, {"type", "fail"}, {"with", {{"message", message}, {"code", code}}}};
}

TEST_F(ControlServiceTest, AScriptOfNoopSwitchAndLoopCompletesWithTheLastOutput) {
  Apply(
      "calc",
      json::array(
          {Noop("first", json{{"who", "${{ input.who }}"}}),
           Loop("count", 3, json::array({Noop("tick", 1)})),
           Switch("pick", "${{ steps.count.output.iterations == 3 }}",
                  json::array({Noop("three", json{{"loops", "${{ steps.count.output.iterations }}"},
                                                  {"who", "${{ steps.first.output.who }}"}})}),
                  json::array({Noop("other", "no")}))}),
      "script");
  Result<json> out = Invoke("calc", json{{"who", "ann"}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, (json{{"output", {{"loops", 3}, {"who", "ann"}}}}));
  // A script leaves no run record.
  EXPECT_EQ(RunCount(), 0u);
}

TEST_F(ControlServiceTest, AFailStepEndsTheScriptWithANullOutputAndItsError) {
  Apply("refuse", json::array({Noop("a", 1), Fail("stop", "no way", "refused"), Noop("b", 2)}),
        "script");
  Result<json> out = Invoke("refuse");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out,
            (json{{"output", nullptr},
                  {"error", {{"message", "no way"}, {"code", "refused"}, {"step_id", "stop"}}}}));
}

TEST_F(ControlServiceTest, AnExpressionErrorInAStepNamesTheStep) {
  Apply("bad", json::array({Noop("a", 1), Noop("cmp", "${{ input.n < 'x' }}")}), "script");
  Result<json> out = Invoke("bad", json{{"n", 1}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE((*out)["output"].is_null());
  EXPECT_EQ((*out)["error"]["code"], "expression_error");
  EXPECT_EQ((*out)["error"]["step_id"], "cmp");
  EXPECT_NE((*out)["error"]["message"].get<std::string>().find("needs two numbers or two strings"),
            std::string::npos)
      << *out;
}

TEST_F(ControlServiceTest, AnExpressionErrorInASwitchConditionNamesTheSwitch) {
  Apply("bad-when",
        json::array({Switch("pick", "${{ input.n < 'x' }}", json::array({Noop("a", 1)}),
                            json::array({Noop("b", 2)}))}),
        "script");
  Result<json> out = Invoke("bad-when", json{{"n", 1}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE((*out)["output"].is_null());
  EXPECT_EQ((*out)["error"]["code"], "expression_error");
  EXPECT_EQ((*out)["error"]["message"].get<std::string>().rfind("step 'pick': ", 0), 0u) << *out;
}

TEST_F(ControlServiceTest, AnHttpStepsClientErrorAnswerIsAnHttpError) {
  const std::string url = "https://api.example.test/missing";
  Apply("fetch",
        json::array({{{"id", "call"}, {"type", "http"}, {"with", {{"url", url}}}}, Noop("b", 2)}),
        "script");
  // The script blocks its caller until the request is answered, so it runs aside.
  std::future<Result<json>> invoked =
      std::async(std::launch::async, [this] { return Invoke("fetch"); });
  std::optional<size_t> req = WaitRequest(url);
  ASSERT_TRUE(req);
  ASSERT_TRUE(http_.Complete(*req, FakeHttpClient::JsonResponse(404, R"({"why":"gone"})")));
  Result<json> out = invoked.get();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_TRUE((*out)["output"].is_null());
  EXPECT_EQ((*out)["error"]["code"], "http_error");
  EXPECT_EQ((*out)["error"]["step_id"], "call");
  EXPECT_EQ((*out)["error"]["message"], "HTTP 404");
  EXPECT_EQ(http_.CountFor(url), 1u);  // scripts do not retry
}

TEST_F(ControlServiceTest, AnHttpStepsAnswerIsItsOutput) {
  const std::string url = "https://api.example.test/ok";
  Apply("fetch",
        json::array({{{"id", "call"}, {"type", "http"}, {"with", {{"url", url}}}},
                     Noop("b", "${{ steps.call.output.body.n }}")}),
        "script");
  std::future<Result<json>> invoked =
      std::async(std::launch::async, [this] { return Invoke("fetch"); });
  std::optional<size_t> req = WaitRequest(url);
  ASSERT_TRUE(req);
  ASSERT_TRUE(http_.Complete(*req, FakeHttpClient::JsonResponse(200, R"({"n":5})")));
  Result<json> out = invoked.get();
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, (json{{"output", 5}}));
}

TEST_F(ControlServiceTest, InvokeRefusesAWorkflowKindAndADisabledScript) {
  Apply("flow", json::array({Noop("a", 1)}));
  Result<json> flow = Invoke("flow");
  ASSERT_FALSE(flow.ok());
  EXPECT_EQ(flow.status().code(), StatusCode::kInvalidArgument);

  Apply("calc", json::array({Noop("a", 1)}), "script");
  ASSERT_TRUE(control_->SetWorkflowStatus(ctx_, "calc", "disabled").ok());
  Result<json> off = Invoke("calc");
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(off.status().reason(), "workflow_disabled");

  EXPECT_EQ(Invoke("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(ControlServiceTest, AScriptWithAStepThatWaitsIsRefusedWhenApplied) {
  Result<PutWorkflowResult> applied = control_->ApplyWorkflow(
      ctx_, "waits", json{{"kind", "script"}, {"steps", json::array({WaitForEvent("w", "go")})}});
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(applied.status().detail().step_id, "w") << applied.status().reason();
}

TEST_F(ControlServiceTest, RunScriptRunsAParsedDefinitionWithoutTheService) {
  Result<std::shared_ptr<const Definition>> def =
      ParseDefinition(json{{"kind", "script"},
                           {"steps", json::array({Noop("a", json{{"x", "${{ input.x }}"}}),
                                                  Noop("b", "${{ steps.a.output.x }}")})}},
                      "direct");
  ASSERT_TRUE(def.ok()) << def.status().message();
  json out =
      RunScript(**def, json{{"x", "hi"}}, ctx_.principal.workspace_id, engine_->Services(nullptr));
  EXPECT_EQ(out, (json{{"output", "hi"}}));
}

}  // namespace
}  // namespace sw::test
