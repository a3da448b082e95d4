// Run and step statuses and the one transition table that decides which control
// actions a run allows. The API refuses with it, the UI shows `allowed_actions` from it
// and the engine checks it; nothing else decides. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sw {

enum class RunStatus { kPending, kRunning, kPaused, kWaiting, kCompleted, kFailed, kCancelled };
inline constexpr RunStatus kAllRunStatuses[] = {
    RunStatus::kPending,   RunStatus::kRunning, RunStatus::kPaused,   RunStatus::kWaiting,
    RunStatus::kCompleted, RunStatus::kFailed,  RunStatus::kCancelled};

enum class StepStatus { kPending, kRunning, kWaiting, kCompleted, kFailed, kCancelled, kSkipped };

// What a person (or a client) can ask of a run.
enum class RunAction { kPause, kResume, kCancel };
inline constexpr RunAction kAllRunActions[] = {RunAction::kPause, RunAction::kResume,
                                               RunAction::kCancel};

std::string_view ToString(RunStatus s);
std::string_view ToString(StepStatus s);
std::string_view ToString(RunAction a);
std::optional<RunStatus> ParseRunStatus(std::string_view s);
std::optional<StepStatus> ParseStepStatus(std::string_view s);

bool IsTerminal(RunStatus s);

// The allowed-actions table of API.md.
bool IsActionAllowed(RunStatus from, RunAction action);

// The actions IsActionAllowed permits from `status`, in the order pause, resume, cancel.
// `in_backoff`: a waiting run whose wait is a retry's back-off may also be paused (the
// pause holds the next attempt).
std::vector<RunAction> AllowedActions(RunStatus status, bool in_backoff = false);

// The outcome of asking for `action` on a run in `from`:
// - kOk with the status the run moves to;
// - a cancel of a cancelled run: kOk with `noop` set (answered 200, nothing changes);
// - otherwise kFailedPrecondition "Cannot <action> workflow run <id> with status <s>".
// `paused_from` is where a paused run returns on resume (pending or running).
// A lost compare-and-set: the run is no longer at the status and version the caller
// saw. kAborted with reason "state_changed", `run_changed` and, when the run was read,
// its current status and version in the detail (api/ answers the contract's sentence).
Status StateChanged();
Status StateChanged(RunStatus current, int64_t version);

struct ActionOutcome {
  RunStatus next;
  bool noop = false;
};
Result<ActionOutcome> DecideAction(std::string_view run_id, RunStatus from, RunAction action,
                                   RunStatus paused_from, bool in_backoff = false);

}  // namespace sw
