// A seeded, replayable simulation of the run lifecycle (docs/reliability.md,
// "Deterministic simulation"). For each seed, a plan of random operations
// (simulation_plan.h: start, pause, resume, cancel with and without preconditions,
// answers to held HTTP requests, clock moves, events, replays, crashes, and controls or
// crashes racing the engine right after a start or an answer) runs against the real
// engine and control service over a real SQLite store, on a manual clock, with a fake
// HTTP client the simulation answers by hand (engine_fixture.h). After each operation
// it waits, bounded, until the engine is quiescent, then checks the lifecycle's
// invariants against the store and against what was acknowledged; at the end it
// answers everything, resumes what is paused and moves time far, and every run must
// end.
//
// STEPWELL_SIM_SEED=N replays seed N; STEPWELL_SIM_SEEDS=K runs K seeds (from
// STEPWELL_SIM_FIRST_SEED, default 1); STEPWELL_SIM_OPS operations a seed;
// STEPWELL_SIM_RACES=0 leaves the races out; STEPWELL_SIM_VERBOSE=1 prints every
// journal. A failure prints the seed, the journal of operations, a dump of the runs and
// the command that replays it.
//
// Not thread-safe: one SimWorld a seed, on the test's thread.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "control/service.h"
#include "core/lifecycle.h"
#include "engine/engine.h"
// The fixture, the fakes and the plan live beside this test (tests/engine/).
#include "engine_fixture.h"
#include "simulation_plan.h"

namespace sw {

// Statuses print as their names in failed expectations.
void PrintTo(RunStatus s, std::ostream* os) { *os << ToString(s); }
void PrintTo(StepStatus s, std::ostream* os) { *os << ToString(s); }

namespace {

using nlohmann::json;
using test::FakeHttpClient;
using test::FindStep;
using test::SimAnswer;
using test::SimOp;
using test::SimOpKind;
using test::SimPrecondition;
using test::SimRace;

constexpr char kUrlPrefix[] = "https://sim.test/";
constexpr char kEventType[] = "go";
// Bounds: the wait for quiescence (only a stuck engine reaches it), the rounds that
// finish a seed, and the answers a round gives.
constexpr std::chrono::milliseconds kQuiesceLimit{20'000};
constexpr int kMaxDrainRounds = 8;
constexpr int kMaxAnswerPasses = 40;
constexpr int64_t kDay = 24 * 3'600'000LL;

// A request's URL names its run and step: https://sim.test/<run id>/<path>.
json HttpStep(const std::string& id) {
  return {{"id", id},
          {"type", "http"},
          {"with", {{"url", std::string(kUrlPrefix) + "${{ run.id }}/" + id}}}};
}

json Step(const std::string& id, const std::string& type, json with) {
  return {{"id", id}, {"type", type}, {"with", std::move(with)}};
}

// The simulation's workflows, by id: every kind of wait the lifecycle has to get right.
std::vector<std::pair<std::string, json>> SimWorkflows() {
  const json body_call = "${{ steps.a.output.body.call }}";
  json retry = HttpStep("a");
  retry["retry"] = {
      {"max_attempts", 3}, {"backoff", "exponential"}, {"initial", "1m"}, {"max", "10m"}};
  json child = Step("child", "workflow", {{"workflow", "calls"}});
  child["retry"] = {{"max_attempts", 2}, {"backoff", "fixed"}, {"initial", "1m"}};
  return {
      {"noop",
       {{"steps", {test::Noop("a", {{"x", 1}}), test::Noop("b", "${{ steps.a.output.x }}")}}}},
      {"calls", {{"steps", {HttpStep("a"), HttpStep("b"), test::Noop("c", body_call)}}}},
      {"retry", {{"steps", {retry, test::Noop("b", body_call)}}}},
      {"nap", {{"steps", {Step("s", "sleep", {{"duration", "10m"}}), HttpStep("a")}}}},
      {"event", {{"steps", {test::WaitForEvent("w", kEventType, "1h"), HttpStep("a")}}}},
      {"forever", {{"steps", {test::WaitForEvent("w", kEventType), test::Noop("b", 1)}}}},
      {"parent", {{"steps", {child, test::Noop("after", "${{ steps.child.output }}")}}}},
      {"timed",
       {{"timeout", "30m"},
        {"steps", {HttpStep("a"), Step("s", "sleep", {{"duration", "1h"}}), test::Noop("b", 2)}}}},
  };
}

// `j[key]`, or null when `j` is not an object or has no such key.
json At(const json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j[key] : json();
}

// The request whose answer a step row holds (its body's `call`), or null.
json CallIn(const StepRecord& row) { return At(At(row.output, "body"), "call"); }

struct CallOwner {
  std::string run_id;
  std::string path;
  bool operator==(const CallOwner&) const = default;
};

CallOwner OwnerOf(const std::string& url) {
  const std::string rest = url.substr(std::min(url.size(), sizeof(kUrlPrefix) - 1));
  const size_t slash = rest.find('/');
  if (slash == std::string::npos) {
    return {rest, ""};
  }
  return {rest.substr(0, slash), rest.substr(slash + 1)};
}

// A child run cancelled because its parent ended (a cancel of the parent walks down the
// tree, as does the parent's timeout).
bool CancelledWithItsParent(const RunRecord& run, const std::map<std::string, RunRecord>& runs) {
  if (run.status != RunStatus::kCancelled || run.parent_run_id.empty()) {
    return false;
  }
  auto parent = runs.find(run.parent_run_id);
  return parent != runs.end() && IsTerminal(parent->second.status);
}

bool TimedOut(const RunRecord& run) {
  return run.status == RunStatus::kFailed && run.error.is_object() &&
         run.error.value("code", "") == "run_timeout";
}

// The control table of API.md, written out again here rather than read from core: the
// status an allowed action leads to, or none when the action is refused.
std::optional<RunStatus> ControlLeadsTo(RunAction action, const RunRecord& run) {
  switch (action) {
    case RunAction::kPause:
      if (run.status == RunStatus::kPending || run.status == RunStatus::kRunning ||
          InRetryBackoff(run)) {
        return RunStatus::kPaused;
      }
      return std::nullopt;
    case RunAction::kResume:
      return run.status == RunStatus::kPaused ? std::optional(run.paused_from) : std::nullopt;
    case RunAction::kCancel:
      return run.status == RunStatus::kCompleted || run.status == RunStatus::kFailed
                 ? std::nullopt
                 : std::optional(RunStatus::kCancelled);
  }
  return std::nullopt;
}

// Everything the checks look at, read at one moment (as near as the threads allow).
struct Look {
  std::map<std::string, RunRecord> runs;  // every run, with its steps
  std::vector<FakeHttpClient::Call> calls;
  size_t active = 0;  // runs the engine holds
  bool quiescent = false;
  std::string busy;  // why not

  size_t CallsFor(const std::string& run_id, const std::string& path = "") const {
    size_t n = 0;
    for (const FakeHttpClient::Call& c : calls) {
      const CallOwner owner = OwnerOf(c.request.url);
      n += owner.run_id == run_id && (path.empty() || owner.path == path) ? 1 : 0;
    }
    return n;
  }
  std::set<std::string> RunsHoldingACall() const {
    std::set<std::string> held;
    for (const FakeHttpClient::Call& c : calls) {
      if (!c.completed) {
        held.insert(OwnerOf(c.request.url).run_id);
      }
    }
    return held;
  }
};

// What the simulation knows of a run beyond the store: what it acknowledged.
struct RunModel {
  RunRecord last;             // as the last quiescent look saw it
  size_t calls = 0;           // requests for it at that look
  bool pause_acked = false;   // our pause was answered ok; no resume or end since
  bool cancel_acked = false;  // our cancel was answered ok
  // Acknowledged since the last look.
  bool paused_now = false;
  bool resumed_now = false;
  bool cancelled_now = false;
  bool raced_now = false;                       // by a control that raced the engine (SimRace)
  std::map<std::string, StepRecord> completed;  // path -> row first seen completed
  std::map<std::string, size_t> calls_when_completed;  // path -> its requests then
};

// A request the simulation answered, checked at the next look.
struct Answered {
  size_t call;
  CallOwner owner;
  SimAnswer answer;
  RunStatus run_was;                  // at the look before the answer
  SimRace raced_by = SimRace::kNone;  // what came at once after it (when it did)
};

// Figures over all seeds, printed at the end.
struct Totals {
  int seeds = 0;
  int ops = 0;
  int crashes = 0;
  int runs = 0;
  size_t requests = 0;
  int controls_ok = 0;
  int controls_refused = 0;
  int controls_state_changed = 0;
  int answers_read_later = 0;  // a resume answered with a later version than it wrote
  int races = 0;               // controls and crashes while the engine worked (counted there too)
  int answers = 0;
  int late_discarded = 0;
  int kept_while_paused = 0;
  size_t in_flight_at_crash = 0;  // requests a crash cut off (their attempts run again)
  int events_taken = 0;
  int events_buffered = 0;
  int looks = 0;
};

// One seed's world: the fixture's store, engine and fakes, the plan, the model.
class SimWorld : public test::EngineFixture {
 public:
  SimWorld(uint64_t seed, const test::SimConfig& config, Totals& totals)
      : seed_(seed),
        ops_(test::PlanOperations(seed, config.ops)),
        races_(config.races),
        totals_(totals) {}
  void TestBody() override {}

  // Opens the world and applies the workflows; false on a fatal failure.
  bool Begin();
  // Runs the plan, then finishes every run.
  void Run();
  // The process goes away; requests still in flight never answer.
  void End();

  std::string Journal() const {
    std::ostringstream out;
    for (const std::string& line : journal_) {
      out << "  " << line << "\n";
    }
    return out.str();
  }

 private:
  void Do(size_t index, const SimOp& op);
  void DoStart(size_t index, const SimOp& op);
  void DoControl(const SimOp& op);
  void DoComplete(const SimOp& op);
  void DoEvent(const SimOp& op);
  void DoReplay(const SimOp& op);
  void DoCrash();
  void Finish();

  // The run an operation aims at, or "" when there is none: three times in four among
  // the runs it `fits` (as the last look saw them), when there are some.
  std::string PickRun(uint64_t pick, const std::function<bool(const RunRecord&)>& fits) const;
  Result<RunRecord> SendControl(const std::string& run_id, RunAction action,
                                SimPrecondition precondition);
  void CheckControlAnswer(const RunRecord& before, const ControlRequest& request,
                          const Result<RunRecord>& answer);
  void Answer(size_t call, SimAnswer answer, SimRace race = SimRace::kNone);
  // Sends the control `race` asks for to the run at once, or crashes, while the engine
  // still works on what the operation started; true when a control was acknowledged or
  // the crash came.
  bool Race(const std::string& run_id, SimRace race);
  void RaceAcknowledged(const std::string& run_id, RunAction action, const RunRecord& answer,
                        const std::string& what);
  // What the model was told was acknowledged still holds for the run as `now` shows it.
  void CheckAcknowledged(RunModel& m, const RunRecord& now, const Look& look,
                         const std::string& id);
  // The requests held at the last look, in the order of their runs' names: two runs that
  // sent theirs in either order (threads) are picked from alike.
  std::vector<size_t> HeldRequests() const;

  // Waits until the engine is quiescent, then checks everything against the model.
  void QuiesceAndCheck();
  Look LookNow();
  bool Quiescent(const Look& look, std::string& busy);
  bool TimerActs(const TimerRecord& timer, const Look& look) const;
  void Check(const Look& look);
  void CheckRun(RunModel& m, const RunRecord& now, const Look& look);
  void CheckEndedRunStays(const RunRecord& before, const RunRecord& now, const std::string& id);
  void CheckMoves(const RunModel& m, const RunRecord& now, const Look& look, const std::string& id);
  void CheckSteps(RunModel& m, const RunRecord& now, const Look& look);
  void CheckCompletedRow(const RunRecord& run, const StepRecord& row, const Look& look);
  void CheckAnswered(const Look& look);
  void CheckCancelledTrees(const Look& look);
  std::string Dump(const Look& look) const;
  // A run's name in the journal: r<k>, its place among the runs as first seen, which a
  // replay of the seed gives it again (its id differs).
  std::string Name(const std::string& run_id) const;

  const uint64_t seed_;
  const std::vector<SimOp> ops_;
  const bool races_;
  Totals& totals_;
  std::vector<std::string> journal_;
  std::vector<std::string> workflows_;
  std::vector<std::string> order_;  // runs as first seen: what picks choose among
  std::map<std::string, RunModel> models_;
  Look last_;
  std::map<size_t, SimAnswer> answers_;  // call -> how the simulation answered it
  std::vector<Answered> answered_now_;
  std::vector<std::string> cancelled_now_;  // runs whose cancel was acknowledged since
  std::map<int, std::string> events_;       // payload n -> the run it was sent to
  std::map<std::string, int> taken_now_;    // run -> n of an event its wait took
  std::set<int> consumed_;                  // payloads a wait completed with
  int next_event_ = 1;
};

bool SimWorld::Begin() {
  SetUp();
  if (HasFatalFailure()) {
    return false;
  }
  for (const auto& [id, body] : SimWorkflows()) {
    json with_kind = body;
    with_kind["kind"] = "workflow";
    Result<PutWorkflowResult> applied = control_->ApplyWorkflow(ctx_, id, with_kind);
    EXPECT_TRUE(applied.ok()) << id << ": " << applied.status().message() << " "
                              << applied.status().reason();
    workflows_.push_back(id);
  }
  return !HasFailure();
}

void SimWorld::End() {
  control_.reset();
  if (engine_) {
    engine_->Stop();
  }
  http_.AbandonInFlight();
  TearDown();
}

void SimWorld::Run() {
  QuiesceAndCheck();
  for (size_t i = 0; i < ops_.size() && !HasFailure(); ++i) {
    journal_.push_back("op " + std::to_string(i) + ": " + test::Describe(ops_[i]));
    http_.set_ignore_cancel(ops_[i].late_cancel);
    Do(i, ops_[i]);
    if (HasFatalFailure()) {
      return;
    }
    QuiesceAndCheck();
    http_.set_ignore_cancel(false);
    ++totals_.ops;
  }
  if (!HasFailure()) {
    journal_.push_back("finish: answer, resume, move time far");
    Finish();
  }
  totals_.requests += http_.size();
  totals_.runs += static_cast<int>(models_.size());
}

void SimWorld::Do(size_t index, const SimOp& op) {
  switch (op.kind) {
    case SimOpKind::kStart:
      DoStart(index, op);
      return;
    case SimOpKind::kPause:
    case SimOpKind::kResume:
    case SimOpKind::kCancel:
      DoControl(op);
      return;
    case SimOpKind::kComplete:
      DoComplete(op);
      return;
    case SimOpKind::kAdvance:
      clock_.Advance(op.advance_ms);
      engine_->PokeTimers();
      return;
    case SimOpKind::kEvent:
      DoEvent(op);
      return;
    case SimOpKind::kReplay:
      DoReplay(op);
      return;
    case SimOpKind::kCrash:
      DoCrash();
      return;
  }
}

void SimWorld::DoStart(size_t index, const SimOp& op) {
  const std::string& workflow = workflows_[op.pick % workflows_.size()];
  Result<CreateRunResult> created = TryStart(workflow, json{{"op", index}});
  ASSERT_TRUE(created.ok()) << created.status().message();
  order_.push_back(created->run.id);
  journal_.back() += " -> " + workflow + " " + Name(created->run.id);
  Race(created->run.id, op.race);
}

bool SimWorld::Race(const std::string& run_id, SimRace race) {
  if (!races_ || race == SimRace::kNone) {
    return false;
  }
  if (race == SimRace::kCrash) {
    journal_.back() += ", raced by a crash";
    ++totals_.races;
    DoCrash();
    return true;
  }
  const RunAction action = race == SimRace::kPause    ? RunAction::kPause
                           : race == SimRace::kResume ? RunAction::kResume
                                                      : RunAction::kCancel;
  ControlRequest request;
  request.action = action;
  Result<RunRecord> answer = control_->Control(ctx_, run_id, request);
  journal_.back() += ", raced by " + std::string(ToString(action)) + ": " +
                     (answer.ok() ? "ok" : answer.status().reason());
  ++totals_.races;
  const std::string what = "a racing " + std::string(ToString(action)) + " of " + run_id;
  if (!answer.ok()) {
    ++totals_.controls_refused;
    EXPECT_EQ(answer.status().reason(), "invalid_transition") << what;
    return false;
  }
  ++totals_.controls_ok;
  RaceAcknowledged(run_id, action, *answer, what);
  return true;
}

// Nothing tells which status the run had at the write: only that the answer is one the
// table allows for some status the run can be in meanwhile.
void SimWorld::RaceAcknowledged(const std::string& run_id, RunAction action,
                                const RunRecord& answer, const std::string& what) {
  RunModel& m = models_[run_id];
  m.raced_now = true;
  switch (action) {
    case RunAction::kPause:
      EXPECT_EQ(answer.status, RunStatus::kPaused) << what;
      EXPECT_TRUE(answer.paused_from == RunStatus::kPending ||
                  answer.paused_from == RunStatus::kRunning ||
                  answer.paused_from == RunStatus::kWaiting)
          << what << " paused it from " << ToString(answer.paused_from);
      m.pause_acked = true;
      m.paused_now = true;
      return;
    case RunAction::kResume:
      EXPECT_TRUE(answer.status == RunStatus::kPending || answer.status == RunStatus::kRunning ||
                  answer.status == RunStatus::kWaiting)
          << what << " resumed it to " << ToString(answer.status);
      m.pause_acked = false;
      m.resumed_now = true;
      return;
    case RunAction::kCancel:
      EXPECT_EQ(answer.status, RunStatus::kCancelled) << what;
      m.pause_acked = false;
      m.cancel_acked = true;
      m.cancelled_now = true;
      cancelled_now_.push_back(run_id);
      return;
  }
}

std::string SimWorld::PickRun(uint64_t pick,
                              const std::function<bool(const RunRecord&)>& fits) const {
  std::vector<std::string> fitting;
  for (const std::string& id : order_) {
    if (fits(models_.at(id).last)) {
      fitting.push_back(id);
    }
  }
  const std::vector<std::string>& from =
      (pick >> 40) % 4 != 0 && !fitting.empty() ? fitting : order_;
  return from.empty() ? "" : from[pick % from.size()];
}

void SimWorld::DoControl(const SimOp& op) {
  const RunAction action = op.kind == SimOpKind::kPause    ? RunAction::kPause
                           : op.kind == SimOpKind::kResume ? RunAction::kResume
                                                           : RunAction::kCancel;
  const std::string run_id = PickRun(op.pick, [action](const RunRecord& run) {
    return ControlLeadsTo(action, run).has_value() && run.status != RunStatus::kCancelled;
  });
  if (run_id.empty()) {
    journal_.back() += " -> no run";
    return;
  }
  SendControl(run_id, action, op.precondition);
}

Result<RunRecord> SimWorld::SendControl(const std::string& run_id, RunAction action,
                                        SimPrecondition precondition) {
  RunModel& m = models_.at(run_id);
  const RunRecord& before = m.last;
  ControlRequest request;
  request.action = action;
  switch (precondition) {
    case SimPrecondition::kNone:
      break;
    case SimPrecondition::kVersion:
      request.expected_version = before.version;
      break;
    case SimPrecondition::kStaleVersion:
      request.expected_version = before.version - 1;
      break;
    case SimPrecondition::kStatus:
      request.expected_status = before.status;
      break;
    case SimPrecondition::kWrongStatus:
      request.expected_status =
          kAllRunStatuses[(static_cast<int>(before.status) + 1) % std::size(kAllRunStatuses)];
      break;
  }
  Result<RunRecord> answer = control_->Control(ctx_, run_id, request);
  journal_.back() +=
      " -> " + Name(run_id) + " (" + std::string(ToString(before.status)) + " v" +
      std::to_string(before.version) + "): " +
      (answer.ok() ? "ok " + std::string(ToString(answer->status)) : answer.status().reason());
  CheckControlAnswer(before, request, answer);
  if (answer.ok()) {
    ++totals_.controls_ok;
    m.pause_acked = action == RunAction::kPause;  // a resume or a cancel ends it
    m.paused_now = m.paused_now || action == RunAction::kPause;
    m.resumed_now = m.resumed_now || action == RunAction::kResume;
    if (action == RunAction::kCancel) {
      m.cancel_acked = true;
      m.cancelled_now = true;
      cancelled_now_.push_back(run_id);
    }
  } else if (answer.status().reason() == "state_changed") {
    ++totals_.controls_state_changed;
  } else {
    ++totals_.controls_refused;
  }
  return answer;
}

// The answer the table and the precondition predict for the run as the last quiescent
// look saw it: nothing moves a quiescent run but the operation itself.
void SimWorld::CheckControlAnswer(const RunRecord& before, const ControlRequest& request,
                                  const Result<RunRecord>& answer) {
  const std::string what = std::string(ToString(request.action)) + " of " + before.id + " (" +
                           std::string(ToString(before.status)) + " v" +
                           std::to_string(before.version) + ")";
  if ((request.expected_version && *request.expected_version != before.version) ||
      (request.expected_status && *request.expected_status != before.status)) {
    ASSERT_FALSE(answer.ok()) << what << " with a precondition that does not hold was answered ok";
    EXPECT_EQ(answer.status().code(), StatusCode::kAborted) << what;
    EXPECT_EQ(answer.status().reason(), "state_changed") << what;
    const Status refused = answer.status();  // status() answers a copy
    EXPECT_TRUE(refused.detail().run_changed) << what;
    EXPECT_EQ(refused.detail().current_status, before.status) << what;
    EXPECT_EQ(refused.detail().version, before.version) << what;
    return;
  }
  const std::optional<RunStatus> next = ControlLeadsTo(request.action, before);
  if (!next) {
    ASSERT_FALSE(answer.ok()) << what << " was answered ok; the table refuses it";
    EXPECT_EQ(answer.status().reason(), "invalid_transition") << what;
    return;
  }
  ASSERT_TRUE(answer.ok()) << what << ": " << answer.status().message();
  const bool noop = request.action == RunAction::kCancel && before.status == RunStatus::kCancelled;
  const int64_t written = before.version + (noop ? 0 : 1);
  // The run as written; or, when the store's writer was busy, as read just after the
  // write (SqlStore::UpdateRun), which a resumed run may have moved on from already.
  EXPECT_GE(answer->version, written) << what;
  if (answer->version == written || request.action != RunAction::kResume) {
    EXPECT_EQ(answer->status, *next) << what;
  } else {
    ++totals_.answers_read_later;
  }
  if (request.action == RunAction::kPause) {
    EXPECT_EQ(answer->paused_from, before.status) << what;
  }
  // What was acknowledged is in the store at once.
  Result<RunRecord> stored = store_->GetRun(before.id, false);
  ASSERT_TRUE(stored.ok());
  EXPECT_GE(stored->version, answer->version) << what;
  if (request.action != RunAction::kResume) {
    EXPECT_EQ(stored->status, *next) << what << ": the store shows another status";
  }
}

std::vector<size_t> SimWorld::HeldRequests() const {
  std::vector<std::pair<size_t, size_t>> held;  // (its run's place, request)
  for (size_t i = 0; i < last_.calls.size(); ++i) {
    if (!last_.calls[i].completed) {
      const std::string run_id = OwnerOf(last_.calls[i].request.url).run_id;
      held.emplace_back(std::find(order_.begin(), order_.end(), run_id) - order_.begin(), i);
    }
  }
  std::sort(held.begin(), held.end());
  std::vector<size_t> requests;
  for (const auto& [place, request] : held) {
    requests.push_back(request);
  }
  return requests;
}

void SimWorld::DoComplete(const SimOp& op) {
  const std::vector<size_t> held = HeldRequests();
  if (held.empty()) {
    journal_.back() += " -> nothing held";
    return;
  }
  Answer(held[op.pick % held.size()], op.answer, op.race);
}

void SimWorld::Answer(size_t call, SimAnswer answer, SimRace race) {
  const CallOwner owner = OwnerOf(last_.calls[call].request.url);
  const RunStatus was = models_.at(owner.run_id).last.status;
  journal_.back() += " -> the request of " + Name(owner.run_id) + "/" + owner.path + " (run " +
                     std::string(ToString(was)) + ")";
  const std::string body = json{{"call", call}}.dump();
  Result<HttpResponse> response =
      answer == SimAnswer::kOk ? Result<HttpResponse>(FakeHttpClient::JsonResponse(200, body))
      : answer == SimAnswer::kServerError
          ? Result<HttpResponse>(FakeHttpClient::JsonResponse(500, body))
          : Result<HttpResponse>(
                Status(StatusCode::kUnavailable, "connection refused", "connection_error"));
  answers_[call] = answer;
  answered_now_.push_back(Answered{call, owner, answer, was});
  ++totals_.answers;
  EXPECT_TRUE(http_.Complete(call, std::move(response))) << "request " << call << " was not held";
  if (Race(owner.run_id, race)) {
    answered_now_.back().raced_by = race;
  }
}

void SimWorld::DoEvent(const SimOp& op) {
  const std::string run_id = PickRun(op.pick, [](const RunRecord& run) {
    return run.status == RunStatus::kWaiting && WaitKindOf(run) == WaitKind::kEvent;
  });
  if (run_id.empty()) {
    journal_.back() += " -> no run";
    return;
  }
  const RunRecord& before = models_.at(run_id).last;
  const std::string type = op.other_event ? "other" : kEventType;
  const int n = next_event_++;
  Result<bool> sent = control_->SendEvent(ctx_, run_id, type, json{{"n", n}});
  journal_.back() += " -> " + Name(run_id) + " (" + std::string(ToString(before.status)) +
                     "): " + (sent.ok() ? (*sent ? "taken" : "buffered") : sent.status().reason());
  if (IsTerminal(before.status)) {
    ASSERT_FALSE(sent.ok()) << "an event to an ended run was accepted";
    EXPECT_EQ(sent.status().reason(), "invalid_transition");
    return;
  }
  ASSERT_TRUE(sent.ok()) << sent.status().message();
  const bool takes = WaitKindOf(before) == WaitKind::kEvent &&
                     before.status == RunStatus::kWaiting &&
                     before.wait.value("event_type", "") == type;
  EXPECT_EQ(*sent, takes) << "event " << type << " to " << run_id << " waiting for "
                          << before.wait.dump();
  if (*sent) {
    ++totals_.events_taken;
  } else {
    ++totals_.events_buffered;
  }
  if (type == kEventType) {
    events_[n] = run_id;
    if (*sent) {
      taken_now_[run_id] = n;
    }
  }
}

// A replay is a new run; the ended run it replays does not change.
void SimWorld::DoReplay(const SimOp& op) {
  const std::string run_id =
      PickRun(op.pick, [](const RunRecord& run) { return IsTerminal(run.status); });
  if (run_id.empty()) {
    journal_.back() += " -> no run";
    return;
  }
  const RunRecord& before = models_.at(run_id).last;
  Result<RunRecord> replay = control_->Replay(ctx_, run_id);
  journal_.back() += " -> " + Name(run_id) + " (" + std::string(ToString(before.status)) +
                     "): " + (replay.ok() ? "a new run" : replay.status().reason());
  if (!IsTerminal(before.status)) {
    ASSERT_FALSE(replay.ok()) << "a replay of " << run_id << ", which has not ended, was accepted";
    EXPECT_EQ(replay.status().reason(), "invalid_transition");
    return;
  }
  ASSERT_TRUE(replay.ok()) << replay.status().message();
  EXPECT_NE(replay->id, run_id);
  EXPECT_EQ(replay->replay_of, run_id);
  EXPECT_EQ(replay->workflow_id, before.workflow_id);
  EXPECT_EQ(replay->input, before.input);
  order_.push_back(replay->id);
}

void SimWorld::DoCrash() {
  // The process stops as `serve` does; a request whose cancel was ignored never answers.
  http_.set_ignore_cancel(false);
  totals_.in_flight_at_crash += last_.RunsHoldingACall().size();
  control_.reset();
  engine_->Stop();
  http_.AbandonInFlight();
  store_.reset();
  engine_.reset();
  Open();
  ++totals_.crashes;
}

// Every run must end: requests answered, paused runs resumed, events sent to waits
// without a timeout, time moved far.
void SimWorld::Finish() {
  for (int round = 0; round < kMaxDrainRounds && !HasFailure(); ++round) {
    bool all_ended = true;
    for (const auto& [id, m] : models_) {
      all_ended = all_ended && IsTerminal(m.last.status);
    }
    if (all_ended) {
      return;
    }
    // A copy: a look between two resumes may find new child runs.
    const std::vector<std::string> runs = order_;
    for (const std::string& id : runs) {
      if (models_.at(id).last.status == RunStatus::kPaused && !HasFailure()) {
        // One at a time: what a resume starts does not race the next one's answer.
        SendControl(id, RunAction::kResume, SimPrecondition::kNone);
        QuiesceAndCheck();
      }
    }
    QuiesceAndCheck();
    for (int pass = 0; pass < kMaxAnswerPasses && !HasFailure(); ++pass) {
      const std::vector<size_t> held = HeldRequests();
      if (held.empty()) {
        break;
      }
      for (size_t call : held) {
        Answer(call, SimAnswer::kOk);
      }
      QuiesceAndCheck();
    }
    for (const std::string& id : std::vector<std::string>(order_)) {
      const RunRecord& run = models_.at(id).last;
      if (run.status == RunStatus::kWaiting && WaitKindOf(run) == WaitKind::kEvent) {
        const int n = next_event_++;
        Result<bool> sent = control_->SendEvent(ctx_, id, kEventType, json{{"n", n}});
        EXPECT_TRUE(sent.ok() && *sent) << "the wait of " << id << " did not take its event";
        events_[n] = id;
        taken_now_[id] = n;
      }
    }
    QuiesceAndCheck();
    clock_.Advance(kDay);
    engine_->PokeTimers();
    QuiesceAndCheck();
  }
  for (const auto& [id, m] : models_) {
    EXPECT_TRUE(IsTerminal(m.last.status))
        << id << " is still " << ToString(m.last.status) << " after everything was answered, "
        << "resumed and time moved far (a stuck run)\n"
        << Dump(last_);
  }
}

Look SimWorld::LookNow() {
  Look look;
  look.active = engine_->ActiveRuns();
  const size_t n = http_.size();
  look.calls.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    look.calls.push_back(http_.call(i));
  }
  for (RunStatus status : kAllRunStatuses) {
    Result<std::vector<std::string>> ids = store_->ListRunIdsByStatus(status);
    if (!ids.ok()) {
      look.busy = "cannot list runs: " + ids.status().message();
      return look;
    }
    for (const std::string& id : *ids) {
      Result<RunRecord> run = store_->GetRun(id, /*with_steps=*/true);
      if (run.ok()) {
        look.runs[id] = std::move(run).value();
      }
    }
  }
  look.quiescent = Quiescent(look, look.busy);
  return look;
}

// Quiescent: every run the engine holds waits for a request the simulation holds, every
// pending or running run is such a run, and no stored timer that is due would change its
// run. Nothing then moves until the next operation.
bool SimWorld::Quiescent(const Look& look, std::string& busy) {
  const std::set<std::string> held = look.RunsHoldingACall();
  if (look.active != held.size()) {
    busy = std::to_string(look.active) + " runs active, " + std::to_string(held.size()) +
           " hold a request";
    return false;
  }
  for (const auto& [id, run] : look.runs) {
    if ((run.status == RunStatus::kPending || run.status == RunStatus::kRunning) &&
        !held.contains(id)) {
      busy = id + " is " + std::string(ToString(run.status)) + " with no request in flight";
      return false;
    }
  }
  Result<std::vector<TimerRecord>> due = store_->DueTimers(clock_.NowMs() + 1, 1000);
  if (!due.ok()) {
    busy = "cannot read timers: " + due.status().message();
    return false;
  }
  for (const TimerRecord& timer : *due) {
    if (TimerActs(timer, look)) {
      busy = "a due " + std::string(ToString(timer.kind)) + " timer of " + timer.run_id;
      return false;
    }
  }
  return true;
}

bool SimWorld::TimerActs(const TimerRecord& timer, const Look& look) const {
  auto it = look.runs.find(timer.run_id);
  if (it == look.runs.end()) {
    return true;  // a run not read yet: look again
  }
  const RunRecord& run = it->second;
  if (timer.kind == TimerKind::kRunTimeout) {
    return !IsTerminal(run.status);
  }
  const bool same_step = run.wait.is_object() && run.wait.value("path", "") == timer.path;
  return DecideTimer(timer.kind, run.status, WaitKindOf(run), same_step) != TimerEffect::kNone;
}

bool SameLook(const Look& a, const Look& b) {
  if (a.active != b.active || a.calls.size() != b.calls.size() || a.runs.size() != b.runs.size()) {
    return false;
  }
  for (size_t i = 0; i < a.calls.size(); ++i) {
    if (a.calls[i].completed != b.calls[i].completed) {
      return false;
    }
  }
  for (auto ia = a.runs.begin(), ib = b.runs.begin(); ia != a.runs.end(); ++ia, ++ib) {
    if (ia->first != ib->first || ia->second.version != ib->second.version) {
      return false;
    }
  }
  return true;
}

void SimWorld::QuiesceAndCheck() {
  // Quiescent twice in a row with nothing changed between: no commit was on its way.
  std::optional<Look> previous;
  std::string busy;
  const bool settled = test::WaitUntil(
      [&] {
        Look now = LookNow();
        ++totals_.looks;
        if (!now.quiescent) {
          busy = now.busy;
          previous.reset();
          return false;
        }
        const bool same = previous && SameLook(*previous, now);
        previous = std::move(now);
        return same;
      },
      kQuiesceLimit);
  if (!settled) {
    ADD_FAILURE() << "not quiescent after " << kQuiesceLimit.count()
                  << " ms (a stuck run?): " << busy << "\n"
                  << Dump(LookNow());
    return;
  }
  Check(*previous);
  last_ = std::move(*previous);
}

void SimWorld::Check(const Look& look) {
  for (const auto& [id, m] : models_) {
    EXPECT_TRUE(look.runs.contains(id)) << "run " << id << " is gone from the store";
  }
  // New children join the picks as they are seen, by their parent's place and step (not
  // by id: two parents' threads may make their children in either order).
  std::vector<std::tuple<size_t, std::string, std::string>> children;
  for (const auto& [id, run] : look.runs) {
    if (!models_.contains(id) && std::find(order_.begin(), order_.end(), id) == order_.end()) {
      const size_t parent =
          std::find(order_.begin(), order_.end(), run.parent_run_id) - order_.begin();
      children.emplace_back(parent, run.parent_path, id);
    }
  }
  std::sort(children.begin(), children.end());
  for (const auto& [parent, path, id] : children) {
    order_.push_back(id);
  }
  for (const auto& [id, run] : look.runs) {
    RunModel& m = models_[id];
    if (m.last.id.empty()) {
      // First seen (a racing control may have been acknowledged already).
      m.last = run;
      CheckAcknowledged(m, run, look, id);
      CheckSteps(m, run, look);
      m.calls = look.CallsFor(id);
      continue;
    }
    CheckRun(m, run, look);
  }
  CheckAnswered(look);
  CheckCancelledTrees(look);
  for (auto& [id, m] : models_) {
    if (auto run = look.runs.find(id); run != look.runs.end()) {
      m.last = run->second;
    }
    m.paused_now = m.resumed_now = m.cancelled_now = m.raced_now = false;
  }
  answered_now_.clear();
  cancelled_now_.clear();
  taken_now_.clear();
}

void SimWorld::CheckRun(RunModel& m, const RunRecord& now, const Look& look) {
  const RunRecord& before = m.last;
  const std::string id =
      now.id + " (" + std::string(ToString(before.status)) + " v" + std::to_string(before.version) +
      " -> " + std::string(ToString(now.status)) + " v" + std::to_string(now.version) + ")";
  const size_t calls = look.CallsFor(now.id);
  EXPECT_GE(now.version, before.version) << id << ": the version went back";
  if (now.status != before.status) {
    EXPECT_GT(now.version, before.version) << id << ": the status changed, the version did not";
  }
  if (IsTerminal(before.status)) {
    EXPECT_EQ(calls, m.calls) << id << ": an ended run sent a request";
    CheckEndedRunStays(before, now, id);
  }
  CheckMoves(m, now, look, id);
  if (before.status == RunStatus::kPaused && now.status == RunStatus::kPaused && !m.resumed_now) {
    EXPECT_EQ(calls, m.calls) << id << ": a paused run sent a request";
    EXPECT_EQ(now.steps.size(), before.steps.size()) << id << ": a paused run started a step";
  }
  CheckAcknowledged(m, now, look, id);
  CheckSteps(m, now, look);
  m.calls = calls;
}

// An ended run never changes again (a replay is a new run), but for a late result marked
// discarded.
void SimWorld::CheckEndedRunStays(const RunRecord& before, const RunRecord& now,
                                  const std::string& id) {
  EXPECT_EQ(now.status, before.status) << id << ": an ended run changed";
  EXPECT_EQ(now.output, before.output) << id;
  EXPECT_EQ(now.error, before.error) << id;
  EXPECT_EQ(now.finished_at, before.finished_at) << id;
  ASSERT_EQ(now.steps.size(), before.steps.size()) << id << ": an ended run gained a step";
  for (size_t i = 0; i < now.steps.size(); ++i) {
    const StepRecord& a = before.steps[i];
    const StepRecord& b = now.steps[i];
    EXPECT_TRUE(a.path == b.path && a.status == b.status && a.output == b.output &&
                a.error == b.error && a.attempt == b.attempt)
        << id << ": step " << a.path << " of an ended run changed";
    EXPECT_TRUE(b.result_discarded || !a.result_discarded) << id << "/" << a.path;
  }
}

// The moves the state machine allows between two looks, given what was acknowledged in
// between: the engine itself never pauses a run (no connection here needs reauth), never
// takes one back to pending, and leaves paused only by a resume, a cancel or a timeout.
void SimWorld::CheckMoves(const RunModel& m, const RunRecord& now, const Look& look,
                          const std::string& id) {
  const RunRecord& before = m.last;
  if (now.status == RunStatus::kPending && before.status != RunStatus::kPending) {
    EXPECT_TRUE(before.status == RunStatus::kPaused && before.paused_from == RunStatus::kPending &&
                m.resumed_now)
        << id << ": back to pending";
  }
  if (now.status == RunStatus::kPaused && before.status != RunStatus::kPaused) {
    EXPECT_TRUE(m.paused_now) << id << ": paused, but no pause was acknowledged";
    if (!m.raced_now) {
      EXPECT_EQ(now.paused_from, before.status) << id;
    }
  }
  if (before.status == RunStatus::kPaused && now.status != RunStatus::kPaused) {
    EXPECT_TRUE(m.resumed_now || m.cancelled_now || CancelledWithItsParent(now, look.runs) ||
                TimedOut(now))
        << id << ": left paused without a resume, a cancel or its timeout";
  }
  if (now.status == RunStatus::kCancelled && before.status != RunStatus::kCancelled) {
    EXPECT_TRUE(m.cancelled_now || CancelledWithItsParent(now, look.runs))
        << id << ": cancelled by nobody";
  }
}

void SimWorld::CheckAcknowledged(RunModel& m, const RunRecord& now, const Look& look,
                                 const std::string& id) {
  if (m.cancel_acked) {
    EXPECT_EQ(now.status, RunStatus::kCancelled) << id << ": an acknowledged cancel is lost";
  }
  if (m.pause_acked && now.status != RunStatus::kPaused) {
    // Only its parent's cancel or its own timeout ends a pause nobody resumed.
    EXPECT_TRUE(CancelledWithItsParent(now, look.runs) || TimedOut(now))
        << id << ": an acknowledged pause is lost";
    m.pause_acked = false;
  }
}

// A step recorded completed stays so, with its output, and never runs again; a completed
// request step holds the answer of its last request, which the simulation gave 200.
void SimWorld::CheckSteps(RunModel& m, const RunRecord& now, const Look& look) {
  for (const auto& [path, row] : m.completed) {
    const StepRecord* still = FindStep(now, path);
    ASSERT_NE(still, nullptr) << now.id << "/" << path << ": a completed step row is gone";
    EXPECT_EQ(still->status, StepStatus::kCompleted) << now.id << "/" << path;
    EXPECT_EQ(still->output, row.output) << now.id << "/" << path;
    EXPECT_EQ(still->attempt, row.attempt) << now.id << "/" << path;
    EXPECT_EQ(look.CallsFor(now.id, path), m.calls_when_completed[path])
        << now.id << "/" << path << ": a completed step ran again";
  }
  for (const StepRecord& row : now.steps) {
    if (row.status != StepStatus::kCompleted || m.completed.contains(row.path)) {
      continue;
    }
    m.completed[row.path] = row;
    m.calls_when_completed[row.path] = look.CallsFor(now.id, row.path);
    CheckCompletedRow(now, row, look);
  }
}

void SimWorld::CheckCompletedRow(const RunRecord& run, const StepRecord& row, const Look& look) {
  const std::string where = run.id + "/" + row.path;
  if (row.type == "wait_for_event") {
    const json payload_n = At(At(row.output, "payload"), "n");
    const int n = payload_n.is_number_integer() ? payload_n.get<int>() : 0;
    auto sent = events_.find(n);
    EXPECT_TRUE(sent != events_.end() && sent->second == run.id)
        << where << " completed with an event not sent to it: " << row.output.dump();
    EXPECT_TRUE(consumed_.insert(n).second) << where << ": event " << n << " taken twice";
    return;
  }
  if (row.type != "http") {
    return;
  }
  const json call = CallIn(row);
  ASSERT_TRUE(call.is_number_integer()) << where << ": " << row.output.dump();
  const size_t k = call.get<size_t>();
  ASSERT_LT(k, look.calls.size()) << where;
  EXPECT_EQ(OwnerOf(look.calls[k].request.url), (CallOwner{run.id, row.path}))
      << where << " holds the answer of request " << k << " to " << look.calls[k].request.url;
  auto answered = answers_.find(k);
  EXPECT_TRUE(answered != answers_.end() && answered->second == SimAnswer::kOk)
      << where << " completed with request " << k << ", which was not answered 200";
  for (size_t later = k + 1; later < look.calls.size(); ++later) {
    EXPECT_NE(OwnerOf(look.calls[later].request.url), (CallOwner{run.id, row.path}))
        << where << " completed with request " << k << " but request " << later
        << " ran it again after";
  }
}

// A result that arrives after its run ended is discarded and marked so; one that
// arrives while its run is paused is kept.
void SimWorld::CheckAnswered(const Look& look) {
  for (const Answered& a : answered_now_) {
    const std::string where =
        a.owner.run_id + "/" + a.owner.path + " (request " + std::to_string(a.call) + ")";
    auto run = look.runs.find(a.owner.run_id);
    ASSERT_NE(run, look.runs.end()) << where;
    const StepRecord* row = FindStep(run->second, a.owner.path);
    ASSERT_NE(row, nullptr) << where << ": no step row";
    const bool applied = row->status == StepStatus::kCompleted && CallIn(*row) == a.call;
    if (IsTerminal(a.run_was)) {
      EXPECT_FALSE(applied) << where << ": a late result was applied";
      // A crash racing it may stop the process before the mark's commit.
      if (a.raced_by != SimRace::kCrash) {
        EXPECT_TRUE(row->result_discarded) << where << ": a late result is not marked discarded";
        ++totals_.late_discarded;
      }
      continue;
    }
    if (a.raced_by == SimRace::kCrash) {
      // The result's commit may or may not have landed before the process stopped: the
      // step is complete with it, or runs again (CheckSteps holds either way).
      continue;
    }
    if (a.raced_by == SimRace::kCancel) {
      // The result's commit or the cancel came first: applied, or discarded and marked.
      EXPECT_TRUE(a.answer != SimAnswer::kOk || applied ||
                  (row->status != StepStatus::kCompleted && row->result_discarded))
          << where << ": a 200 raced by a cancel is neither the step's result nor discarded ("
          << ToString(row->status) << ")";
      continue;
    }
    if (a.answer == SimAnswer::kOk) {
      EXPECT_TRUE(applied) << where << ": a 200 to a " << ToString(a.run_was)
                           << " run is not its step's result (" << ToString(row->status) << ")";
      totals_.kept_while_paused += a.run_was == RunStatus::kPaused ? 1 : 0;
    } else {
      EXPECT_NE(row->status, StepStatus::kCompleted) << where << ": a failure completed the step";
    }
  }
  for (const auto& [run_id, n] : taken_now_) {
    auto run = look.runs.find(run_id);
    ASSERT_NE(run, look.runs.end());
    const RunRecord& before = models_.at(run_id).last;
    const StepRecord* row = FindStep(run->second, before.wait.value("path", ""));
    ASSERT_NE(row, nullptr) << run_id << ": the wait that took event " << n << " has no row";
    EXPECT_EQ(row->status, StepStatus::kCompleted) << run_id;
    EXPECT_EQ(row->output, (json{{"payload", {{"n", n}}}})) << run_id;
  }
}

// A cancel that was acknowledged ended the run's whole tree of child runs.
void SimWorld::CheckCancelledTrees(const Look& look) {
  for (const auto& [id, run] : look.runs) {
    for (std::string up = run.parent_run_id; !up.empty();) {
      if (std::find(cancelled_now_.begin(), cancelled_now_.end(), up) != cancelled_now_.end()) {
        EXPECT_TRUE(IsTerminal(run.status)) << id << " is " << ToString(run.status)
                                            << " after its ancestor " << up << " was cancelled";
        break;
      }
      auto parent = look.runs.find(up);
      up = parent == look.runs.end() ? "" : parent->second.parent_run_id;
    }
  }
}

std::string SimWorld::Name(const std::string& run_id) const {
  auto it = std::find(order_.begin(), order_.end(), run_id);
  return it == order_.end() ? run_id : "r" + std::to_string(it - order_.begin());
}

std::string SimWorld::Dump(const Look& look) const {
  std::ostringstream out;
  out << "engine holds " << look.active << " runs; clock +" << clock_.NowMs() - test::kStartMs
      << " ms\n";
  for (const auto& [id, run] : look.runs) {
    out << "  " << Name(id) << " " << id << " " << run.workflow_id << " " << ToString(run.status)
        << " v" << run.version
        << " wait=" << (run.wait.is_object() ? run.wait.value("kind", "") : "-")
        << " paused_from=" << ToString(run.paused_from) << " parent=" << Name(run.parent_run_id)
        << " steps:";
    for (const StepRecord& s : run.steps) {
      out << " " << s.path << "=" << ToString(s.status) << "#" << s.attempt
          << (s.result_discarded ? "(discarded)" : "");
    }
    out << "\n";
  }
  for (size_t i = 0; i < look.calls.size(); ++i) {
    if (!look.calls[i].completed) {
      const CallOwner owner = OwnerOf(look.calls[i].request.url);
      out << "  held request " << i << ": " << Name(owner.run_id) << "/" << owner.path << "\n";
    }
  }
  return out.str();
}

TEST(SimulationTest, SeededLifecyclesKeepTheirInvariants) {
  spdlog::set_level(spdlog::level::warn);
  const test::SimConfig config = test::ReadSimConfig();
  Totals totals;
  const auto started = std::chrono::steady_clock::now();
  for (uint64_t seed : config.seeds) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SimWorld world(seed, config, totals);
    if (world.Begin()) {
      try {
        world.Run();
      } catch (const std::exception& e) {  // a bug of the simulation: still print the journal
        ADD_FAILURE() << "exception: " << e.what();
      }
    }
    world.End();
    ++totals.seeds;
    if (config.verbose) {
      std::printf("seed %llu:\n%s", static_cast<unsigned long long>(seed), world.Journal().c_str());
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "seed " << seed << " failed; replay it with\n  STEPWELL_SIM_SEED=" << seed
                    << " STEPWELL_SIM_OPS=" << config.ops
                    << " build/tests/simulation_sqlitetest\noperations:\n"
                    << world.Journal();
      break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "simulation: %d seeds, %d operations, %d crashes, %d runs, %zu requests, %d answers; "
      "controls: %d ok (%d resumes answered as the run moved on), %d refused, %d state_changed; %d "
      "controls and crashes raced the engine; %d "
      "late "
      "results discarded, %d kept while "
      "paused, %zu requests in flight at a crash; events: %d taken, %d buffered; %d looks; "
      "%.1f s\n",
      totals.seeds, totals.ops, totals.crashes, totals.runs, totals.requests, totals.answers,
      totals.controls_ok, totals.answers_read_later, totals.controls_refused,
      totals.controls_state_changed, totals.races, totals.late_discarded, totals.kept_while_paused,
      totals.in_flight_at_crash, totals.events_taken, totals.events_buffered, totals.looks,
      seconds);
}

}  // namespace
}  // namespace sw
