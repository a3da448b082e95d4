#include "core/lifecycle.h"

namespace sw {

namespace {

struct WaitName {
  WaitKind kind;
  std::string_view name;
};
constexpr WaitName kWaitNames[] = {{WaitKind::kTimer, "timer"}, {WaitKind::kEvent, "event"},
                                   {WaitKind::kRetry, "retry"}, {WaitKind::kChild, "child"},
                                   {WaitKind::kAgent, "agent"}, {WaitKind::kApproval, "approval"},
                                   {WaitKind::kForm, "form"},   {WaitKind::kReauth, "reauth"}};

struct TimerName {
  TimerKind kind;
  std::string_view name;
};
constexpr TimerName kTimerNames[] = {{TimerKind::kWake, "wake"},
                                     {TimerKind::kEventTimeout, "timeout"},
                                     {TimerKind::kRetry, "retry"},
                                     {TimerKind::kChild, "child"},
                                     {TimerKind::kStepTimeout, "step_timeout"},
                                     {TimerKind::kRunTimeout, "run_timeout"},
                                     {TimerKind::kExpiry, "expiry"}};

// Which waits each timer ends: one row per timer kind.
bool Ends(TimerKind timer, WaitKind wait) {
  switch (timer) {
    case TimerKind::kWake:
      return wait == WaitKind::kTimer;
    case TimerKind::kEventTimeout:
      return wait == WaitKind::kEvent;
    case TimerKind::kRetry:
      return wait == WaitKind::kRetry;
    case TimerKind::kChild:
      return wait == WaitKind::kChild;
    case TimerKind::kStepTimeout:
      return wait == WaitKind::kChild || wait == WaitKind::kAgent;
    case TimerKind::kRunTimeout:
      return false;  // ends the run whatever it waits for (the engine's TimeOutRun)
    case TimerKind::kExpiry:
      return wait == WaitKind::kApproval || wait == WaitKind::kForm;
  }
  return false;
}

}  // namespace

std::string_view ToString(WaitKind k) {
  for (const WaitName& n : kWaitNames) {
    if (n.kind == k) {
      return n.name;
    }
  }
  return "unknown";
}

std::string_view ToString(TimerKind k) {
  for (const TimerName& n : kTimerNames) {
    if (n.kind == k) {
      return n.name;
    }
  }
  return "unknown";
}

std::optional<WaitKind> ParseWaitKind(std::string_view s) {
  for (const WaitName& n : kWaitNames) {
    if (n.name == s) {
      return n.kind;
    }
  }
  return std::nullopt;
}

std::optional<TimerKind> ParseTimerKind(std::string_view s) {
  for (const TimerName& n : kTimerNames) {
    if (n.name == s) {
      return n.kind;
    }
  }
  return std::nullopt;
}

TimerEffect DecideTimer(TimerKind timer, RunStatus status, std::optional<WaitKind> wait,
                        bool same_step) {
  if (status != RunStatus::kWaiting || !wait || !same_step || !Ends(timer, *wait)) {
    return TimerEffect::kNone;
  }
  switch (timer) {
    case TimerKind::kWake:
      return TimerEffect::kCompleteStep;
    case TimerKind::kEventTimeout:
      return TimerEffect::kFailRun;
    case TimerKind::kStepTimeout:
      return TimerEffect::kTimeOutWork;
    case TimerKind::kRetry:
    case TimerKind::kChild:
      return TimerEffect::kWake;
    case TimerKind::kExpiry:
      return TimerEffect::kExpire;
    case TimerKind::kRunTimeout:
      break;
  }
  return TimerEffect::kNone;
}

LostRace DecideLostRace(CommitPhase phase, RunStatus expected, RunStatus now,
                        bool has_step_result) {
  if (now == expected) {
    // Something else changed the run (an event was buffered, it was paused and
    // resumed): a plan is made again; a result, or a change to a stopped run, stands.
    const bool stopped = expected == RunStatus::kPaused || IsTerminal(expected);
    return phase == CommitPhase::kBeforeWork && !stopped ? LostRace::kReplan : LostRace::kRecommit;
  }
  if (phase != CommitPhase::kResult) {
    return LostRace::kLetGo;
  }
  if (now == RunStatus::kPaused) {
    return LostRace::kKeepResult;  // the pause holds the run, the work was done
  }
  if (expected == RunStatus::kPaused && now == RunStatus::kRunning && has_step_result) {
    // A result kept during a pause, whose keep a resume overtook: it is still the step's
    // result, now for the running run (else the step would be sent again).
    return LostRace::kRecommit;
  }
  if ((now == RunStatus::kCancelled || now == RunStatus::kFailed) && has_step_result) {
    return LostRace::kDiscardResult;
  }
  return LostRace::kLetGo;
}

bool WaitTakesEvent(RunStatus status, std::optional<WaitKind> wait, std::string_view waited_type,
                    std::string_view event_type) {
  return status == RunStatus::kWaiting && wait == WaitKind::kEvent && waited_type == event_type;
}

}  // namespace sw
