#include "core/run_status.h"

#include <string>

namespace sw {

std::string_view ToString(RunStatus s) {
  switch (s) {
    case RunStatus::kPending:
      return "pending";
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kPaused:
      return "paused";
    case RunStatus::kWaiting:
      return "waiting";
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string_view ToString(StepStatus s) {
  switch (s) {
    case StepStatus::kPending:
      return "pending";
    case StepStatus::kRunning:
      return "running";
    case StepStatus::kWaiting:
      return "waiting";
    case StepStatus::kCompleted:
      return "completed";
    case StepStatus::kFailed:
      return "failed";
    case StepStatus::kCancelled:
      return "cancelled";
    case StepStatus::kSkipped:
      return "skipped";
  }
  return "unknown";
}

std::string_view ToString(RunAction a) {
  switch (a) {
    case RunAction::kPause:
      return "pause";
    case RunAction::kResume:
      return "resume";
    case RunAction::kCancel:
      return "cancel";
  }
  return "unknown";
}

std::optional<RunStatus> ParseRunStatus(std::string_view s) {
  for (RunStatus status : kAllRunStatuses) {
    if (ToString(status) == s) {
      return status;
    }
  }
  return std::nullopt;
}

std::optional<StepStatus> ParseStepStatus(std::string_view s) {
  for (StepStatus status :
       {StepStatus::kPending, StepStatus::kRunning, StepStatus::kWaiting, StepStatus::kCompleted,
        StepStatus::kFailed, StepStatus::kCancelled, StepStatus::kSkipped}) {
    if (ToString(status) == s) {
      return status;
    }
  }
  return std::nullopt;
}

bool IsTerminal(RunStatus s) {
  return s == RunStatus::kCompleted || s == RunStatus::kFailed || s == RunStatus::kCancelled;
}

namespace {

// Rows: statuses in kAllRunStatuses order; columns: pause, resume, cancel.
constexpr bool kAllowed[7][3] = {
    /* pending   */ {true, false, true},
    /* running   */ {true, false, true},
    /* paused    */ {false, true, true},
    /* waiting   */ {false, false, true},
    /* completed */ {false, false, false},
    /* failed    */ {false, false, false},
    /* cancelled */ {false, false, false},
};

}  // namespace

bool IsActionAllowed(RunStatus from, RunAction action) {
  return kAllowed[static_cast<int>(from)][static_cast<int>(action)];
}

namespace {

bool Allowed(RunStatus from, RunAction action, bool in_backoff) {
  return IsActionAllowed(from, action) ||
         (in_backoff && from == RunStatus::kWaiting && action == RunAction::kPause);
}

}  // namespace

std::vector<RunAction> AllowedActions(RunStatus status, bool in_backoff) {
  std::vector<RunAction> actions;
  for (RunAction action : kAllRunActions) {
    if (Allowed(status, action, in_backoff)) {
      actions.push_back(action);
    }
  }
  return actions;
}

Result<ActionOutcome> DecideAction(std::string_view run_id, RunStatus from, RunAction action,
                                   RunStatus paused_from, bool in_backoff) {
  if (action == RunAction::kCancel && from == RunStatus::kCancelled) {
    return ActionOutcome{RunStatus::kCancelled, /*noop=*/true};
  }
  if (!Allowed(from, action, in_backoff)) {
    return Status(StatusCode::kFailedPrecondition,
                  "Cannot " + std::string(ToString(action)) + " workflow run " +
                      std::string(run_id) + " with status " + std::string(ToString(from)),
                  "invalid_transition");
  }
  switch (action) {
    case RunAction::kPause:
      return ActionOutcome{RunStatus::kPaused};
    case RunAction::kResume:
      return ActionOutcome{paused_from};
    case RunAction::kCancel:
      return ActionOutcome{RunStatus::kCancelled};
  }
  return Internal("unknown action");
}

Status StateChanged() {
  return Status(StatusCode::kAborted, "the run changed meanwhile",
                ErrorDetail{.reason = "state_changed", .run_changed = true});
}

Status StateChanged(RunStatus current, int64_t version) {
  return Status(StatusCode::kAborted,
                "the run changed meanwhile: it is " + std::string(ToString(current)) +
                    " at version " + std::to_string(version),
                ErrorDetail{.reason = "state_changed",
                            .run_changed = true,
                            .current_status = current,
                            .version = version});
}

}  // namespace sw
