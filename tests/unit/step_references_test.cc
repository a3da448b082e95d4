// References to steps in a definition's expressions are checked on apply: a step may
// refer only to steps that have run before its expressions are evaluated.

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>

#include "core/definition.h"
#include "core/expression.h"

namespace sw {
namespace {

using nlohmann::json;

json Doc(json steps) { return json{{"id", "wf"}, {"steps", std::move(steps)}}; }

// A JSON list (a braced list of one json would be that json, not a list of it).
json List(std::initializer_list<json> items) {
  json out = json::array();
  for (const json& item : items) {
    out.push_back(item);
  }
  return out;
}

json Http(const std::string& id, const std::string& url) {
  return json{{"id", id}, {"type", "http"}, {"with", {{"url", url}}}};
}

json Noop(const std::string& id, json value = 1) {
  return json{{"id", id}, {"type", "noop"}, {"with", {{"value", std::move(value)}}}};
}

json Loop(const std::string& id, json with, json steps) {
  return json{{"id", id}, {"type", "loop"}, {"with", std::move(with)}, {"steps", std::move(steps)}};
}

json Case(const std::string& when, json steps) {
  return json{{"when", when}, {"steps", std::move(steps)}};
}

json Switch(const std::string& id, json cases, json default_steps = nullptr) {
  json with = {{"cases", std::move(cases)}};
  if (!default_steps.is_null()) {
    with["default"] = std::move(default_steps);
  }
  return json{{"id", id}, {"type", "switch"}, {"with", std::move(with)}};
}

void ExpectAccepted(const json& steps) {
  Result<std::shared_ptr<const Definition>> def = ParseDefinition(Doc(steps), "wf");
  EXPECT_TRUE(def.ok()) << steps.dump() << ": " << def.status().message();
}

// Refused naming the step holding the reference, the field and the step referred to.
void ExpectRefused(const json& steps, const std::string& step_id, const std::string& field,
                   const std::string& referred, const std::string& why = "which has not run yet") {
  Result<std::shared_ptr<const Definition>> def = ParseDefinition(Doc(steps), "wf");
  ASSERT_FALSE(def.ok()) << steps.dump();
  const Status& s = def.status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.reason(), "invalid_definition");
  EXPECT_EQ(s.detail().step_id, step_id) << s.reason();
  EXPECT_EQ(s.detail().field, field) << s.reason();
  EXPECT_NE(s.message().find("refers to step '" + referred + "', " + why), std::string::npos)
      << s.message();
}

TEST(StepReferences, AStepMayReferToEarlierSteps) {
  ExpectAccepted(List({Noop("a"), Http("b", "http://x/${{ steps.a.output }}"),
                       Noop("c", "${{ steps.b.output.status == 200 && steps.a.output }}")}));
}

TEST(StepReferences, AStepReferringToItselfIsRefused) {
  ExpectRefused(List({Noop("a"), Http("b", "http://x/${{ steps.b.output.body }}")}), "b",
                "steps[1].with.url", "b");
}

TEST(StepReferences, AStepReferringToALaterStepIsRefused) {
  ExpectRefused(List({Noop("a"), Http("b", "http://x/${{ steps.c.output }}"), Noop("c")}), "b",
                "steps[1].with.url", "c");
}

TEST(StepReferences, NestedValuesAndConditionsInsideExpressionsAreFound) {
  json with = {{"url", "http://x"},
               {"body", {{"items", List({"x", "${{ input.a || steps.late.output }}"})}}}};
  ExpectRefused(List({{{"id", "p"}, {"type", "http"}, {"with", with}}, Noop("late")}), "p",
                "steps[0].with.body.items.1", "late");
}

TEST(StepReferences, AnUnknownStepIsRefused) {
  ExpectRefused(List({Noop("a", "${{ steps.nowhere.output }}")}), "a", "steps[0].with.value",
                "nowhere", "which this workflow does not have");
}

TEST(StepReferences, InputRunAndIndexedStepsAreNotStepReferences) {
  ExpectAccepted(
      List({Noop("a", "${{ input.steps.x }} ${{ run.id }} ${{ steps[0] }} ${{ steps }}")}));
}

TEST(StepReferences, ALoopBodyMayReferToEarlierBodyStepsAndStepsBeforeTheLoop) {
  ExpectAccepted(List({Noop("before"),
                       Loop("l", {{"max_iterations", 3}, {"until", "${{ steps.second.output }}"}},
                            List({Noop("first", "${{ steps.before.output }}"),
                                  Noop("second", "${{ steps.first.output }}")})),
                       Noop("after", "${{ steps.second.output }} ${{ steps.l.output }}")}));
}

TEST(StepReferences, ALoopBodyReferringToALaterBodyStepIsRefused) {
  ExpectRefused(List({Loop("l", {{"max_iterations", 3}},
                           List({Noop("first", "${{ steps.second.output }}"), Noop("second")}))}),
                "first", "steps[0].steps[0].with.value", "second");
}

TEST(StepReferences, ALoopBodyReferringToItsLoopIsRefused) {
  ExpectRefused(List({Noop("a"), Loop("l", {{"max_iterations", 3}},
                                      List({Noop("in", "${{ steps.l.output }}")}))}),
                "in", "steps[1].steps[0].with.value", "l");
}

TEST(StepReferences, ALoopUntilReferringToALaterStepIsRefused) {
  ExpectRefused(
      List({Loop("l", {{"max_iterations", 3}, {"until", "steps.after.output"}}, List({Noop("in")})),
            Noop("after")}),
      "l", "steps[0].with.until", "after");
}

TEST(StepReferences, ABranchMayReferToStepsBeforeItsSwitch) {
  ExpectAccepted(List(
      {Noop("a"),
       Switch("s",
              List({Case("${{ steps.a.output == 1 }}",
                         List({Noop("one", "${{ steps.a.output }}"),
                               Noop("two", "${{ steps.one.output }}")}))}),
              List({Noop("other", "${{ steps.a.output }}")})),
       Noop("after", "${{ steps.one.output }} ${{ steps.other.output }} ${{ steps.s.output }}")}));
}

TEST(StepReferences, ACaseConditionReferringToItsOwnStepsIsRefused) {
  ExpectRefused(List({Switch("s", List({Case("${{ steps.one.output }}", List({Noop("one")}))}))}),
                "s", "steps[0].with.cases[0].when", "one");
}

TEST(StepReferences, ABranchReferringToAnotherBranchIsRefused) {
  ExpectRefused(List({Switch("s", List({Case("${{ input.x }}", List({Noop("one")}))}),
                             List({Noop("other", "${{ steps.one.output }}")}))}),
                "other", "steps[0].with.default[0].with.value", "one");
}

TEST(StepReferences, FindStepReferencesGivesIdsAndWhere) {
  Result<std::vector<StepReference>> refs =
      FindStepReferences(json{{"a", "${{ steps.x.output }}"}, {"b", {1, "n ${{ !steps.y }}"}}});
  ASSERT_TRUE(refs.ok()) << refs.status().message();
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].step_id, "x");
  EXPECT_EQ((*refs)[0].pointer, "/a");
  EXPECT_EQ((*refs)[1].step_id, "y");
  EXPECT_EQ((*refs)[1].pointer, "/b/1");
  Result<std::vector<std::string>> cond = FindConditionStepReferences("steps.p.output == steps.q");
  ASSERT_TRUE(cond.ok());
  EXPECT_EQ(*cond, (std::vector<std::string>{"p", "q"}));
}

}  // namespace
}  // namespace sw
