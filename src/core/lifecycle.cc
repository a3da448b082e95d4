#include "core/lifecycle.h"

namespace sw {

namespace {

// A kind and its stored form.
template <typename Kind>
struct Named {
  Kind kind;
  std::string_view name;
};

template <typename Kind, size_t N>
std::string_view NameIn(const Named<Kind> (&names)[N], Kind k) {
  for (const Named<Kind>& n : names) {
    if (n.kind == k) {
      return n.name;
    }
  }
  return "unknown";
}

template <typename Kind, size_t N>
std::optional<Kind> KindIn(const Named<Kind> (&names)[N], std::string_view s) {
  for (const Named<Kind>& n : names) {
    if (n.name == s) {
      return n.kind;
    }
  }
  return std::nullopt;
}

constexpr Named<WaitKind> kWaitNames[] = {
    {WaitKind::kTimer, "timer"}, {WaitKind::kEvent, "event"},  {WaitKind::kRetry, "retry"},
    {WaitKind::kChild, "child"}, {WaitKind::kAgent, "agent"},  {WaitKind::kApproval, "approval"},
    {WaitKind::kForm, "form"},   {WaitKind::kReauth, "reauth"}};

constexpr Named<TimerKind> kTimerNames[] = {{TimerKind::kWake, "wake"},
                                            {TimerKind::kEventTimeout, "timeout"},
                                            {TimerKind::kRetry, "retry"},
                                            {TimerKind::kChild, "child"},
                                            {TimerKind::kStepTimeout, "step_timeout"},
                                            {TimerKind::kRunTimeout, "run_timeout"},
                                            {TimerKind::kExpiry, "expiry"}};

constexpr Named<PauseReason> kPauseNames[] = {{PauseReason::kOperator, "operator"},
                                              {PauseReason::kReauth, "reauth"}};

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

std::string_view ToString(WaitKind k) { return NameIn(kWaitNames, k); }
std::string_view ToString(TimerKind k) { return NameIn(kTimerNames, k); }
std::string_view ToString(PauseReason r) { return NameIn(kPauseNames, r); }
std::optional<WaitKind> ParseWaitKind(std::string_view s) { return KindIn(kWaitNames, s); }
std::optional<TimerKind> ParseTimerKind(std::string_view s) { return KindIn(kTimerNames, s); }
std::optional<PauseReason> ParsePauseReason(std::string_view s) { return KindIn(kPauseNames, s); }

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
