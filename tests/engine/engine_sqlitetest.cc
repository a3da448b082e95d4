// The Engine driven through ControlService over a real SqliteStore in a temporary
// directory, with a ManualClock and a FakeHttpClient that the test completes by hand.
// No test waits for time to pass: it moves the clock, pokes the timer service and waits
// for a condition on the store (polled every millisecond, bounded at 5 s).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "control/service.h"
#include "engine/engine.h"
// The fixture and fakes live beside this test (tests/engine/).
#include "engine_fixture.h"

namespace sw {
namespace {

using nlohmann::json;
using test::FakeHttpClient;
using test::FindStep;
using test::Http;
using test::kStartMs;
using test::Noop;
using test::WaitForEvent;
using test::WaitUntil;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;

json Sleep(const std::string& id, const std::string& duration) {
  return {{"id", id}, {"type", "sleep"}, {"with", {{"duration", duration}}}};
}

class EngineTest : public test::EngineFixture {
 protected:
  Result<RunRecord> Control(const std::string& run_id, RunAction action,
                            const std::string& reason = "") {
    ControlRequest request;
    request.action = action;
    request.reason = reason;
    return control_->Control(ctx_, run_id, request);
  }

  void AdvanceAndPoke(int64_t ms) {
    clock_.Advance(ms);
    engine_->PokeTimers();
  }
};

TEST_F(EngineTest, NoopChainCompletesWithTheLastOutput) {
  Apply("chain",
        json::array({Noop("a", json{{"x", 1}}), Noop("b", json{{"sum", "${{ steps.a.output.x }}"},
                                                               {"who", "${{ input.user }}"}})}));
  const std::string id = StartRun("chain", json{{"user", "ann"}});
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  RunRecord run = Run(id);
  EXPECT_EQ(run.output, (json{{"sum", 1}, {"who", "ann"}}));
  EXPECT_EQ(run.started_at, kStartMs);
  EXPECT_EQ(run.finished_at, kStartMs);
  EXPECT_TRUE(run.error.is_null());
  ASSERT_EQ(run.steps.size(), 2u);
  EXPECT_EQ(run.steps[0].path, "a");
  EXPECT_EQ(run.steps[0].seq, 1);
  EXPECT_EQ(run.steps[0].status, StepStatus::kCompleted);
  EXPECT_EQ(run.steps[0].attempt, 1);
  EXPECT_EQ(run.steps[0].output, (json{{"x", 1}}));
  EXPECT_EQ(run.steps[1].path, "b");
  EXPECT_EQ(run.steps[1].seq, 2);
  EXPECT_EQ(run.steps[1].status, StepStatus::kCompleted);
  EXPECT_EQ(http_.size(), 0u);
}

TEST_F(EngineTest, SleepParksOnATimerAndWakesWhenTheClockReachesIt) {
  Apply("nap", json::array({Sleep("s", "10m"), Noop("after", "done")}));
  const std::string id = StartRun("nap");
  ASSERT_TRUE(WaitStatus(id, RunStatus::kWaiting));
  RunRecord run = Run(id);
  EXPECT_EQ(run.wait["kind"], "timer");
  EXPECT_EQ(run.wait["path"], "s");
  ASSERT_EQ(run.steps.size(), 1u);
  EXPECT_EQ(run.steps[0].status, StepStatus::kWaiting);
  Result<std::vector<TimerRecord>> timers = store_->DueTimers(kStartMs + 100 * kHour, 10);
  ASSERT_TRUE(timers.ok());
  ASSERT_EQ(timers->size(), 1u);
  EXPECT_EQ((*timers)[0].run_id, id);
  EXPECT_EQ((*timers)[0].kind, TimerKind::kWake);
  EXPECT_EQ((*timers)[0].due_at, kStartMs + 10 * kMinute);
  ASSERT_TRUE(WaitIdle());  // a parked run leaves memory

  AdvanceAndPoke(10 * kMinute);
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  run = Run(id);
  EXPECT_EQ(run.output, "done");
  EXPECT_TRUE(run.wait.is_null());
  ASSERT_EQ(run.steps.size(), 2u);
  EXPECT_EQ(run.steps[0].status, StepStatus::kCompleted);
  EXPECT_EQ(run.steps[0].finished_at, kStartMs + 10 * kMinute);
  EXPECT_TRUE(store_->DueTimers(kStartMs + 100 * kHour, 10)->empty());
}

TEST_F(EngineTest, SleepIsNotWokenBeforeItIsDue) {
  Apply("long-nap", json::array({Sleep("s", "10m"), Noop("after", "long")}));
  Apply("short-nap", json::array({Sleep("s", "5m"), Noop("after", "short")}));
  const std::string long_id = StartRun("long-nap");
  const std::string short_id = StartRun("short-nap");
  ASSERT_TRUE(WaitStatus(long_id, RunStatus::kWaiting));
  ASSERT_TRUE(WaitStatus(short_id, RunStatus::kWaiting));

  // The short run is the probe: once it woke, the timer service has looked at the
  // timers after the clock moved, and the long one (1 ms short of due) stayed.
  AdvanceAndPoke(10 * kMinute - 1);
  ASSERT_TRUE(WaitStatus(short_id, RunStatus::kCompleted));
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(Run(long_id).status, RunStatus::kWaiting);
  EXPECT_EQ(Run(long_id).steps.at(0).status, StepStatus::kWaiting);
  EXPECT_EQ(engine_->GetTimerLag().count, 1u);
  EXPECT_EQ(store_->DueTimers(kStartMs + 100 * kHour, 10)->size(), 1u);

  AdvanceAndPoke(1);
  ASSERT_TRUE(WaitStatus(long_id, RunStatus::kCompleted));
  EXPECT_EQ(Run(long_id).output, "long");
}

// After a stop (or a jump of the clock) a run's timeout and a later wake-up are due at
// once, and two workers fire them. The run outlived its timeout before its sleep ended,
// so it fails, whichever fire reaches the store first; the wake-up must not let it go on
// to complete. Found by the lifecycle simulation (seed 13 without races read differently
// on two runs); before the fix about one run in eight completed (this test failed in its
// first round 5 times out of 5).
TEST_F(EngineTest, ARunTimeoutDueBeforeAWakeUpWinsWhenBothAreDueAtOnce) {
  constexpr int kRounds = 40;
  const json body = {{"kind", "workflow"},
                     {"timeout", "30m"},
                     {"steps", json::array({Sleep("s", "1h"), Noop("after", 1)})}};
  ASSERT_TRUE(control_->ApplyWorkflow(ctx_, "timed", body).ok());
  for (int i = 0; i < kRounds; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    const std::string id = StartRun("timed");
    ASSERT_TRUE(WaitStatus(id, RunStatus::kWaiting));
    AdvanceAndPoke(61 * kMinute);
    ASSERT_TRUE(WaitUntil([&] { return IsTerminal(Run(id).status); }));
    ASSERT_TRUE(WaitIdle());
    const RunRecord run = Run(id);
    ASSERT_EQ(std::string(ToString(run.status)), "failed");
    EXPECT_EQ(run.error.value("code", ""), "run_timeout") << run.error.dump();
    EXPECT_EQ(run.finished_at, kStartMs + (i + 1) * 61 * kMinute);
  }
}

TEST_F(EngineTest, WaitForEventTimesOutAndFailsTheRun) {
  Apply("approve", json::array({WaitForEvent("w", "approved", "1h"), Noop("after", 1)}));
  const std::string id = StartRun("approve");
  ASSERT_TRUE(WaitStatus(id, RunStatus::kWaiting));
  RunRecord run = Run(id);
  EXPECT_EQ(run.wait["kind"], "event");
  EXPECT_EQ(run.wait["event_type"], "approved");
  Result<std::vector<TimerRecord>> timers = store_->DueTimers(kStartMs + 100 * kHour, 10);
  ASSERT_EQ(timers->size(), 1u);
  EXPECT_EQ((*timers)[0].kind, TimerKind::kEventTimeout);
  EXPECT_EQ((*timers)[0].due_at, kStartMs + kHour);

  AdvanceAndPoke(kHour);
  ASSERT_TRUE(WaitStatus(id, RunStatus::kFailed));
  run = Run(id);
  EXPECT_EQ(run.error["code"], "wait_timeout");
  EXPECT_EQ(run.error["step_id"], "w");
  EXPECT_EQ(run.finished_at, kStartMs + kHour);
  ASSERT_EQ(run.steps.size(), 1u);
  EXPECT_EQ(run.steps[0].status, StepStatus::kFailed);
  EXPECT_EQ(run.steps[0].error["code"], "wait_timeout");
  EXPECT_TRUE(store_->DueTimers(kStartMs + 100 * kHour, 10)->empty());
}

TEST_F(EngineTest, EventSentToAWaitingRunCompletesTheWait) {
  Apply("approve", json::array({WaitForEvent("w", "approved", "1h"),
                                Noop("after", "${{ steps.w.output.payload.ok }}")}));
  const std::string id = StartRun("approve");
  ASSERT_TRUE(WaitStatus(id, RunStatus::kWaiting));
  Result<bool> delivered = control_->SendEvent(ctx_, id, "approved", json{{"ok", true}});
  ASSERT_TRUE(delivered.ok()) << delivered.status().message();
  EXPECT_TRUE(*delivered);
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(Run(id).output, true);
  EXPECT_TRUE(store_->DueTimers(kStartMs + 100 * kHour, 10)->empty());
}

TEST_F(EngineTest, BufferedEventIsConsumedWhenTheWaitStarts) {
  Apply("early", json::array({Sleep("nap", "1m"), WaitForEvent("w", "go", "1h"),
                              Noop("after", "${{ steps.w.output.payload.n }}")}));
  const std::string id = StartRun("early");
  ASSERT_TRUE(WaitStatus(id, RunStatus::kWaiting));
  Result<bool> delivered = control_->SendEvent(ctx_, id, "go", json{{"n", 7}});
  ASSERT_TRUE(delivered.ok()) << delivered.status().message();
  EXPECT_FALSE(*delivered);  // buffered: the run waits on a timer, not this event
  ASSERT_TRUE(store_->FindBufferedEvent(id, "go")->has_value());

  AdvanceAndPoke(kMinute);
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  RunRecord run = Run(id);
  EXPECT_EQ(run.output, 7);
  const StepRecord* w = FindStep(run, "w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->status, StepStatus::kCompleted);
  EXPECT_EQ(w->output, (json{{"payload", {{"n", 7}}}}));
  EXPECT_FALSE(store_->FindBufferedEvent(id, "go")->has_value());
  EXPECT_TRUE(store_->DueTimers(kStartMs + 100 * kHour, 10)->empty());
}

TEST_F(EngineTest, HttpErrorStatusFailsTheRunAndKeepsTheResponse) {
  const std::string url = "https://api.example.test/broken";
  Apply("broken", json::array({Http("call", url), Noop("after", 1)}));
  const std::string id = StartRun("broken");
  std::optional<size_t> req = WaitRequest(url);
  ASSERT_TRUE(req);
  ASSERT_TRUE(http_.Complete(*req, FakeHttpClient::JsonResponse(503, R"({"why":"down"})")));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kFailed));
  RunRecord run = Run(id);
  EXPECT_EQ(run.error["code"], "http_error");
  EXPECT_EQ(run.error["step_id"], "call");
  ASSERT_EQ(run.steps.size(), 1u);
  EXPECT_EQ(run.steps[0].status, StepStatus::kFailed);
  EXPECT_EQ(run.steps[0].output["status"], 503);
  EXPECT_EQ(run.steps[0].output["body"], (json{{"why", "down"}}));
}

TEST_F(EngineTest, PauseWithHttpInFlightKeepsTheResultAndResumeGoesOn) {
  const std::string url = "https://api.example.test/a";
  Apply("pay", json::array({Http("call", url), Noop("next", "${{ steps.call.output.body.ok }}")}));
  const std::string id = StartRun("pay");
  std::optional<size_t> req = WaitRequest(url);
  ASSERT_TRUE(req);
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kRunning);
  ASSERT_EQ(run.steps.size(), 1u);
  EXPECT_EQ(run.steps[0].status, StepStatus::kRunning);

  Result<RunRecord> paused = Control(id, RunAction::kPause);
  ASSERT_TRUE(paused.ok()) << paused.status().message();
  EXPECT_EQ(paused->status, RunStatus::kPaused);
  EXPECT_FALSE(http_.call(*req).cancel_seen);  // a pause lets the step finish

  ASSERT_TRUE(http_.Complete(*req, FakeHttpClient::JsonResponse(200, R"({"ok":true})")));
  ASSERT_TRUE(
      WaitStep(id, "call", [](const StepRecord& s) { return s.status == StepStatus::kCompleted; }));
  ASSERT_TRUE(WaitIdle());
  run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kPaused);
  EXPECT_EQ(run.pause["reason"], "operator");
  ASSERT_EQ(run.steps.size(), 1u);  // `next` did not start
  EXPECT_EQ(run.steps[0].output["status"], 200);
  EXPECT_EQ(run.steps[0].output["body"], (json{{"ok", true}}));
  EXPECT_FALSE(run.steps[0].result_discarded);

  Result<RunRecord> resumed = Control(id, RunAction::kResume);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  run = Run(id);
  EXPECT_EQ(run.output, true);
  EXPECT_EQ(http_.CountFor(url), 1u);
  EXPECT_EQ(FindStep(run, "call")->attempt, 1);
  EXPECT_EQ(FindStep(run, "next")->status, StepStatus::kCompleted);
}

// A result that comes while its run is paused is kept by a second commit (the first,
// expecting `running`, lost to the pause). A resume or a cancel can overtake that second
// commit too; the result must then still stand (resumed: the step is not sent again) or
// be marked discarded (cancelled). Found by the lifecycle simulation (seed 200890). The
// interleaving is the threads': each round sends the control right after the answer, so
// it lands before, between or after the two commits; every round must hold.
TEST_F(EngineTest, AResultKeptDuringAPauseStandsWhenAResumeOrCancelOvertakesIt) {
  constexpr int kRounds = 200;
  Apply("kept", json::array({Http("call", "https://api.example.test/kept/${{ input.i }}"),
                             Noop("next", "${{ steps.call.output.body.round }}")}));
  for (int i = 0; i < kRounds; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    const std::string url = "https://api.example.test/kept/" + std::to_string(i);
    const std::string id = StartRun("kept", json{{"i", i}});
    std::optional<size_t> req = WaitRequest(url);
    ASSERT_TRUE(req);
    ASSERT_TRUE(Control(id, RunAction::kPause).ok());
    ASSERT_TRUE(http_.Complete(*req, FakeHttpClient::JsonResponse(200, json{{"round", i}}.dump())));
    const bool resume = i % 2 == 0;
    ASSERT_TRUE(Control(id, resume ? RunAction::kResume : RunAction::kCancel).ok());
    if (resume) {
      // Completed, or (the bug) the step sent again with its result lost.
      const bool moved = WaitUntil(
          [&] { return Run(id).status == RunStatus::kCompleted || http_.CountFor(url) > 1; });
      ASSERT_TRUE(moved) << "stuck: the run is " << ToString(Run(id).status) << ", "
                         << engine_->ActiveRuns() << " runs active";
      EXPECT_EQ(http_.CountFor(url), 1u) << "the step ran again after its result came";
      ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
      EXPECT_EQ(Run(id).output, i);
      continue;
    }
    ASSERT_TRUE(WaitIdle());
    const RunRecord run = Run(id);
    EXPECT_EQ(run.status, RunStatus::kCancelled);
    const StepRecord* call = FindStep(run, "call");
    ASSERT_NE(call, nullptr);
    EXPECT_TRUE(call->status == StepStatus::kCompleted || call->result_discarded)
        << "the result is neither the step's nor marked discarded: " << ToString(call->status);
  }
}

TEST_F(EngineTest, CancelWithHttpInFlightStopsTheRequestAndTheRun) {
  const std::string url = "https://api.example.test/c";
  Apply("stop", json::array({Http("call", url), Noop("after", 1), Noop("last", 2)}));
  const std::string id = StartRun("stop");
  std::optional<size_t> req = WaitRequest(url);
  ASSERT_TRUE(req);

  Result<RunRecord> cancelled = Control(id, RunAction::kCancel, "changed my mind");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().message();
  EXPECT_EQ(cancelled->status, RunStatus::kCancelled);
  // OnCancelled fires the token synchronously, before Control returns.
  FakeHttpClient::Call call = http_.call(*req);
  EXPECT_TRUE(call.cancel_seen);
  EXPECT_EQ(call.cancel_reason, CancelReason::kUser);
  EXPECT_TRUE(call.completed);

  ASSERT_TRUE(WaitIdle());
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kCancelled);
  EXPECT_EQ(run.cancel["reason"], "changed my mind");
  EXPECT_EQ(run.finished_at, kStartMs);
  ASSERT_EQ(run.steps.size(), 1u);  // later steps never started: they have no row
  EXPECT_EQ(run.steps[0].path, "call");
  EXPECT_EQ(run.steps[0].status, StepStatus::kCancelled);
  EXPECT_EQ(run.steps[0].error["message"], "workflow stopped by user");
  EXPECT_FALSE(run.steps[0].result_discarded);
  EXPECT_EQ(http_.size(), 1u);
}

TEST_F(EngineTest, CancelOfAWaitingRunClearsItsTimer) {
  Apply("nap", json::array({Sleep("s", "10m"), Noop("after", 1)}));
  const std::string id = StartRun("nap");
  ASSERT_TRUE(WaitStatus(id, RunStatus::kWaiting));
  ASSERT_TRUE(Control(id, RunAction::kCancel).ok());
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kCancelled);
  EXPECT_EQ(run.cancel["reason"], ControlService::kDefaultCancelReason);
  EXPECT_EQ(run.steps.at(0).status, StepStatus::kCancelled);
  EXPECT_TRUE(store_->DueTimers(kStartMs + 100 * kHour, 10)->empty());

  AdvanceAndPoke(10 * kMinute);
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(Run(id).status, RunStatus::kCancelled);
  EXPECT_EQ(Run(id).steps.size(), 1u);
}

TEST_F(EngineTest, ResultArrivingAfterCancelIsDiscarded) {
  http_.set_ignore_cancel(true);
  const std::string url = "https://api.example.test/late";
  Apply("late", json::array({Http("call", url), Noop("after", 1)}));
  const std::string id = StartRun("late");
  std::optional<size_t> req = WaitRequest(url);
  ASSERT_TRUE(req);

  ASSERT_TRUE(Control(id, RunAction::kCancel).ok());
  EXPECT_TRUE(http_.call(*req).cancel_seen);
  EXPECT_FALSE(http_.call(*req).completed);

  ASSERT_TRUE(http_.Complete(*req, FakeHttpClient::JsonResponse(200, R"({"late":true})")));
  ASSERT_TRUE(WaitStep(id, "call", [](const StepRecord& s) { return s.result_discarded; }));
  ASSERT_TRUE(WaitIdle());
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kCancelled);
  EXPECT_TRUE(run.output.is_null());
  ASSERT_EQ(run.steps.size(), 1u);
  EXPECT_EQ(run.steps[0].status, StepStatus::kCancelled);
  EXPECT_EQ(run.steps[0].error["message"], "workflow stopped by user");
  EXPECT_TRUE(run.steps[0].output.is_null());  // the late result is not applied
  EXPECT_EQ(http_.size(), 1u);
}

TEST_F(EngineTest, RestartRunsTheInFlightStepAgainAndNotTheCompletedOnes) {
  const std::string url_a = "https://api.example.test/a";
  const std::string url_b = "https://api.example.test/b";
  Apply("two", json::array({Http("a", url_a), Http("b", url_b),
                            Noop("c", "${{ steps.a.output.body.n }}")}));
  const std::string id = StartRun("two");
  std::optional<size_t> req_a = WaitRequest(url_a);
  ASSERT_TRUE(req_a);
  ASSERT_TRUE(http_.Complete(*req_a, FakeHttpClient::JsonResponse(200, R"({"n":5})")));
  std::optional<size_t> req_b = WaitRequest(url_b);
  ASSERT_TRUE(req_b);
  EXPECT_EQ(Run(id).steps.at(1).status, StepStatus::kRunning);

  Close();
  // Shutting down aborted the request in flight.
  EXPECT_EQ(http_.call(*req_b).cancel_reason, CancelReason::kShutdown);
  Open();

  ASSERT_TRUE(WaitUntil([&] { return http_.CountFor(url_b) == 2 && http_.InFlight(url_b); }));
  std::optional<size_t> req_b2 = http_.InFlight(url_b);
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kRunning);
  EXPECT_EQ(FindStep(run, "b")->attempt, 2);
  EXPECT_EQ(FindStep(run, "b")->status, StepStatus::kRunning);
  EXPECT_EQ(FindStep(run, "b")->seq, 2);

  ASSERT_TRUE(http_.Complete(*req_b2, FakeHttpClient::JsonResponse(200, R"({"m":1})")));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  run = Run(id);
  EXPECT_EQ(run.output, 5);  // `a`'s stored output fed the expression after restart
  EXPECT_EQ(http_.CountFor(url_a), 1u);
  EXPECT_EQ(http_.CountFor(url_b), 2u);
  EXPECT_EQ(FindStep(run, "a")->attempt, 1);
  EXPECT_EQ(FindStep(run, "b")->attempt, 2);
  EXPECT_EQ(FindStep(run, "b")->output["body"], (json{{"m", 1}}));
  ASSERT_EQ(run.steps.size(), 3u);
}

TEST_F(EngineTest, PausedRunStaysPausedAcrossRestart) {
  const std::string url = "https://api.example.test/p";
  Apply("hold", json::array({Http("call", url), Noop("next", "ok")}));
  const std::string id = StartRun("hold");
  ASSERT_TRUE(WaitRequest(url));
  ASSERT_TRUE(Control(id, RunAction::kPause).ok());

  Close();
  Open();
  // Start drives runs synchronously into the active set: a paused run is not among them.
  EXPECT_EQ(engine_->ActiveRuns(), 0u);
  RunRecord run = Run(id);
  EXPECT_EQ(run.status, RunStatus::kPaused);
  EXPECT_EQ(run.paused_from, RunStatus::kRunning);
  EXPECT_EQ(http_.CountFor(url), 1u);

  ASSERT_TRUE(Control(id, RunAction::kResume).ok());
  std::optional<size_t> again = WaitRequest(url);
  ASSERT_TRUE(again);
  EXPECT_EQ(http_.CountFor(url), 2u);
  ASSERT_TRUE(http_.Complete(*again, FakeHttpClient::JsonResponse(200, "{}")));
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(FindStep(Run(id), "call")->attempt, 2);
  EXPECT_EQ(Run(id).output, "ok");
}

TEST_F(EngineTest, TimerThatCameDueWhileDownFiresAfterStart) {
  Apply("nap", json::array({Sleep("s", "1h"), Noop("after", "woke")}));
  const std::string id = StartRun("nap");
  ASSERT_TRUE(WaitStatus(id, RunStatus::kWaiting));
  ASSERT_TRUE(WaitIdle());

  Close();
  clock_.Advance(2 * kHour);
  Open();  // no PokeTimers: the first refresh finds it
  ASSERT_TRUE(WaitStatus(id, RunStatus::kCompleted));
  EXPECT_EQ(Run(id).output, "woke");
  TimerLagStats lag = engine_->GetTimerLag();
  EXPECT_EQ(lag.count, 1u);
  EXPECT_EQ(lag.max_ms, kHour);
}

}  // namespace
}  // namespace sw
