// The run lifecycle's rules beyond the control table of run_status.h: what a run waits
// for, which timer ends which wait, what a fired timer does, what a commit that lost
// its compare-and-set does next, and which wait an event ends. The engine, control and
// the agent queue ask these functions; none decides by comparing strings.
//
// Pure; thread-safe. Kinds are stored by their string forms (ToString/Parse*); a stored
// form that does not parse is corrupt data, not a default.
#pragma once

#include <optional>
#include <string_view>

#include "core/run_status.h"

namespace sw {

// What a `waiting` run waits for (its `wait.kind`).
enum class WaitKind {
  kTimer,     // sleep, sleep_until
  kEvent,     // wait_for_event
  kRetry,     // a failed attempt's back-off
  kChild,     // a child run (workflow step)
  kAgent,     // an agent task
  kApproval,  // people's decision (approval step)
  kForm,      // people's data (form step)
  kReauth,    // (agent mode) a connection's reconnection, before its step's call
};
inline constexpr WaitKind kAllWaitKinds[] = {
    WaitKind::kTimer, WaitKind::kEvent,    WaitKind::kRetry, WaitKind::kChild,
    WaitKind::kAgent, WaitKind::kApproval, WaitKind::kForm,  WaitKind::kReauth};

// A durable timer's purpose.
enum class TimerKind {
  kWake,          // a sleep ends
  kEventTimeout,  // an event wait times out
  kRetry,         // a back-off ends: the next attempt
  kChild,         // a child run ended: its parent looks at it
  kStepTimeout,   // an attempt's child run or agent task outlived the step's timeout
  kRunTimeout,    // the whole run outlived the definition's timeout
  kExpiry,        // an approval or a form expired
};
inline constexpr TimerKind kAllTimerKinds[] = {
    TimerKind::kWake,        TimerKind::kEventTimeout, TimerKind::kRetry, TimerKind::kChild,
    TimerKind::kStepTimeout, TimerKind::kRunTimeout,   TimerKind::kExpiry};

// Why a `paused` run is paused (its `pause.reason`).
enum class PauseReason {
  kOperator,  // a person (or client) paused it
  kReauth,    // its http step's connection needs reauthorization (engine/reauth.cc)
};

std::string_view ToString(WaitKind k);
std::string_view ToString(TimerKind k);
std::string_view ToString(PauseReason r);
std::optional<WaitKind> ParseWaitKind(std::string_view s);
std::optional<TimerKind> ParseTimerKind(std::string_view s);
std::optional<PauseReason> ParsePauseReason(std::string_view s);

// What a fired timer (not a run timeout) does to its run.
enum class TimerEffect {
  kNone,          // the run no longer waits for it (a stale timer): nothing changes
  kWake,          // the run goes on and plans the step again (retry, child end)
  kCompleteStep,  // the step completes with a null output (a sleep ended)
  kFailRun,       // the wait timed out: the step and the run fail
  kTimeOutWork,   // the attempt's outside work timed out: the run goes on, the step is
                  // marked and its attempt fails when the engine drives it
  kExpire,        // the approval or form it waits for expired: its own policy decides
                  // (core/approval.h, core/form.h), applied by the engine
};
// `wait` is the run's wait kind and `same_step` whether it waits at the timer's step.
TimerEffect DecideTimer(TimerKind timer, RunStatus status, std::optional<WaitKind> wait,
                        bool same_step);

// What a committed change was: nothing outside the store happened yet (a plan), or an
// attempt's result came back from work whose start was committed.
enum class CommitPhase { kBeforeWork, kResult };

// The next move after a commit expecting `expected` found the run in `now`.
enum class LostRace {
  kReplan,         // something else changed the run: plan the step again
  kRecommit,       // the result stands (same status, or resumed since kept): commit it again
  kKeepResult,     // paused while the work was in flight: keep the result, stay paused
  kDiscardResult,  // the run ended while the work was in flight: mark the result discarded
  kLetGo,          // nothing for this driver to do
};
LostRace DecideLostRace(CommitPhase phase, RunStatus expected, RunStatus now, bool has_step_result);

// True when a run in `status` waiting on `wait` (for `waited_type`) takes an event of
// `event_type` now; otherwise the event is buffered for a later wait.
bool WaitTakesEvent(RunStatus status, std::optional<WaitKind> wait, std::string_view waited_type,
                    std::string_view event_type);

}  // namespace sw
