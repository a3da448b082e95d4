#include "core/definition.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

namespace sw {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kWorkflowId = "wf";

json Workflow(json steps) { return json{{"id", "wf"}, {"steps", std::move(steps)}}; }

json Noop(const std::string& id, json value = 1) {
  return json{{"id", id}, {"type", "noop"}, {"with", {{"value", std::move(value)}}}};
}

json Step(const std::string& id, const std::string& type, json with) {
  return json{{"id", id}, {"type", type}, {"with", std::move(with)}};
}

json Loop(const std::string& id, json with, json steps) {
  return json{{"id", id}, {"type", "loop"}, {"with", std::move(with)}, {"steps", std::move(steps)}};
}

// `doc` must parse.
std::shared_ptr<const Definition> Parsed(const json& doc) {
  Result<std::shared_ptr<const Definition>> def = ParseDefinition(doc, kWorkflowId);
  EXPECT_TRUE(def.ok()) << doc.dump() << ": " << def.status().message() << " "
                        << def.status().reason();
  return def.ok() ? *def : nullptr;
}

// `doc` must be refused as an invalid definition.
Status Refused(const json& doc, std::string_view workflow_id = kWorkflowId) {
  Result<std::shared_ptr<const Definition>> def = ParseDefinition(doc, workflow_id);
  EXPECT_FALSE(def.ok()) << doc.dump();
  if (def.ok()) {
    return Status::Ok();
  }
  Status status = def.status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.message();
  EXPECT_EQ(status.reason(), "invalid_definition") << status.message();
  return status;
}

// `doc` must be refused naming `step_id` (in extra and the message) and `field`.
Status RefusedAt(const json& doc, const std::string& step_id, const std::string& field) {
  Status status = Refused(doc);
  if (status.ok()) {
    return status;
  }
  EXPECT_EQ(status.detail().step_id, step_id) << status.message() << " " << status.reason();
  EXPECT_EQ(status.detail().field, field) << status.message() << " " << status.reason();
  EXPECT_NE(status.message().find("'" + step_id + "'"), std::string::npos) << status.message();
  return status;
}

// `doc` must be refused for a reason that is not one step's: no step_id.
Status RefusedAtTop(const json& doc, const std::string& field,
                    std::string_view workflow_id = kWorkflowId) {
  Status status = Refused(doc, workflow_id);
  if (status.ok()) {
    return status;
  }
  EXPECT_TRUE(status.detail().step_id.empty()) << status.reason();
  EXPECT_EQ(status.detail().field, field) << status.message() << " " << status.reason();
  return status;
}

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// A chain of `levels` loops, each holding the next; the innermost holds a noop.
json NestedLoops(int levels) {
  json steps = json::array({Noop("leaf")});
  for (int i = levels; i >= 1; --i) {
    steps = json::array({Loop("l" + std::to_string(i), {{"max_iterations", 1}}, std::move(steps))});
  }
  return steps;
}

// Valid definitions.

TEST(Definition, NoopStepParsesWithItsValue) {
  auto def = Parsed(Workflow({Noop("a", {{"greeting", "hi ${{ input.name }}"}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->id, "wf");
  EXPECT_EQ(def->kind, WorkflowKind::kWorkflow);
  EXPECT_EQ(def->mode, WorkflowMode::kStandard);
  ASSERT_EQ(def->steps.size(), 1u);
  const StepDef& a = def->steps[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.type(), "noop");
  EXPECT_EQ(a.with, (json{{"value", {{"greeting", "hi ${{ input.name }}"}}}}));
  EXPECT_FALSE(a.timeout.has_value());
  EXPECT_FALSE(a.IsControl());
}

TEST(Definition, NoopStepWithoutWithHasAnEmptyObject) {
  auto def = Parsed(Workflow({{{"id", "a"}, {"type", "noop"}}}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].with, json::object());
}

TEST(Definition, FailStepParsesWithMessageAndCode) {
  auto def = Parsed(Workflow({Step("f", "fail", {{"message", "boom"}, {"code", "my_code"}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].type(), "fail");
  EXPECT_EQ(def->steps[0].with["message"], "boom");
  EXPECT_EQ(def->steps[0].with["code"], "my_code");
}

TEST(Definition, HttpStepParsesWithEveryField) {
  auto def = Parsed(Workflow({Step("h", "http",
                                   {{"method", "POST"},
                                    {"url", "https://api.example.test/x"},
                                    {"headers", {{"X-Key", "v"}}},
                                    {"body", {{"a", 1}}},
                                    {"connection", "billing-api"}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].type(), "http");
  EXPECT_EQ(def->steps[0].with["url"], "https://api.example.test/x");
}

TEST(Definition, HttpStepAcceptsEveryMethodAndPlainHttp) {
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
    EXPECT_NE(Parsed(Workflow({Step("h", "http", {{"method", method}, {"url", "http://x.test"}})})),
              nullptr)
        << method;
  }
}

TEST(Definition, HttpStepAcceptsATemplatedUrl) {
  EXPECT_NE(Parsed(Workflow({Step("h", "http", {{"url", "${{ input.url }}"}})})), nullptr);
}

TEST(Definition, StepTimeoutIsParsedAsADuration) {
  json step = Step("h", "http", {{"url", "https://x.test"}});
  step["timeout"] = "30s";
  auto def = Parsed(Workflow({step}));
  ASSERT_NE(def, nullptr);
  ASSERT_TRUE(def->steps[0].timeout.has_value());
  EXPECT_EQ(*def->steps[0].timeout, milliseconds(30000));
}

TEST(Definition, SleepStepParsesWithADuration) {
  auto def = Parsed(Workflow({Step("nap", "sleep", {{"duration", "5m"}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].type(), "sleep");
  EXPECT_EQ(def->steps[0].with["duration"], "5m");
}

TEST(Definition, SleepStepAcceptsATemplatedDuration) {
  EXPECT_NE(Parsed(Workflow({Step("nap", "sleep", {{"duration", "${{ input.wait }}"}})})), nullptr);
}

TEST(Definition, SleepUntilStepParsesWithAnRfc3339Time) {
  auto def = Parsed(Workflow({Step("at", "sleep_until", {{"at", "2026-11-22T10:00:00.000Z"}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].type(), "sleep_until");
  EXPECT_NE(Parsed(Workflow({Step("at", "sleep_until", {{"at", "2026-11-22T10:00:00+02:00"}})})),
            nullptr);
  EXPECT_NE(Parsed(Workflow({Step("at", "sleep_until", {{"at", "${{ input.when }}"}})})), nullptr);
}

TEST(Definition, WaitForEventStepParsesWithTypeAndTimeout) {
  auto def = Parsed(
      Workflow({Step("w", "wait_for_event", {{"event_type", "approved"}, {"timeout", "7d"}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].type(), "wait_for_event");
  EXPECT_NE(Parsed(Workflow({Step("w", "wait_for_event", {{"event_type", "approved"}})})), nullptr);
}

TEST(Definition, LoopParsesItsNestedStepsAndCondition) {
  auto def = Parsed(Workflow(
      {Loop("poll", {{"max_iterations", 20}, {"until", "${{ steps.check.output.done == true }}"}},
            {Noop("check"), Step("nap", "sleep", {{"duration", "30s"}})}),
       Noop("after")}));
  ASSERT_NE(def, nullptr);
  ASSERT_EQ(def->steps.size(), 2u);
  const StepDef& poll = def->steps[0];
  EXPECT_EQ(poll.type(), "loop");
  EXPECT_TRUE(poll.IsControl());
  EXPECT_EQ(poll.max_iterations, 20);
  EXPECT_EQ(poll.until, "${{ steps.check.output.done == true }}");
  ASSERT_EQ(poll.steps.size(), 2u);
  EXPECT_EQ(poll.steps[0].id, "check");
  EXPECT_EQ(poll.steps[1].id, "nap");
  EXPECT_EQ(poll.steps[1].type(), "sleep");
}

TEST(Definition, LoopWithoutUntilHasAnEmptyCondition) {
  auto def = Parsed(Workflow({Loop("l", {{"max_iterations", 3}}, {Noop("c")})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].max_iterations, 3);
  EXPECT_EQ(def->steps[0].until, "");
}

TEST(Definition, LoopAcceptsTheIterationBounds) {
  EXPECT_NE(Parsed(Workflow({Loop("l", {{"max_iterations", 1}}, {Noop("c")})})), nullptr);
  EXPECT_NE(Parsed(Workflow({Loop("l", {{"max_iterations", kMaxLoopIterations}}, {Noop("c")})})),
            nullptr);
}

TEST(Definition, LoopAcceptsAConditionWithoutBraces) {
  auto def =
      Parsed(Workflow({Loop("l", {{"max_iterations", 3}, {"until", "input.done"}}, {Noop("c")})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].until, "input.done");
}

TEST(Definition, SwitchParsesCasesAndDefault) {
  json sw =
      Step("route", "switch",
           {{"cases",
             {{{"when", "${{ input.kind == 'a' }}"}, {"steps", {Noop("on-a"), Noop("on-a2")}}},
              {{"when", "${{ input.kind == 'b' }}"}, {"steps", {Noop("on-b")}}}}},
            {"default", {Noop("other")}}});
  auto def = Parsed(Workflow({sw}));
  ASSERT_NE(def, nullptr);
  const StepDef& route = def->steps[0];
  EXPECT_EQ(route.type(), "switch");
  EXPECT_TRUE(route.IsControl());
  ASSERT_EQ(route.cases.size(), 2u);
  EXPECT_EQ(route.cases[0].when, "${{ input.kind == 'a' }}");
  ASSERT_EQ(route.cases[0].steps.size(), 2u);
  EXPECT_EQ(route.cases[0].steps[0].id, "on-a");
  EXPECT_EQ(route.cases[0].steps[1].id, "on-a2");
  EXPECT_EQ(route.cases[1].when, "${{ input.kind == 'b' }}");
  ASSERT_EQ(route.cases[1].steps.size(), 1u);
  EXPECT_EQ(route.cases[1].steps[0].id, "on-b");
  ASSERT_EQ(route.default_steps.size(), 1u);
  EXPECT_EQ(route.default_steps[0].id, "other");
}

TEST(Definition, SwitchWithoutDefaultHasNoDefaultSteps) {
  auto def = Parsed(Workflow({Step(
      "route", "switch", {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("a")}}}}}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_TRUE(def->steps[0].default_steps.empty());
}

TEST(Definition, TopLevelFieldsAreParsed) {
  json doc = Workflow({Noop("a")});
  doc["kind"] = "workflow";
  doc["mode"] = "agent";
  doc["limits"] = {{"max_runs_per_minute", 600}, {"max_steps_per_minute", 6000}};
  doc["name"] = "A workflow";
  doc["description"] = "What it does";
  auto def = Parsed(doc);
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->mode, WorkflowMode::kAgent);
  EXPECT_EQ(def->limits, (json{{"max_runs_per_minute", 600}, {"max_steps_per_minute", 6000}}));
}

TEST(Definition, BodyWithoutIdTakesTheUrlId) {
  auto def = Parsed(json{{"steps", {Noop("a")}}});
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->id, "wf");
}

TEST(Definition, ScriptWithoutParkingStepsIsAccepted) {
  json doc = Workflow({Noop("a"), Step("h", "http", {{"url", "https://x.test"}})});
  doc["kind"] = "script";
  auto def = Parsed(doc);
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->kind, WorkflowKind::kScript);
}

TEST(Definition, ExactlyTheMaximumNumberOfStepsIsAccepted) {
  json steps = json::array();
  for (size_t i = 0; i < kMaxSteps; ++i) {
    steps.push_back(Noop("s" + std::to_string(i)));
  }
  EXPECT_NE(Parsed(Workflow(steps)), nullptr);
}

TEST(Definition, NestingUpToTheLimitIsAccepted) {
  EXPECT_NE(Parsed(Workflow(NestedLoops(kMaxNesting))), nullptr);
}

TEST(Definition, StepIdsMayHoldDigitsAndDashes) {
  EXPECT_NE(Parsed(Workflow({Noop("fetch-data-2")})), nullptr);
  EXPECT_NE(Parsed(Workflow({Noop(std::string(63, 'a'))})), nullptr);
}

TEST(Definition, FindStepFindsStepsAtEveryDepth) {
  json sw = Step("route", "switch",
                 {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("in-case")}}}}},
                  {"default", {Loop("deep-loop", {{"max_iterations", 2}}, {Noop("in-default")})}}});
  auto def =
      Parsed(Workflow({Noop("top"), Loop("l", {{"max_iterations", 2}}, {Noop("in-loop"), sw})}));
  ASSERT_NE(def, nullptr);
  for (const char* id : {"top", "l", "in-loop", "route", "in-case", "deep-loop", "in-default"}) {
    const StepDef* found = def->FindStep(id);
    ASSERT_NE(found, nullptr) << id;
    EXPECT_EQ(found->id, id);
  }
  EXPECT_EQ(def->FindStep("in-default")->type(), "noop");
  EXPECT_EQ(def->FindStep("deep-loop")->type(), "loop");
  EXPECT_EQ(def->FindStep("route")->type(), "switch");
  EXPECT_EQ(def->FindStep("missing"), nullptr);
  EXPECT_EQ(def->FindStep(""), nullptr);
}

TEST(Definition, TypeNamesAreTheDefinitionSpellings) {
  // Every registered kind is found by the name a definition spells it with.
  for (std::string_view name :
       {"noop", "fail", "http", "sleep", "sleep_until", "wait_for_event", "loop", "switch", "shell",
        "workflow", "agent_task", "approval", "form"}) {
    const StepKind* kind = FindStepKind(name);
    ASSERT_NE(kind, nullptr) << name;
    EXPECT_EQ(kind->name(), name);
  }
  EXPECT_EQ(AllStepKinds().size(), 13u);
  EXPECT_EQ(FindStepKind("approve"), nullptr);
  EXPECT_EQ(ToString(WorkflowKind::kWorkflow), "workflow");
  EXPECT_EQ(ToString(WorkflowKind::kScript), "script");
  EXPECT_EQ(ToString(WorkflowMode::kStandard), "standard");
  EXPECT_EQ(ToString(WorkflowMode::kAgent), "agent");
}

// The document and its steps list.

TEST(Definition, NonObjectDocumentIsRefused) {
  Refused(json::array({Noop("a")}));
  Refused(json("steps"));
  Refused(json(nullptr));
}

TEST(Definition, MissingStepsIsRefused) {
  Status s = RefusedAtTop(json{{"id", "wf"}}, "steps");
  EXPECT_TRUE(Contains(s.message(), "steps")) << s.message();
}

TEST(Definition, EmptyStepsIsRefused) { RefusedAtTop(Workflow(json::array()), "steps"); }

TEST(Definition, StepsThatAreNotAListAreRefused) {
  RefusedAtTop(Workflow(json::object()), "steps");
  RefusedAtTop(Workflow("a"), "steps");
}

TEST(Definition, NonObjectStepIsRefused) {
  RefusedAtTop(Workflow({Noop("a"), "b"}), "steps");
  RefusedAtTop(Workflow({Noop("a"), 3}), "steps");
  RefusedAtTop(Workflow({json::array()}), "steps");
}

TEST(Definition, UnknownTopLevelFieldIsRefused) {
  json doc = Workflow({Noop("a")});
  doc["stepz"] = json::array();
  Status s = RefusedAtTop(doc, "stepz");
  EXPECT_TRUE(Contains(s.message(), "stepz")) << s.message();
}

TEST(Definition, BodyIdDifferentFromTheUrlIdIsRefused) {
  Status s = RefusedAtTop(Workflow({Noop("a")}), "id", "other-wf");
  EXPECT_TRUE(Contains(s.message(), "other-wf")) << s.message();
  RefusedAtTop(json{{"id", 7}, {"steps", {Noop("a")}}}, "id");
}

TEST(Definition, BadKindIsRefused) {
  for (json kind : {json("flow"), json("Script"), json(1), json(nullptr)}) {
    json doc = Workflow({Noop("a")});
    doc["kind"] = kind;
    RefusedAtTop(doc, "kind");
  }
}

TEST(Definition, BadModeIsRefused) {
  for (json mode : {json("fast"), json("Agent"), json(true)}) {
    json doc = Workflow({Noop("a")});
    doc["mode"] = mode;
    RefusedAtTop(doc, "mode");
  }
}

TEST(Definition, LimitsThatAreNotAnObjectAreRefused) {
  json doc = Workflow({Noop("a")});
  doc["limits"] = json::array({600});
  RefusedAtTop(doc, "limits");
}

TEST(Definition, UnknownOrNonPositiveLimitsAreRefused) {
  const std::pair<json, std::string> cases[] = {
      {{{"max_runs_per_hour", 5}}, "limits.max_runs_per_hour"},
      {{{"max_runs_per_minute", 0}}, "limits.max_runs_per_minute"},
      {{{"max_runs_per_minute", -3}}, "limits.max_runs_per_minute"},
      {{{"max_steps_per_minute", 1.5}}, "limits.max_steps_per_minute"},
      {{{"max_steps_per_minute", "600"}}, "limits.max_steps_per_minute"},
  };
  for (const auto& [limits, field] : cases) {
    json doc = Workflow({Noop("a")});
    doc["limits"] = limits;
    RefusedAtTop(doc, field);
  }
}

TEST(Definition, MoreThanTheMaximumNumberOfStepsIsRefused) {
  json steps = json::array();
  for (size_t i = 0; i <= kMaxSteps; ++i) {
    steps.push_back(Noop("s" + std::to_string(i)));
  }
  Status s = RefusedAt(Workflow(steps), "s100", "steps");
  EXPECT_TRUE(Contains(s.message(), "100")) << s.message();
}

TEST(Definition, NestedStepsCountTowardTheMaximum) {
  // 1 loop + 98 nested + 2 top-level noops = 101.
  json body = json::array();
  for (int i = 0; i < 98; ++i) {
    body.push_back(Noop("n" + std::to_string(i)));
  }
  json steps = {Noop("first"), Loop("l", {{"max_iterations", 1}}, body), Noop("last")};
  RefusedAt(Workflow(steps), "last", "steps");
  // One fewer fits.
  body.erase(body.end() - 1);
  steps = {Noop("first"), Loop("l", {{"max_iterations", 1}}, body), Noop("last")};
  EXPECT_NE(Parsed(Workflow(steps)), nullptr);
}

TEST(Definition, NestingDeeperThanTheLimitIsRefused) {
  const std::string innermost = "l" + std::to_string(kMaxNesting + 1);
  Status s = RefusedAt(Workflow(NestedLoops(kMaxNesting + 1)), innermost, "steps");
  EXPECT_TRUE(Contains(s.message(), "nested")) << s.message();
}

TEST(Definition, NestingThroughSwitchesCountsTowardTheLimit) {
  json steps = json::array({Noop("leaf")});
  for (int i = kMaxNesting + 1; i >= 1; --i) {
    steps = json::array({Step("s" + std::to_string(i), "switch",
                              {{"cases", {{{"when", "${{ input.x }}"}, {"steps", steps}}}}})});
  }
  Status s = Refused(Workflow(steps));
  EXPECT_EQ(s.detail().step_id, "s" + std::to_string(kMaxNesting + 1)) << s.reason();
  EXPECT_TRUE(Contains(s.message(), "nested")) << s.message();
}

// Step ids and types.

TEST(Definition, MissingStepIdIsRefused) { RefusedAtTop(Workflow({{{"type", "noop"}}}), "id"); }

TEST(Definition, BadStepIdsAreRefused) {
  for (json id : {json(""), json("Fetch"), json("fetch_data"), json("a b"), json("-a"),
                  json(std::string(64, 'a')), json(5), json(nullptr), json("é")}) {
    Status s = RefusedAtTop(Workflow({{{"id", id}, {"type", "noop"}}}), "id");
    EXPECT_TRUE(Contains(s.message(), "id")) << s.message();
  }
}

TEST(Definition, StepIdStartingWithADigitIsRefused) {
  RefusedAtTop(Workflow({Noop("1st")}), "id");
  RefusedAtTop(Workflow({Noop("9")}), "id");
}

TEST(Definition, DuplicateStepIdIsRefused) {
  Status s = RefusedAt(Workflow({Noop("a"), Noop("b"), Noop("a")}), "a", "id");
  EXPECT_TRUE(Contains(s.message(), "duplicate")) << s.message();
}

TEST(Definition, DuplicateStepIdAcrossNestingIsRefused) {
  RefusedAt(Workflow({Noop("a"), Loop("l", {{"max_iterations", 2}}, {Noop("a")})}), "a", "id");
  RefusedAt(Workflow({Loop("l", {{"max_iterations", 2}}, {Noop("a")}), Noop("a")}), "a", "id");
  RefusedAt(Workflow({Loop("l", {{"max_iterations", 2}}, {Noop("l")})}), "l", "id");
  json sw = Step("route", "switch",
                 {{"cases",
                   {{{"when", "${{ input.x }}"}, {"steps", {Noop("x")}}},
                    {{"when", "${{ input.y }}"}, {"steps", {Noop("x")}}}}}});
  RefusedAt(Workflow({sw}), "x", "id");
  json sw_default = Step("route", "switch",
                         {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("x")}}}}},
                          {"default", {Noop("x")}}});
  RefusedAt(Workflow({sw_default}), "x", "id");
}

TEST(Definition, MissingTypeIsRefused) {
  RefusedAt(Workflow({{{"id", "a"}}}), "a", "type");
  RefusedAt(Workflow({{{"id", "a"}, {"type", 3}}}), "a", "type");
}

TEST(Definition, UnknownTypeIsRefused) {
  Status s = RefusedAt(Workflow({Noop("ok"), {{"id", "tp"}, {"type", "teleport"}}}), "tp", "type");
  EXPECT_TRUE(Contains(s.message(), "unknown step type 'teleport'")) << s.message();
}

TEST(Definition, ApprovalFieldsAreChecked) {
  auto step = [](json with) {
    return json{{"id", "gate"}, {"type", "approval"}, {"with", std::move(with)}};
  };
  Parsed(Workflow({step({{"message", "Charge ${{ input.name }}?"},
                         {"approvers", "admin"},
                         {"required", 2},
                         {"expires_in", "2h"},
                         {"on_timeout", "escalate"},
                         {"escalate_to", {{"tokens", {"ada", "bob"}}}},
                         {"reversibility", "irreversible"},
                         {"on_deny", "continue"}})}));
  RefusedAt(Workflow({step(json::object())}), "gate", "with.message");
  RefusedAt(Workflow({step({{"message", "m"}, {"on_timeout", "escalate"}})}), "gate",
            "with.escalate_to");
  RefusedAt(Workflow({step({{"message", "m"}, {"required", 0}})}), "gate", "with.required");
  RefusedAt(Workflow({step({{"message", "m"}, {"approvers", {{"role", "viewer"}}}})}), "gate",
            "with.approvers");
  RefusedAt(Workflow({step({{"message", "m"}, {"expires_in", "later"}})}), "gate",
            "with.expires_in");
}

TEST(Definition, FormFieldsAreChecked) {
  auto step = [](json with) {
    return json{{"id", "ask"}, {"type", "form"}, {"with", std::move(with)}};
  };
  Parsed(Workflow(
      {step({{"message", "Details?"}, {"schema", {{"type", "object"}}}, {"expires_in", "1d"}})}));
  RefusedAt(Workflow({step({{"message", "Details?"}})}), "ask", "with.schema");
  RefusedAt(Workflow({step({{"message", "Details?"}, {"schema", "object"}})}), "ask",
            "with.schema");
}

// Step fields.

TEST(Definition, UnknownStepFieldIsRefused) {
  json step = Noop("a");
  step["bogus"] = true;
  Status s = RefusedAt(Workflow({step}), "a", "bogus");
  EXPECT_TRUE(Contains(s.message(), "bogus")) << s.message();
}

TEST(Definition, StepsFieldOnALeafIsRefused) {
  json step = Noop("a");
  step["steps"] = {Noop("b")};
  RefusedAt(Workflow({step}), "a", "steps");
}

TEST(Definition, WithThatIsNotAnObjectIsRefused) {
  for (json with : {json("x"), json::array(), json(1), json(nullptr)}) {
    RefusedAt(Workflow({{{"id", "a"}, {"type", "noop"}, {"with", with}}}), "a", "with");
  }
}

TEST(Definition, UnknownWithFieldIsRefused) {
  const std::pair<json, std::string> cases[] = {
      {Step("a", "noop", {{"value", 1}, {"extra", 2}}), "with.extra"},
      {Step("a", "fail", {{"reason", "x"}}), "with.reason"},
      {Step("a", "http", {{"url", "https://x.test"}, {"timeout", "1s"}}), "with.timeout"},
      {Step("a", "sleep", {{"duration", "1s"}, {"until", "x"}}), "with.until"},
      {Step("a", "sleep_until", {{"at", "2026-11-22T10:00:00Z"}, {"tz", "UTC"}}), "with.tz"},
      {Step("a", "wait_for_event", {{"event_type", "e"}, {"payload", 1}}), "with.payload"},
      {Loop("a", {{"max_iterations", 2}, {"while", "x"}}, {Noop("c")}), "with.while"},
      {Step("a", "switch",
            {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("c")}}}}}, {"otherwise", 1}}),
       "with.otherwise"},
  };
  for (const auto& [step, field] : cases) {
    Status s = RefusedAt(Workflow({step}), "a", field);
    EXPECT_TRUE(Contains(s.message(), field)) << s.message();
  }
}

TEST(Definition, MissingRequiredWithFieldsAreRefused) {
  const std::pair<json, std::string> cases[] = {
      {Step("a", "http", {{"method", "GET"}}), "with.url"},
      {Step("a", "http", json::object()), "with.url"},
      {json{{"id", "a"}, {"type", "http"}}, "with.url"},
      {Step("a", "sleep", json::object()), "with.duration"},
      {json{{"id", "a"}, {"type", "sleep"}}, "with.duration"},
      {Step("a", "sleep_until", json::object()), "with.at"},
      {Step("a", "wait_for_event", {{"timeout", "1h"}}), "with.event_type"},
      {Loop("a", {{"until", "${{ input.x }}"}}, {Noop("c")}), "with.max_iterations"},
      {json{{"id", "a"}, {"type", "loop"}, {"steps", {Noop("c")}}}, "with.max_iterations"},
      {Step("a", "switch", {{"default", {Noop("c")}}}), "with.cases"},
  };
  for (const auto& [step, field] : cases) {
    Status s = RefusedAt(Workflow({step}), "a", field);
    EXPECT_TRUE(Contains(s.message(), "missing")) << s.message();
  }
}

TEST(Definition, RequiredWithFieldsOfTheWrongTypeAreRefused) {
  RefusedAt(Workflow({Step("a", "http", {{"url", 5}})}), "a", "with.url");
  RefusedAt(Workflow({Step("a", "sleep_until", {{"at", 1700000000}})}), "a", "with.at");
  RefusedAt(Workflow({Step("a", "wait_for_event", {{"event_type", json::array()}})}), "a",
            "with.event_type");
  RefusedAt(Workflow({Step("a", "fail", {{"message", 1}})}), "a", "with.message");
  RefusedAt(Workflow({Step("a", "fail", {{"code", false}})}), "a", "with.code");
  RefusedAt(Workflow({Step("a", "http", {{"url", "https://x.test"}, {"connection", 1}})}), "a",
            "with.connection");
}

TEST(Definition, LoopWithoutStepsIsRefused) {
  RefusedAt(Workflow({Step("l", "loop", {{"max_iterations", 2}})}), "l", "steps");
  RefusedAt(Workflow({Loop("l", {{"max_iterations", 2}}, json::array())}), "l", "steps");
  RefusedAt(Workflow({Loop("l", {{"max_iterations", 2}}, Noop("c"))}), "l", "steps");
}

TEST(Definition, BadDurationIsRefused) {
  for (json duration :
       {json("5 parsecs"), json("5"), json("-1s"), json(""), json(30), json("400d")}) {
    Status s = RefusedAt(Workflow({Step("nap", "sleep", {{"duration", duration}})}), "nap",
                         "with.duration");
    EXPECT_TRUE(Contains(s.message(), "duration")) << s.message();
  }
  RefusedAt(Workflow({Step("w", "wait_for_event", {{"event_type", "e"}, {"timeout", "soon"}})}),
            "w", "with.timeout");
}

TEST(Definition, BadStepTimeoutIsRefused) {
  for (json timeout : {json("soon"), json(30), json("1x"), json(nullptr)}) {
    json step = Noop("h");
    step["timeout"] = timeout;
    Status s = RefusedAt(Workflow({step}), "h", "timeout");
    EXPECT_TRUE(Contains(s.message(), "timeout")) << s.message();
  }
}

TEST(Definition, BadRfc3339TimeIsRefused) {
  for (const char* at : {"tomorrow", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22 10:00"}) {
    Status s = RefusedAt(Workflow({Step("at", "sleep_until", {{"at", at}})}), "at", "with.at");
    EXPECT_TRUE(Contains(s.message(), "RFC 3339")) << s.message();
  }
}

TEST(Definition, BadHttpMethodIsRefused) {
  for (json method : {json("FETCH"), json("get"), json(""), json(1)}) {
    RefusedAt(Workflow({Step("h", "http", {{"method", method}, {"url", "https://x.test"}})}), "h",
              "with.method");
  }
}

TEST(Definition, UrlWithoutSchemeIsRefused) {
  for (const char* url : {"api.example.test/x", "ftp://x.test", "", "//x.test", "HTTPS//x"}) {
    Status s = RefusedAt(Workflow({Step("h", "http", {{"url", url}})}), "h", "with.url");
    EXPECT_TRUE(Contains(s.message(), "http://")) << s.message();
  }
}

TEST(Definition, HeadersThatAreNotStringsAreRefused) {
  RefusedAt(Workflow({Step("h", "http", {{"url", "https://x.test"}, {"headers", {{"X-N", 1}}}})}),
            "h", "with.headers.X-N");
  RefusedAt(Workflow({Step("h", "http",
                           {{"url", "https://x.test"}, {"headers", {{"X-O", {{"a", 1}}}}}})}),
            "h", "with.headers.X-O");
  RefusedAt(Workflow({Step("h", "http", {{"url", "https://x.test"}, {"headers", "X: y"}})}), "h",
            "with.headers");
  RefusedAt(Workflow({Step("h", "http", {{"url", "https://x.test"}, {"headers", {"X: y"}}})}), "h",
            "with.headers");
}

TEST(Definition, MaxIterationsOutOfRangeOrNotAnIntegerIsRefused) {
  for (json max : {json(0), json(-1), json(kMaxLoopIterations + 1), json(2.5), json(1.0), json("3"),
                   json(true), json(nullptr), json(18446744073709551615ULL)}) {
    Status s = RefusedAt(Workflow({Loop("l", {{"max_iterations", max}}, {Noop("c")})}), "l",
                         "with.max_iterations");
    EXPECT_TRUE(Contains(s.message(), std::to_string(kMaxLoopIterations))) << s.message();
  }
}

// Expressions.

TEST(Definition, BadExpressionInAWithValueIsRefused) {
  Status s = RefusedAt(Workflow({Noop("e", "${{ input.x == }}")}), "e", "with.value");
  EXPECT_TRUE(Contains(s.message(), "expression")) << s.message();
  RefusedAt(Workflow({Noop("e", {{"deep", {"ok", "${{ nope.x }}"}}})}), "e", "with.value");
  RefusedAt(Workflow({Noop("e", "unterminated ${{ input.x")}), "e", "with.value");
  RefusedAt(Workflow({Step("h", "http", {{"url", "https://x.test/${{ input..id }}"}})}), "h",
            "with.url");
  RefusedAt(Workflow({Step("h", "http", {{"url", "https://x.test"}, {"body", {"${{ ( }}"}}})}), "h",
            "with.body");
  RefusedAt(Workflow({Step("f", "fail", {{"message", "${{ !! }}"}})}), "f", "with.message");
}

TEST(Definition, BadExpressionInANestedStepNamesTheNestedStep) {
  RefusedAt(Workflow({Loop("l", {{"max_iterations", 2}}, {Noop("inner", "${{ ) }}")})}), "inner",
            "with.value");
  json sw =
      Step("route", "switch",
           {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("in-case", "${{ ) }}")}}}}}});
  RefusedAt(Workflow({sw}), "in-case", "with.value");
  json sw_default = Step("route", "switch",
                         {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("in-case")}}}}},
                          {"default", {Noop("in-default", "${{ ) }}")}}});
  RefusedAt(Workflow({sw_default}), "in-default", "with.value");
}

TEST(Definition, BadLoopConditionIsRefused) {
  for (const char* until : {"${{ (( }}", "${{ input.x == }}", "${{ }}", "", "   ", "${{ input.x",
                            "input.x ==", "${{ nope }}"}) {
    RefusedAt(Workflow({Loop("l", {{"max_iterations", 2}, {"until", until}}, {Noop("c")})}), "l",
              "with.until");
  }
  RefusedAt(Workflow({Loop("l", {{"max_iterations", 2}, {"until", true}}, {Noop("c")})}), "l",
            "with.until");
}

TEST(Definition, LoopConditionThatIsNotExactlyOneExpressionIsRefused) {
  for (const char* until : {"${{ input.a }} && ${{ input.b }}", "${{ a }} && ${{ b }}",
                            "${{ input.a }} extra", "done: ${{ input.a }}"}) {
    RefusedAt(Workflow({Loop("l", {{"max_iterations", 2}, {"until", until}}, {Noop("c")})}), "l",
              "with.until");
  }
  Status s = RefusedAt(
      Workflow({Loop("l", {{"max_iterations", 2}, {"until", "${{ input.a }} && ${{ input.b }}"}},
                     {Noop("c")})}),
      "l", "with.until");
  EXPECT_TRUE(Contains(s.message(), "exactly one expression")) << s.message();
}

TEST(Definition, BadSwitchConditionIsRefused) {
  for (const char* when : {"${{ (( }}", "${{ input.x == }}", "", "${{ input.a }} && ${{ input.b }}",
                           "${{ a }} && ${{ b }}", "x ${{ input.a }}"}) {
    json sw = Step("route", "switch",
                   {{"cases",
                     {{{"when", "${{ input.ok }}"}, {"steps", {Noop("a")}}},
                      {{"when", when}, {"steps", {Noop("b")}}}}}});
    RefusedAt(Workflow({sw}), "route", "with.cases[1].when");
  }
  json sw =
      Step("route", "switch",
           {{"cases", {{{"when", "${{ input.a }} && ${{ input.b }}"}, {"steps", {Noop("a")}}}}}});
  Status s = RefusedAt(Workflow({sw}), "route", "with.cases[0].when");
  EXPECT_TRUE(Contains(s.message(), "exactly one expression")) << s.message();
}

TEST(Definition, MalformedSwitchCasesAreRefused) {
  const json cases_values[] = {json::array(), json::object(), json("x")};
  for (const json& cases : cases_values) {
    RefusedAt(Workflow({Step("route", "switch", {{"cases", cases}})}), "route", "with.cases");
  }
  const json bad_cases[] = {
      json("case"),
      json{{"steps", {Noop("a")}}},
      json{{"when", "${{ input.x }}"}},
      json{{"when", true}, {"steps", {Noop("a")}}},
  };
  for (const json& c : bad_cases) {
    RefusedAt(Workflow({Step("route", "switch", {{"cases", {c}}})}), "route", "with.cases[0]");
  }
  RefusedAt(Workflow({Step(
                "route", "switch",
                {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("a")}}, {"else", 1}}}}})}),
            "route", "with.cases[0].else");
  RefusedAt(Workflow({Step("route", "switch",
                           {{"cases", {{{"when", "${{ input.x }}"}, {"steps", json::array()}}}}})}),
            "route", "with.cases[0].steps");
  RefusedAt(Workflow({Step("route", "switch",
                           {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("a")}}}}},
                            {"default", json::array()}})}),
            "route", "with.default");
}

// Scripts.

TEST(Definition, ScriptWithAParkingStepIsRefused) {
  const json parking[] = {
      Step("nap", "sleep", {{"duration", "1s"}}),
      Step("nap", "sleep_until", {{"at", "2026-11-22T10:00:00Z"}}),
      Step("nap", "wait_for_event", {{"event_type", "e"}}),
  };
  for (const json& step : parking) {
    json doc = Workflow({Noop("a"), step});
    doc["kind"] = "script";
    Status s = RefusedAt(doc, "nap", "type");
    EXPECT_TRUE(Contains(s.message(), "script")) << s.message();
    EXPECT_TRUE(Contains(s.message(), std::string(step["type"].get<std::string>()))) << s.message();
  }
}

TEST(Definition, ScriptWithANestedParkingStepIsRefused) {
  json doc =
      Workflow({Loop("l", {{"max_iterations", 2}},
                     {Step("route", "switch",
                           {{"cases", {{{"when", "${{ input.x }}"}, {"steps", {Noop("a")}}}}},
                            {"default", {Step("nap", "sleep", {{"duration", "1s"}})}}})})});
  doc["kind"] = "script";
  RefusedAt(doc, "nap", "type");
  // The same steps are fine in a workflow.
  doc["kind"] = "workflow";
  EXPECT_NE(Parsed(doc), nullptr);
}

// Shell, child workflows, agent tasks, retries and run timeouts.

TEST(Definition, ShellStepIsParsed) {
  auto def = Parsed(Workflow({Step(
      "sh", "shell",
      {{"argv", {"echo", "${{ input.name }}"}}, {"env", {{"LANG", "C"}}}, {"cwd", "/tmp"}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].type(), "shell");
}

TEST(Definition, BadShellStepsAreRefused) {
  RefusedAt(Workflow({Step("sh", "shell", json::object())}), "sh", "with.argv");
  RefusedAt(Workflow({Step("sh", "shell", {{"argv", "echo hi"}})}), "sh", "with.argv");
  RefusedAt(Workflow({Step("sh", "shell", {{"argv", json::array()}})}), "sh", "with.argv");
  RefusedAt(Workflow({Step("sh", "shell", {{"argv", {""}}})}), "sh", "with.argv[0]");
  RefusedAt(Workflow({Step("sh", "shell", {{"argv", {"echo", 3}}})}), "sh", "with.argv[1]");
  RefusedAt(Workflow({Step("sh", "shell", {{"argv", {"env"}}, {"env", {{"A", 1}}}})}), "sh",
            "with.env.A");
  RefusedAt(Workflow({Step("sh", "shell", {{"argv", {"env"}}, {"env", "A=1"}})}), "sh", "with.env");
  RefusedAt(Workflow({Step("sh", "shell", {{"argv", {"env"}}, {"shell", true}})}), "sh",
            "with.shell");
}

TEST(Definition, WorkflowAndAgentTaskStepsAreParsed) {
  auto def =
      Parsed(Workflow({Step("child", "workflow", {{"workflow", "other"}, {"input", {{"a", 1}}}}),
                       Step("task", "agent_task", {{"queue", "gpu"}, {"input", "${{ input }}"}})}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].type(), "workflow");
  EXPECT_EQ(def->steps[1].type(), "agent_task");
}

TEST(Definition, BadWorkflowAndAgentTaskStepsAreRefused) {
  RefusedAt(Workflow({Step("child", "workflow", json::object())}), "child", "with.workflow");
  RefusedAt(Workflow({Step("child", "workflow", {{"workflow", "Not A Slug"}})}), "child",
            "with.workflow");
  Status self = RefusedAt(Workflow({Step("child", "workflow", {{"workflow", "wf"}})}), "child",
                          "with.workflow");
  EXPECT_TRUE(Contains(self.message(), "itself")) << self.message();
  RefusedAt(Workflow({Step("task", "agent_task", json::object())}), "task", "with.queue");
  RefusedAt(Workflow({Step("task", "agent_task", {{"queue", 7}})}), "task", "with.queue");
}

TEST(Definition, ScriptsCannotUseShellChildRunsOrAgents) {
  for (json step :
       {Step("s", "shell", {{"argv", {"true"}}}), Step("s", "workflow", {{"workflow", "other"}}),
        Step("s", "agent_task", {{"queue", "q"}})}) {
    json doc = Workflow({step});
    doc["kind"] = "script";
    RefusedAt(doc, "s", "type");
  }
}

TEST(Definition, RetryPolicyIsParsed) {
  json step = Step("call", "http", {{"url", "https://example.test/"}});
  step["retry"] = {{"max_attempts", 5},
                   {"backoff", "fixed"},
                   {"initial", "2s"},
                   {"max", "1m"},
                   {"jitter", 0.25}};
  step["retry_on"] = {"429", "5xx", "connection_error"};
  auto def = Parsed(Workflow({step}));
  ASSERT_NE(def, nullptr);
  const RetryPolicy& p = def->steps[0].retry;
  EXPECT_EQ(p.max_attempts, 5);
  EXPECT_EQ(p.backoff, Backoff::kFixed);
  EXPECT_EQ(p.initial, milliseconds(2000));
  EXPECT_EQ(p.max, milliseconds(60000));
  EXPECT_DOUBLE_EQ(p.jitter, 0.25);
  ASSERT_TRUE(p.retry_on.has_value());
  EXPECT_EQ(p.retry_on->size(), 3u);
}

TEST(Definition, AStepWithoutRetryHasOneAttempt) {
  auto def = Parsed(Workflow({Noop("a")}));
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->steps[0].retry.max_attempts, 1);
}

TEST(Definition, BadRetryPoliciesNameTheField) {
  auto refused = [](json retry, json retry_on, const std::string& field) {
    json step = Step("call", "http", {{"url", "https://example.test/"}});
    if (!retry.is_null()) step["retry"] = retry;
    if (!retry_on.is_null()) step["retry_on"] = retry_on;
    RefusedAt(Workflow({step}), "call", field);
  };
  refused("5", nullptr, "retry");
  refused(json::object(), nullptr, "retry.max_attempts");
  refused({{"max_attempts", 0}}, nullptr, "retry.max_attempts");
  refused({{"max_attempts", 101}}, nullptr, "retry.max_attempts");
  refused({{"max_attempts", 2.5}}, nullptr, "retry.max_attempts");
  refused({{"max_attempts", 3}, {"backoff", "linear"}}, nullptr, "retry.backoff");
  refused({{"max_attempts", 3}, {"initial", "soon"}}, nullptr, "retry.initial");
  refused({{"max_attempts", 3}, {"max", 5}}, nullptr, "retry.max");
  refused({{"max_attempts", 3}, {"initial", "1m"}, {"max", "1s"}}, nullptr, "retry.max");
  refused({{"max_attempts", 3}, {"jitter", 2}}, nullptr, "retry.jitter");
  refused({{"max_attempts", 3}, {"tries", 2}}, nullptr, "retry.tries");
  refused(nullptr, "5xx", "retry_on");
  refused(nullptr, {"5xx", "teapot"}, "retry_on[1]");
  refused(nullptr, {"399"}, "retry_on[0]");
}

TEST(Definition, ControlStepsCannotRetry) {
  json loop = Loop("poll", {{"max_iterations", 2}}, {Noop("a")});
  loop["retry"] = {{"max_attempts", 2}};
  RefusedAt(Workflow({loop}), "poll", "retry");
}

TEST(Definition, RunTimeoutIsParsed) {
  json doc = Workflow({Noop("a")});
  doc["timeout"] = "10m";
  auto def = Parsed(doc);
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->timeout, milliseconds(600000));
  for (json bad : {json("0s"), json("soon"), json(5)}) {
    doc["timeout"] = bad;
    RefusedAtTop(doc, "timeout");
  }
}

}  // namespace
}  // namespace sw
