// The rerun plan (control/rerun.h): which steps of an earlier run a rerun from a step
// copies, which control rows it carries, and how `from_step` resolves.
#include "control/rerun.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace sw {
namespace {

using nlohmann::json;

json Noop(const std::string& id, json value = nullptr) {
  return json{
      {"id", id}, {"type", "noop"}, {"with", {{"value", value.is_null() ? json(id) : value}}}};
}

json Loop(const std::string& id, int max, json steps) {
  return json{{"id", id},
              {"type", "loop"},
              {"with", {{"max_iterations", max}}},
              {"steps", std::move(steps)}};
}

json Switch(const std::string& id, const std::string& when, json steps) {
  return json{{"id", id},
              {"type", "switch"},
              {"with", {{"cases", json::array({{{"when", when}, {"steps", std::move(steps)}}})}}}};
}

std::shared_ptr<const Definition> Def(json steps) {
  Result<std::shared_ptr<const Definition>> def =
      ParseDefinition(json{{"id", "wf"}, {"steps", std::move(steps)}}, "wf");
  EXPECT_TRUE(def.ok()) << def.status().message();
  return def.ok() ? *def : nullptr;
}

StepRecord Done(const std::string& path, const std::string& type = "noop",
                StepStatus status = StepStatus::kCompleted) {
  StepRecord s;
  s.path = path;
  s.step_id = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
  s.type = type;
  s.status = status;
  s.attempt = 1;
  s.started_at = 100;
  s.finished_at = 200;
  s.output = json{{"was", path}};
  return s;
}

Result<RerunPlan> Plan(const std::shared_ptr<const Definition>& def, json input,
                       const std::vector<StepRecord>& earlier, const std::string& from) {
  return PlanRerun(def, std::move(input), json{{"id", "run_new"}}, earlier, from, 1000);
}

std::vector<std::string> Paths(const std::vector<StepRecord>& rows) {
  std::vector<std::string> out;
  for (const StepRecord& r : rows) {
    out.push_back(r.path + (r.copied ? "*" : ""));
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(RerunTest, ResolvesIdsAndPaths) {
  auto def = Def({Noop("a"), Switch("sw", "${{ input.go }}", {Noop("b")}),
                  Loop("l", 3, {Noop("c"), Switch("inner", "${{ true }}", {Noop("d")})})});
  EXPECT_EQ(*ResolveFromStep(*def, "a"), "a");
  EXPECT_EQ(*ResolveFromStep(*def, "b"), "sw.b");
  EXPECT_EQ(*ResolveFromStep(*def, "sw.b"), "sw.b");
  EXPECT_EQ(*ResolveFromStep(*def, "l"), "l");
  EXPECT_EQ(*ResolveFromStep(*def, "l[2]"), "l[2]");
  EXPECT_EQ(*ResolveFromStep(*def, "l[1].inner.d"), "l[1].inner.d");
  for (const char* bad : {"", "x", "c", "d", "l.c", "l[3].c", "a[0]", "a.b", "sw.c", "l[0].x", "l[",
                          "l[]", "l[x]", ".a", "a.", "l[0]].c"}) {
    Result<std::string> r = ResolveFromStep(*def, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(r.status().detail().field, "from_step") << bad;
  }
  EXPECT_NE(ResolveFromStep(*def, "c").status().message().find("l[0].c"), std::string::npos);
}

TEST(RerunTest, SequenceCopiesTheCompletedStepsBefore) {
  auto def = Def({Noop("a"), Noop("b"), Noop("c"), Noop("d")});
  Result<RerunPlan> plan = Plan(def, json::object(), {Done("a"), Done("b"), Done("c")}, "c");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->kept, (Strings{"a", "b"}));
  EXPECT_EQ(plan->will_run, (Strings{"c", "d"}));
  EXPECT_EQ(Paths(plan->steps), (Strings{"a*", "b*"}));
  EXPECT_EQ(plan->steps[1].output, (json{{"was", "b"}}));
  EXPECT_EQ(plan->steps[1].started_at, 100);
  // A step that failed (or never ran) before from_step runs again.
  plan = Plan(def, json::object(), {Done("a"), Done("b", "noop", StepStatus::kFailed)}, "d");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->kept, (Strings{"a"}));
  EXPECT_EQ(plan->will_run, (Strings{"b", "c", "d"}));
  // From the start: nothing kept.
  plan = Plan(def, json::object(), {Done("a")}, "");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->steps.empty());
  EXPECT_EQ(plan->will_run, (Strings{"a", "b", "c", "d"}));
}

TEST(RerunTest, ATypeChangedOrNewStepStopsTheCopy) {
  auto def = Def({Noop("a"), Noop("b"), Noop("c")});
  Result<RerunPlan> plan = Plan(def, json::object(), {Done("a", "http"), Done("b")}, "c");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->kept.empty());
  EXPECT_EQ(plan->will_run, (Strings{"a", "b", "c"}));
}

TEST(RerunTest, SwitchBranchIsChosenWithTheNewInput) {
  auto def = Def({Noop("a"), Switch("sw", "${{ input.go }}", {Noop("b")}), Noop("c")});
  std::vector<StepRecord> earlier = {Done("a"), Done("sw", "switch"), Done("sw.b"), Done("c")};
  // Same branch: from c keeps a and b; the switch is entered, and the rerun finishes it
  // on its way to c (as the engine does after a restart).
  Result<RerunPlan> plan = Plan(def, json{{"go", true}}, earlier, "c");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->kept, (Strings{"a", "sw.b"}));
  EXPECT_EQ(Paths(plan->steps), (Strings{"a*", "sw", "sw.b*"}));
  EXPECT_EQ(plan->steps[1].status, StepStatus::kRunning);
  EXPECT_EQ(plan->will_run, (Strings{"c"}));
  // A switch finished before a copied step is a copied, completed row.
  auto more = Def({Switch("sw", "${{ input.go }}", {Noop("b")}), Noop("c"), Noop("e")});
  plan = Plan(more, json{{"go", true}}, {Done("sw", "switch"), Done("sw.b"), Done("c")}, "e");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(Paths(plan->steps), (Strings{"sw*", "sw.b*", "c*"}));
  EXPECT_EQ(plan->steps[0].status, StepStatus::kCompleted);
  EXPECT_EQ(plan->steps[0].output, (json{{"was", "sw.b"}}));
  // From inside the branch: the switch row is running, b runs.
  plan = Plan(def, json{{"go", true}}, earlier, "sw.b");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Paths(plan->steps), (Strings{"a*"}));
  EXPECT_EQ(plan->will_run, (Strings{"sw.b", "c"}));
  // From the switch when the new input takes no branch: c runs.
  plan = Plan(def, json{{"go", false}}, earlier, "sw");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->kept, (Strings{"a"}));
  EXPECT_EQ(plan->will_run, (Strings{"c"}));
  // A step in the branch the new input does not take is never reached.
  auto two = Def({Switch("sw", "${{ input.go }}", {Noop("b")}), Noop("c")});
  plan = Plan(two, json{{"go", false}}, {Done("sw", "switch"), Done("c")}, "sw.b");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().detail().field, "from_step");
}

TEST(RerunTest, LoopIterationKeepsTheEarlierIterations) {
  auto def = Def({Loop("l", 3, {Noop("c"), Noop("d")}), Noop("after")});
  std::vector<StepRecord> earlier = {Done("l", "loop")};
  for (int i = 0; i < 3; ++i) {
    for (const char* id : {"c", "d"}) {
      earlier.push_back(Done("l[" + std::to_string(i) + "]." + id));
    }
  }
  earlier.push_back(Done("after"));
  Result<RerunPlan> plan = Plan(def, json::object(), earlier, "l[1].d");
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->kept, (Strings{"l[0].c", "l[0].d", "l[1].c"}));
  EXPECT_EQ(Paths(plan->steps), (Strings{"l", "l[0].c*", "l[0].d*", "l[1].c*"}));
  EXPECT_EQ(plan->steps[0].status, StepStatus::kRunning);
  EXPECT_EQ(plan->will_run, (Strings{"l[1].d", "after"}));
  // After the loop: every iteration kept; the rerun finishes the loop row itself.
  plan = Plan(def, json::object(), earlier, "after");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->kept.size(), 6u);
  EXPECT_EQ(plan->steps[0].status, StepStatus::kRunning);
  EXPECT_FALSE(plan->steps[0].copied);
  EXPECT_EQ(plan->will_run, (Strings{"after"}));
  // The loop itself: nothing of it kept.
  plan = Plan(def, json::object(), earlier, "l");
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->steps.empty());
  EXPECT_EQ(plan->will_run, (Strings{"l[0].c", "l[0].d", "after"}));
}

}  // namespace
}  // namespace sw
