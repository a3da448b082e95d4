#include "core/cursor.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sw {
namespace {

using nlohmann::json;
using Kind = CursorAction::Kind;

json Noop(const std::string& id) {
  return json{{"id", id}, {"type", "noop"}, {"with", {{"value", id}}}};
}

json Loop(const std::string& id, json with, json steps) {
  return json{{"id", id}, {"type", "loop"}, {"with", std::move(with)}, {"steps", std::move(steps)}};
}

json Switch(const std::string& id, json cases, json default_steps = nullptr) {
  json with = {{"cases", std::move(cases)}};
  if (!default_steps.is_null()) {
    with["default"] = std::move(default_steps);
  }
  return json{{"id", id}, {"type", "switch"}, {"with", std::move(with)}};
}

json Case(const std::string& when, json steps) {
  return json{{"when", when}, {"steps", std::move(steps)}};
}

std::shared_ptr<const Definition> Def(json steps) {
  Result<std::shared_ptr<const Definition>> def =
      ParseDefinition(json{{"id", "wf"}, {"steps", std::move(steps)}}, "wf");
  EXPECT_TRUE(def.ok()) << def.status().message() << " " << def.status().reason();
  return def.ok() ? *def : nullptr;
}

const json kRun = {{"id", "run_01"}, {"workflow_id", "wf"}};

std::string StatusName(StepStatus s) { return std::string(ToString(s)); }

// One line per effect: "<path> <status> <output>". The path ends with the step's id.
std::vector<std::string> Effects(const CursorAction& action) {
  std::vector<std::string> lines;
  for (const ControlEffect& e : action.effects) {
    EXPECT_NE(e.step, nullptr) << e.path;
    if (e.step != nullptr) {
      EXPECT_TRUE(e.path == e.step->id || e.path.ends_with("." + e.step->id))
          << e.path << " for step " << e.step->id;
      EXPECT_TRUE(e.step->IsControl()) << e.step->id;
    }
    lines.push_back(e.path + " " + StatusName(e.status) + " " + e.output.dump());
  }
  return lines;
}

// The whole action as one line, so that walks compare as lists of strings.
std::string Describe(const CursorAction& action) {
  std::string text;
  switch (action.kind) {
    case Kind::kExecute:
      text = "execute " + action.path + " step=" + (action.step ? action.step->id : "<null>");
      break;
    case Kind::kComplete:
      text = "complete " + action.output.dump();
      break;
    case Kind::kFail:
      text = "fail " + action.error.message();
      break;
  }
  for (const std::string& e : Effects(action)) {
    text += " | " + e;
  }
  return text;
}

// Walks `cursor` to the end, completing each leaf with `output_for(path)`; returns
// every action, described. Bounded so that a cursor that never ends fails the test.
std::vector<std::string> Walk(Cursor& cursor,
                              const std::function<json(const std::string&)>& output_for) {
  std::vector<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    CursorAction action = cursor.Next();
    seen.push_back(Describe(action));
    if (action.kind != Kind::kExecute) {
      return seen;
    }
    cursor.Complete(output_for(action.path));
  }
  ADD_FAILURE() << "the cursor did not finish";
  return seen;
}

// Next() must be kExecute at `path`; completes it with `output` and returns the action.
CursorAction ExpectExecute(Cursor& cursor, const std::string& path, json output) {
  CursorAction action = cursor.Next();
  EXPECT_EQ(action.kind, Kind::kExecute) << Describe(action);
  EXPECT_EQ(action.path, path) << Describe(action);
  if (action.kind == Kind::kExecute) {
    cursor.Complete(std::move(output));
  }
  return action;
}

TEST(Cursor, SequentialLeavesRunInOrderThenTheRunCompletesWithTheLastOutput) {
  auto def = Def({Noop("a"), Noop("b"), Noop("c")});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, {{"x", 1}}, kRun);

  for (const char* id : {"a", "b", "c"}) {
    CursorAction action = cursor.Next();
    ASSERT_EQ(action.kind, Kind::kExecute) << id;
    EXPECT_EQ(action.path, id);
    ASSERT_NE(action.step, nullptr);
    EXPECT_EQ(action.step, def->FindStep(id));
    EXPECT_TRUE(action.effects.empty());
    cursor.Complete({{"from", id}});
  }
  CursorAction done = cursor.Next();
  EXPECT_EQ(done.kind, Kind::kComplete);
  EXPECT_EQ(done.output, (json{{"from", "c"}}));
  EXPECT_TRUE(done.effects.empty());
}

TEST(Cursor, NextTwiceWithoutCompleteReturnsTheSameLeaf) {
  auto def = Def({Noop("a"), Noop("b")});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  CursorAction first = cursor.Next();
  CursorAction again = cursor.Next();
  EXPECT_EQ(Describe(first), "execute a step=a");
  EXPECT_EQ(Describe(again), Describe(first));
  EXPECT_EQ(again.step, first.step);
  cursor.Complete(1);
  EXPECT_EQ(Describe(cursor.Next()), "execute b step=b");
}

TEST(Cursor, NextTwiceInsideALoopDoesNotRepeatTheLoopEffects) {
  auto def = Def({Loop("poll", {{"max_iterations", 2}}, {Noop("c")})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  CursorAction first = cursor.Next();
  EXPECT_EQ(Describe(first), "execute poll[0].c step=c | poll running null");
  CursorAction again = cursor.Next();
  EXPECT_EQ(Describe(again), "execute poll[0].c step=c");
  cursor.Complete(1);
  EXPECT_EQ(Describe(cursor.Next()), "execute poll[1].c step=c");
}

TEST(Cursor, NextTwiceAfterALoopEndsDoesNotRepeatTheCompletedEffect) {
  auto def = Def({Loop("poll", {{"max_iterations", 1}}, {Noop("c")}), Noop("after")});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  ExpectExecute(cursor, "poll[0].c", 1);
  EXPECT_EQ(Describe(cursor.Next()),
            "execute after step=after | poll completed {\"exhausted\":false,\"iterations\":1}");
  EXPECT_EQ(Describe(cursor.Next()), "execute after step=after");
}

TEST(Cursor, ScopeExposesInputRunAndTheOutputsSoFar) {
  auto def = Def({Noop("a"), Noop("b")});
  ASSERT_NE(def, nullptr);
  const json input = {{"userId", "usr_1"}};
  Cursor cursor(def, input, kRun);
  EXPECT_EQ(cursor.scope()["input"], input);
  EXPECT_EQ(cursor.scope()["run"], kRun);
  EXPECT_EQ(cursor.scope()["steps"], json::object());

  ExpectExecute(cursor, "a", {{"n", 1}});
  EXPECT_EQ(cursor.scope()["steps"], (json{{"a", {{"output", {{"n", 1}}}}}}));
  ExpectExecute(cursor, "b", nullptr);
  EXPECT_EQ(cursor.scope()["steps"],
            (json{{"a", {{"output", {{"n", 1}}}}}, {"b", {{"output", nullptr}}}}));
  EXPECT_EQ(cursor.scope()["input"], input);
  EXPECT_EQ(cursor.scope()["run"], kRun);
}

TEST(Cursor, LoopWithUntilStopsWhenTheConditionHolds) {
  auto def = Def(
      {Loop("poll", {{"max_iterations", 5}, {"until", "${{ steps.check.output.done == true }}"}},
            {Noop("check")}),
       Noop("after")});
  ASSERT_NE(def, nullptr);
  const StepDef* poll = def->FindStep("poll");
  Cursor cursor(def, json::object(), kRun);

  CursorAction first = ExpectExecute(cursor, "poll[0].check", {{"done", false}});
  EXPECT_EQ(first.step, def->FindStep("check"));
  ASSERT_EQ(first.effects.size(), 1u);
  EXPECT_EQ(first.effects[0].step, poll);
  EXPECT_EQ(first.effects[0].path, "poll");
  EXPECT_EQ(first.effects[0].status, StepStatus::kRunning);
  EXPECT_EQ(first.effects[0].output, json(nullptr));

  CursorAction second = ExpectExecute(cursor, "poll[1].check", {{"done", false}});
  EXPECT_TRUE(second.effects.empty());
  CursorAction third = ExpectExecute(cursor, "poll[2].check", {{"done", true}});
  EXPECT_TRUE(third.effects.empty());

  CursorAction after = cursor.Next();
  ASSERT_EQ(after.kind, Kind::kExecute);
  EXPECT_EQ(after.path, "after");
  ASSERT_EQ(after.effects.size(), 1u);
  EXPECT_EQ(after.effects[0].step, poll);
  EXPECT_EQ(after.effects[0].path, "poll");
  EXPECT_EQ(after.effects[0].status, StepStatus::kCompleted);
  EXPECT_EQ(after.effects[0].output, (json{{"iterations", 3}, {"exhausted", false}}));
  EXPECT_EQ(cursor.scope()["steps"]["poll"]["output"],
            (json{{"iterations", 3}, {"exhausted", false}}));
}

TEST(Cursor, LoopWhoseConditionHoldsAtOnceRunsItsBodyOnce) {
  auto def = Def({Loop("poll", {{"max_iterations", 5}, {"until", "${{ true }}"}}, {Noop("c")})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  EXPECT_EQ(Walk(cursor, [](const std::string&) { return json(1); }),
            (std::vector<std::string>{
                "execute poll[0].c step=c | poll running null",
                "complete {\"exhausted\":false,\"iterations\":1} | poll completed "
                "{\"exhausted\":false,\"iterations\":1}",
            }));
}

TEST(Cursor, LoopWithoutUntilRunsMaxIterationsAndIsNotExhausted) {
  auto def = Def({Loop("poll", {{"max_iterations", 3}}, {Noop("a"), Noop("b")})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  EXPECT_EQ(Walk(cursor, [](const std::string& path) { return json(path); }),
            (std::vector<std::string>{
                "execute poll[0].a step=a | poll running null",
                "execute poll[0].b step=b",
                "execute poll[1].a step=a",
                "execute poll[1].b step=b",
                "execute poll[2].a step=a",
                "execute poll[2].b step=b",
                "complete {\"exhausted\":false,\"iterations\":3} | poll completed "
                "{\"exhausted\":false,\"iterations\":3}",
            }));
}

TEST(Cursor, LoopWhoseConditionNeverHoldsStopsAtMaxExhaustedAndTheRunGoesOn) {
  auto def = Def({Loop("poll", {{"max_iterations", 2}, {"until", "${{ steps.c.output == 'ok' }}"}},
                       {Noop("c")}),
                  Noop("after")});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  EXPECT_EQ(
      Walk(cursor, [](const std::string& path) { return json(path == "after" ? "end" : "nope"); }),
      (std::vector<std::string>{
          "execute poll[0].c step=c | poll running null",
          "execute poll[1].c step=c",
          "execute after step=after | poll completed {\"exhausted\":true,\"iterations\":2}",
          "complete \"end\"",
      }));
  EXPECT_EQ(cursor.scope()["steps"]["poll"]["output"],
            (json{{"iterations", 2}, {"exhausted", true}}));
}

TEST(Cursor, LoopConditionThatHoldsOnTheLastIterationIsNotExhausted) {
  auto def = Def({Loop("poll", {{"max_iterations", 2}, {"until", "${{ steps.c.output == 2 }}"}},
                       {Noop("c")})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  ExpectExecute(cursor, "poll[0].c", 1);
  ExpectExecute(cursor, "poll[1].c", 2);
  CursorAction done = cursor.Next();
  EXPECT_EQ(done.kind, Kind::kComplete);
  EXPECT_EQ(done.output, (json{{"iterations", 2}, {"exhausted", false}}));
}

TEST(Cursor, LoopConditionSeesTheLatestIterationsOutputs) {
  auto def = Def(
      {Loop("count", {{"max_iterations", 10}, {"until", "${{ steps.n.output >= input.target }}"}},
            {Noop("n")})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, {{"target", 4}}, kRun);
  int next = 0;
  std::vector<std::string> walk = Walk(cursor, [&](const std::string&) { return json(++next); });
  EXPECT_EQ(walk.size(), 5u);
  EXPECT_EQ(walk.back(),
            "complete {\"exhausted\":false,\"iterations\":4} | count completed "
            "{\"exhausted\":false,\"iterations\":4}");
}

TEST(Cursor, NestedLoopsNameEachIterationInThePath) {
  auto def = Def({Loop("outer", {{"max_iterations", 2}},
                       {Loop("inner", {{"max_iterations", 2}}, {Noop("c")})})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  EXPECT_EQ(
      Walk(cursor, [](const std::string&) { return json(1); }),
      (std::vector<std::string>{
          "execute outer[0].inner[0].c step=c | outer running null | outer[0].inner running null",
          "execute outer[0].inner[1].c step=c",
          "execute outer[1].inner[0].c step=c | outer[0].inner completed "
          "{\"exhausted\":false,\"iterations\":2} | outer[1].inner running null",
          "execute outer[1].inner[1].c step=c",
          "complete {\"exhausted\":false,\"iterations\":2} | outer[1].inner completed "
          "{\"exhausted\":false,\"iterations\":2} | outer completed "
          "{\"exhausted\":false,\"iterations\":2}",
      }));
}

TEST(Cursor, SwitchRunsTheFirstCaseThatHolds) {
  auto def = Def({Switch("route",
                         {Case("${{ input.kind == 'a' }}", {Noop("on-a")}),
                          Case("${{ input.n > 0 }}", {Noop("on-n"), Noop("on-n2")}),
                          Case("${{ true }}", {Noop("on-true")})},
                         {Noop("other")}),
                  Noop("after")});
  ASSERT_NE(def, nullptr);
  const StepDef* route = def->FindStep("route");
  Cursor cursor(def, {{"kind", "b"}, {"n", 1}}, kRun);

  CursorAction first = ExpectExecute(cursor, "route.on-n", "first");
  EXPECT_EQ(first.step, def->FindStep("on-n"));
  ASSERT_EQ(first.effects.size(), 1u);
  EXPECT_EQ(first.effects[0].step, route);
  EXPECT_EQ(first.effects[0].path, "route");
  EXPECT_EQ(first.effects[0].status, StepStatus::kRunning);

  ExpectExecute(cursor, "route.on-n2", "second");
  CursorAction after = cursor.Next();
  ASSERT_EQ(after.kind, Kind::kExecute);
  EXPECT_EQ(after.path, "after");
  ASSERT_EQ(after.effects.size(), 1u);
  EXPECT_EQ(after.effects[0].step, route);
  EXPECT_EQ(after.effects[0].path, "route");
  EXPECT_EQ(after.effects[0].status, StepStatus::kCompleted);
  EXPECT_EQ(after.effects[0].output, json("second"));
  EXPECT_EQ(cursor.scope()["steps"]["route"]["output"], json("second"));
}

TEST(Cursor, SwitchCaseMayReadEarlierOutputs) {
  auto def =
      Def({Noop("probe"),
           Switch("route", {Case("${{ steps.probe.output.ok }}", {Noop("yes")})}, {Noop("no")})});
  ASSERT_NE(def, nullptr);
  Cursor ok(def, json::object(), kRun);
  ExpectExecute(ok, "probe", {{"ok", true}});
  EXPECT_EQ(Describe(ok.Next()), "execute route.yes step=yes | route running null");
  Cursor not_ok(def, json::object(), kRun);
  ExpectExecute(not_ok, "probe", {{"ok", false}});
  EXPECT_EQ(Describe(not_ok.Next()), "execute route.no step=no | route running null");
}

TEST(Cursor, SwitchRunsTheDefaultWhenNoCaseHolds) {
  auto def =
      Def({Switch("route", {Case("${{ input.kind == 'a' }}", {Noop("on-a")})}, {Noop("other")})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, {{"kind", "z"}}, kRun);
  EXPECT_EQ(Walk(cursor, [](const std::string& path) { return json("out " + path); }),
            (std::vector<std::string>{
                "execute route.other step=other | route running null",
                "complete \"out route.other\" | route completed \"out route.other\"",
            }));
}

TEST(Cursor, SwitchWithoutDefaultCompletesWithNullWhenNoCaseHolds) {
  auto def = Def({Noop("a"), Switch("route", {Case("${{ input.kind == 'a' }}", {Noop("on-a")})}),
                  Noop("after")});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, {{"kind", "z"}}, kRun);
  ExpectExecute(cursor, "a", "from a");
  CursorAction after = cursor.Next();
  ASSERT_EQ(after.kind, Kind::kExecute);
  EXPECT_EQ(after.path, "after");
  ASSERT_EQ(after.effects.size(), 1u);
  EXPECT_EQ(after.effects[0].step, def->FindStep("route"));
  EXPECT_EQ(after.effects[0].path, "route");
  EXPECT_EQ(after.effects[0].status, StepStatus::kCompleted);
  EXPECT_EQ(after.effects[0].output, json(nullptr));
  EXPECT_TRUE(cursor.scope()["steps"].contains("route"));
  EXPECT_EQ(cursor.scope()["steps"]["route"]["output"], json(nullptr));
}

TEST(Cursor, RunEndingInAnUnmatchedSwitchCompletesWithNull) {
  auto def = Def({Noop("a"), Switch("route", {Case("${{ false }}", {Noop("never")})})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  EXPECT_EQ(Walk(cursor, [](const std::string&) { return json("from a"); }),
            (std::vector<std::string>{
                "execute a step=a",
                "complete null | route completed null",
            }));
}

TEST(Cursor, LoopNestedInASwitchRunsInsideTheChosenBranch) {
  auto def = Def(
      {Switch("route", {Case("${{ input.go }}",
                             {Loop("poll", {{"max_iterations", 2}}, {Noop("c")}), Noop("tail")})}),
       Noop("after")});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, {{"go", true}}, kRun);
  EXPECT_EQ(Walk(cursor, [](const std::string& path) { return json(path); }),
            (std::vector<std::string>{
                "execute route.poll[0].c step=c | route running null | route.poll running null",
                "execute route.poll[1].c step=c",
                "execute route.tail step=tail | route.poll completed "
                "{\"exhausted\":false,\"iterations\":2}",
                "execute after step=after | route completed \"route.tail\"",
                "complete \"after\"",
            }));
}

TEST(Cursor, SwitchEndingInALoopCompletesWithTheLoopsOutput) {
  auto def = Def({Switch(
      "route", {Case("${{ true }}", {Loop("poll", {{"max_iterations", 1}}, {Noop("c")})})})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  std::vector<std::string> walk = Walk(cursor, [](const std::string&) { return json(1); });
  ASSERT_EQ(walk.size(), 2u);
  EXPECT_EQ(walk[1],
            "complete {\"exhausted\":false,\"iterations\":1} | route.poll completed "
            "{\"exhausted\":false,\"iterations\":1} | route completed "
            "{\"exhausted\":false,\"iterations\":1}");
}

TEST(Cursor, SwitchInsideALoopChoosesAgainOnEveryIteration) {
  auto def =
      Def({Loop("loop", {{"max_iterations", 3}},
                {Noop("n"), Switch("route", {Case("${{ steps.n.output == 2 }}", {Noop("two")})},
                                   {Noop("other")})})});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  int n = 0;
  std::vector<std::string> paths;
  for (int i = 0; i < 20; ++i) {
    CursorAction action = cursor.Next();
    if (action.kind != Kind::kExecute) {
      EXPECT_EQ(action.kind, Kind::kComplete);
      break;
    }
    paths.push_back(action.path);
    cursor.Complete(action.step->id == "n" ? json(++n) : json(action.path));
  }
  EXPECT_EQ(paths,
            (std::vector<std::string>{"loop[0].n", "loop[0].route.other", "loop[1].n",
                                      "loop[1].route.two", "loop[2].n", "loop[2].route.other"}));
}

TEST(Cursor, SwitchConditionThatCannotBeEvaluatedFailsTheRun) {
  auto def = Def(
      {Noop("a"), Switch("route", {Case("${{ input.n < 1 }}", {Noop("small")})}), Noop("after")});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, {{"n", "not a number"}}, kRun);
  ExpectExecute(cursor, "a", 1);
  CursorAction action = cursor.Next();
  ASSERT_EQ(action.kind, Kind::kFail) << Describe(action);
  EXPECT_FALSE(action.error.ok());
  EXPECT_EQ(action.error.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(action.error.message().find("'route'"), std::string::npos) << action.error.message();
  EXPECT_TRUE(action.effects.empty());
}

TEST(Cursor, LoopConditionThatCannotBeEvaluatedFailsTheRun) {
  auto def = Def(
      {Loop("poll", {{"max_iterations", 3}, {"until", "${{ steps.c.output > 1 }}"}}, {Noop("c")}),
       Noop("after")});
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, json::object(), kRun);
  ExpectExecute(cursor, "poll[0].c", "text");
  CursorAction action = cursor.Next();
  ASSERT_EQ(action.kind, Kind::kFail) << Describe(action);
  EXPECT_EQ(action.error.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(action.error.message().find("'poll'"), std::string::npos) << action.error.message();
  // The run does not go on to the next step or iteration.
  EXPECT_EQ(action.step, nullptr);
  EXPECT_EQ(action.path, "");
}

// A definition that exercises every control path, for the determinism tests.
json EveryShape() {
  return json::array(
      {Noop("start"),
       Loop(
           "poll", {{"max_iterations", 4}, {"until", "${{ steps.check.output.done }}"}},
           {Noop("check"), Switch("route", {Case("${{ steps.check.output.n > 1 }}", {Noop("big")})},
                                  {Loop("inner", {{"max_iterations", 2}}, {Noop("tick")})})}),
       Switch("last", {Case("${{ input.skip }}", {Noop("skipped")})}),
       Switch("final", {Case("${{ steps.poll.output.exhausted }}", {Noop("gave-up")}),
                        Case("${{ !steps.poll.output.exhausted }}", {Noop("made-it")})})});
}

// Outputs that depend only on the path, as stored results do.
json StoredOutput(const std::string& path) {
  if (path.ends_with(".check")) {
    const int iteration = path[5] - '0';  // "poll[<i>].check"
    return json{{"n", iteration}, {"done", iteration == 2}};
  }
  return json("out " + path);
}

TEST(Cursor, TheWalkOfEveryShapeIsAsExpected) {
  auto def = Def(EveryShape());
  ASSERT_NE(def, nullptr);
  Cursor cursor(def, {{"skip", false}}, kRun);
  EXPECT_EQ(Walk(cursor, StoredOutput),
            (std::vector<std::string>{
                "execute start step=start",
                "execute poll[0].check step=check | poll running null",
                "execute poll[0].route.inner[0].tick step=tick | poll[0].route running null"
                " | poll[0].route.inner running null",
                "execute poll[0].route.inner[1].tick step=tick",
                "execute poll[1].check step=check | poll[0].route.inner completed "
                "{\"exhausted\":false,\"iterations\":2} | poll[0].route completed "
                "{\"exhausted\":false,\"iterations\":2}",
                "execute poll[1].route.inner[0].tick step=tick | poll[1].route running null"
                " | poll[1].route.inner running null",
                "execute poll[1].route.inner[1].tick step=tick",
                "execute poll[2].check step=check | poll[1].route.inner completed "
                "{\"exhausted\":false,\"iterations\":2} | poll[1].route completed "
                "{\"exhausted\":false,\"iterations\":2}",
                "execute poll[2].route.big step=big | poll[2].route running null",
                "execute final.made-it step=made-it | poll[2].route completed "
                "\"out poll[2].route.big\" | poll completed "
                "{\"exhausted\":false,\"iterations\":3} | last completed null | final running null",
                "complete \"out final.made-it\" | final completed \"out final.made-it\"",
            }));
}

TEST(Cursor, TwoCursorsFedTheSameOutputsWalkIdentically) {
  auto def = Def(EveryShape());
  ASSERT_NE(def, nullptr);
  for (bool skip : {false, true}) {
    Cursor first(def, {{"skip", skip}}, kRun);
    Cursor second(def, {{"skip", skip}}, kRun);
    std::vector<std::string> a = Walk(first, StoredOutput);
    std::vector<std::string> b = Walk(second, StoredOutput);
    EXPECT_EQ(a, b);
    EXPECT_EQ(first.scope(), second.scope());
    EXPECT_GT(a.size(), 5u);
  }
}

TEST(Cursor, ACursorRebuiltFromStoredOutputsContinuesWhereTheFirstStopped) {
  auto def = Def(EveryShape());
  ASSERT_NE(def, nullptr);
  const json input = {{"skip", false}};
  Cursor reference(def, input, kRun);
  const std::vector<std::string> full = Walk(reference, StoredOutput);

  // Stop after every possible number of completed leaves, "restart" and replay.
  for (size_t stop = 0; stop + 1 < full.size(); ++stop) {
    Cursor original(def, input, kRun);
    std::vector<std::string> stored_paths;
    for (size_t i = 0; i < stop; ++i) {
      CursorAction action = original.Next();
      ASSERT_EQ(action.kind, Kind::kExecute);
      stored_paths.push_back(action.path);
      original.Complete(StoredOutput(action.path));
    }
    Cursor rebuilt(def, input, kRun);
    for (const std::string& path : stored_paths) {
      CursorAction action = rebuilt.Next();
      ASSERT_EQ(action.kind, Kind::kExecute);
      ASSERT_EQ(action.path, path) << "stop " << stop;
      rebuilt.Complete(StoredOutput(path));
    }
    EXPECT_EQ(rebuilt.scope(), original.scope()) << "stop " << stop;
    std::vector<std::string> rest_original = Walk(original, StoredOutput);
    std::vector<std::string> rest_rebuilt = Walk(rebuilt, StoredOutput);
    EXPECT_EQ(rest_rebuilt, rest_original) << "stop " << stop;
    EXPECT_EQ(rest_original, std::vector<std::string>(
                                 full.begin() + static_cast<std::ptrdiff_t>(stop), full.end()))
        << "stop " << stop;
  }
}

}  // namespace
}  // namespace sw
