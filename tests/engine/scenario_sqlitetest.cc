// Lifecycle scenarios as data: each tests/scenarios/*.scn file is a script of actions
// and expectations run against the real engine and control service over a real SQLite
// store, with a manual clock. One line a step:
//
//   workflow <id> <steps as JSON>              apply a workflow
//   start <name> <workflow> [input JSON]        start a run, called <name> below
//   <pause|resume|cancel> <name> -> <outcome>   a control; outcome `ok` or the error's
//                                               api code (invalid_transition, ...)
//   event <name> <type> <payload JSON> -> <taken|buffered|api code>
//   advance <duration>                          move the clock (timers come due)
//   expect <name> <status> [wait=<kind>] [attempt=<n>]
//                                               the run reaches <status> (and its wait)
//   expect <name> step <step id> <status>       a step's row has <status>
//   child <name> <parent>                       names the child run <parent> waits for
//
// `#` starts a comment. An expectation waits (bounded) for the engine, which runs on
// its own threads; time only moves with `advance`.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <thread>

#include "control/service.h"
#include "core/duration.h"
#include "engine/engine.h"
// The fixture and fakes live beside this test (tests/engine/).
#include "engine_fixture.h"

namespace sw {
namespace {

using nlohmann::json;

std::vector<std::filesystem::path> ScenarioFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(SW_SCENARIO_DIR)) {
    if (entry.path().extension() == ".scn") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The words of a line up to the first `{` or `[` (where JSON starts), and that JSON.
struct Line {
  std::vector<std::string> words;
  std::string json_text;
  std::string outcome;  // after "->"
};

Line Split(const std::string& text) {
  Line line;
  std::string body = text;
  if (size_t arrow = body.rfind("->"); arrow != std::string::npos) {
    line.outcome = body.substr(arrow + 2);
    line.outcome.erase(0, line.outcome.find_first_not_of(' '));
    line.outcome.erase(line.outcome.find_last_not_of(' ') + 1);
    body = body.substr(0, arrow);
  }
  size_t json_at = body.find_first_of("{[");
  if (json_at != std::string::npos) {
    line.json_text = body.substr(json_at);
    body = body.substr(0, json_at);
  }
  std::istringstream words(body);
  for (std::string w; words >> w;) {
    line.words.push_back(w);
  }
  return line;
}

class ScenarioTest : public test::EngineFixture,
                     public ::testing::WithParamInterface<std::filesystem::path> {
 protected:
  // Runs one line; a failed expectation is reported with the line.
  void Run(const Line& line) {
    const std::string& verb = line.words.at(0);
    if (verb == "workflow") {
      Apply(line.words.at(1), json::parse(line.json_text));
    } else if (verb == "start") {
      Start(line);
    } else if (verb == "pause" || verb == "resume" || verb == "cancel") {
      ControlRequest request;
      request.action = *ParseAction(verb);
      Result<RunRecord> r = control_->Control(ctx_, runs_.at(line.words.at(1)), request);
      EXPECT_EQ(r.ok() ? "ok" : r.status().reason(), line.outcome) << r.status().message();
    } else if (verb == "event") {
      Result<bool> r = control_->SendEvent(ctx_, runs_.at(line.words.at(1)), line.words.at(2),
                                           json::parse(line.json_text));
      EXPECT_EQ(r.ok() ? (*r ? "taken" : "buffered") : r.status().reason(), line.outcome);
    } else if (verb == "advance") {
      Result<std::chrono::milliseconds> d = ParseDuration(line.words.at(1));
      ASSERT_TRUE(d.ok()) << d.status().message();
      clock_.Advance(d->count());
      engine_->PokeTimers();
    } else if (verb == "expect") {
      Expect(line);
    } else if (verb == "child") {
      Result<RunRecord> parent = store_->GetRun(runs_.at(line.words.at(2)), false);
      ASSERT_TRUE(parent.ok()) << parent.status().message();
      ASSERT_TRUE(parent->wait.is_object() && parent->wait.contains("child_run_id"))
          << "the run waits for no child: " << parent->wait.dump();
      runs_[line.words.at(1)] = parent->wait["child_run_id"].get<std::string>();
    } else {
      FAIL() << "unknown verb '" << verb << "'";
    }
  }

 private:
  static std::optional<RunAction> ParseAction(const std::string& verb) {
    for (RunAction a : kAllRunActions) {
      if (ToString(a) == verb) {
        return a;
      }
    }
    return std::nullopt;
  }

  void Start(const Line& line) {
    Result<CreateRunResult> created = TryStart(
        line.words.at(2), line.json_text.empty() ? json::object() : json::parse(line.json_text));
    ASSERT_TRUE(created.ok()) << created.status().message();
    runs_[line.words.at(1)] = created->run.id;
  }

  // What the line expects of the run, as text, and what the run shows now.
  static std::string Shown(const RunRecord& run, const Line& line) {
    if (line.words.at(2) == "step") {
      for (const StepRecord& s : run.steps) {
        if (s.step_id == line.words.at(3)) {
          return std::string(ToString(s.status));
        }
      }
      return "(no row)";
    }
    std::string shown(ToString(run.status));
    for (size_t i = 3; i < line.words.size(); ++i) {
      const std::string& w = line.words[i];
      if (w.starts_with("wait=")) {
        shown += " wait=" + (run.wait.is_object() ? run.wait.value("kind", "") : "");
      } else if (w.starts_with("attempt=") && run.wait.is_object()) {
        shown += " attempt=" + std::to_string(run.wait.value("attempt", 0));
      }
    }
    return shown;
  }

  void Expect(const Line& line) {
    std::string wanted = line.words.at(2) == "step" ? line.words.at(4) : line.words.at(2);
    for (size_t i = 3; line.words.at(2) != "step" && i < line.words.size(); ++i) {
      wanted += " " + line.words[i];
    }
    const std::string run_id = runs_.at(line.words.at(1));
    std::string shown;
    const bool reached = test::WaitUntil([&] {
      Result<RunRecord> run = store_->GetRun(run_id, /*with_steps=*/true);
      shown = run.ok() ? Shown(*run, line) : run.status().message();
      return shown == wanted;
    });
    EXPECT_TRUE(reached) << "expected " << wanted << ", the run shows " << shown;
  }

  std::map<std::string, std::string> runs_;  // scenario name -> run id
};

TEST_P(ScenarioTest, RunsAsWritten) {
  std::ifstream in(GetParam());
  ASSERT_TRUE(in) << GetParam();
  int number = 0;
  for (std::string text; std::getline(in, text);) {
    ++number;
    if (size_t hash = text.find('#'); hash != std::string::npos) {
      text = text.substr(0, hash);
    }
    Line line = Split(text);
    if (line.words.empty()) {
      continue;
    }
    SCOPED_TRACE(GetParam().filename().string() + ":" + std::to_string(number) + ": " + text);
    Run(line);
    if (HasFatalFailure()) {
      return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Scenarios, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()),
                         [](const ::testing::TestParamInfo<std::filesystem::path>& info) {
                           std::string name = info.param.stem().string();
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace sw
