// Plain records the Store reads and writes: runs, steps, workflows, tokens, audit.
// Times are milliseconds since the Unix epoch; 0 means "not set". Value types.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lifecycle.h"
#include "core/result.h"
#include "core/run_status.h"

namespace sw {

struct StepRecord {
  int64_t seq = 0;  // execution order within the run
  std::string path;
  std::string step_id;
  std::string type;
  StepStatus status = StepStatus::kPending;
  int attempt = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  nlohmann::json output;
  nlohmann::json error;
  bool result_discarded = false;
  // Carried over from the run this one reruns (RunRecord::replay_from_step): its output
  // is the earlier run's, and it did not execute in this run. Written when the row is
  // first inserted; later upserts keep it.
  bool copied = false;
  // Object or null: {"attempts": [earlier attempts], "child_run_id", "task_id"}. A null
  // in an upsert keeps what is stored.
  nlohmann::json detail;
};

struct RunRecord {
  std::string id;
  std::string workspace_id;
  std::string workflow_id;
  int workflow_version = 0;
  RunStatus status = RunStatus::kPending;
  int64_t version = 1;
  RunStatus paused_from = RunStatus::kPending;
  nlohmann::json pause;   // null unless paused
  nlohmann::json wait;    // null unless waiting
  nlohmann::json cancel;  // null unless cancelled
  nlohmann::json input = nlohmann::json::object();
  nlohmann::json output;
  nlohmann::json error;
  nlohmann::json trigger;
  std::string replay_of;
  // The step path a rerun started from (its earlier steps are copied rows); "" for a
  // run that is not a rerun or that replays from the start.
  std::string replay_from_step;
  std::string parent_run_id;  // set on a child run (a `workflow` step's)
  std::string parent_path;    // the parent's step that started it
  // The instance that drives it, with several instances; "" when none does or with one
  // (store/transition_plan.h). The store writes it.
  std::string owner;
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t updated_at = 0;
  int64_t finished_at = 0;
  std::vector<StepRecord> steps;  // filled only when asked for
};

// What the run waits for, as its `wait.kind` says; none when it has no wait (or one
// this build does not know).
inline std::optional<WaitKind> WaitKindOf(const RunRecord& run) {
  return run.wait.is_object() ? ParseWaitKind(run.wait.value("kind", "")) : std::nullopt;
}

// True while a run waits out a retry's back-off (it may then be paused too).
inline bool InRetryBackoff(const RunRecord& run) {
  return run.status == RunStatus::kWaiting && WaitKindOf(run) == WaitKind::kRetry;
}

enum class WorkflowStatus { kActive, kDisabled };
// The values WorkflowRecord::status takes.
inline constexpr std::string_view kWorkflowStatuses[] = {"active", "disabled"};

struct WorkflowRecord {
  std::string workspace_id;
  std::string id;
  std::string kind;
  std::string mode;
  std::string status = "active";  // the admin's: active or disabled
  // The safety hold ({reason, message, tripped_at}, core/workflow_safety.h), or null.
  nlohmann::json safety;
  int version = 0;
  nlohmann::json definition;  // of `version`
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

enum class Role { kViewer, kOperator, kAdmin, kAgent };
std::string_view ToString(Role r);
std::optional<Role> ParseRole(std::string_view s);

struct TokenRecord {
  std::string id;
  std::string workspace_id;
  std::string name;
  Role role = Role::kViewer;
  std::string hash;  // hex SHA-256 of the secret
  int64_t created_at = 0;
  int64_t revoked_at = 0;
};

struct WorkspaceRecord {
  std::string id;
  std::string slug;
  int64_t created_at = 0;
};

struct AuditEntry {
  std::string id;
  std::string workspace_id;
  int64_t at = 0;
  std::string actor;
  std::string action;
  std::string target;
  std::string reason;
  std::string request_id;
  std::string status_before;
  std::string status_after;
};

struct TimerRecord {
  std::string run_id;
  TimerKind kind = TimerKind::kWake;
  std::string path;  // the step it belongs to
  int64_t due_at = 0;
};

// A task for an external agent (an `agent_task` step's attempt).
struct AgentTaskRecord {
  std::string id;
  std::string workspace_id;
  std::string run_id;
  std::string path;
  std::string step_id;
  std::string queue;
  nlohmann::json input;
  int attempt = 1;
  std::string status = "queued";  // queued | claimed | completed | failed | cancelled
  std::string agent_id;
  int64_t available_at = 0;  // not claimed before (a retry's back-off)
  int64_t lease_expires_at = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

inline constexpr std::string_view kAgentTaskStatuses[] = {"queued", "claimed", "completed",
                                                          "failed", "cancelled"};

// What a run waits on from people: an approval or a form. core/approval.h and
// core/form.h hold their rules and the shape of `body` and `resolution`; the store
// keeps them and the columns it filters and closes by.
struct HumanTaskRecord {
  std::string id;    // "apr_…" or "frm_…"
  std::string kind;  // "approval" or "form"
  std::string workspace_id;
  std::string workflow_id;
  std::string run_id;
  std::string path;  // the step it belongs to
  std::string step_id;
  std::string status;  // approval: pending|approved|denied|expired; form: open|submitted|closed
  int64_t version = 1;
  nlohmann::json body;        // an object
  nlohmann::json resolution;  // null while open
  int64_t expires_at = 0;     // 0: never
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

inline constexpr std::string_view kHumanTaskKinds[] = {"approval", "form"};
inline constexpr std::string_view kHumanTaskStatuses[] = {
    "pending", "approved", "denied", "expired", "open", "submitted", "closed"};
// The statuses of an undecided task, and what a task of each kind becomes when its run
// ends first (its resolution then says why).
inline constexpr std::string_view kOpenHumanTaskStatuses[] = {"pending", "open"};
inline constexpr std::string_view kClosedApprovalStatus = "expired";
inline constexpr std::string_view kClosedFormStatus = "closed";

// A one-use magic link to decide an approval; only the hash of its token is kept.
struct ApprovalLinkRecord {
  std::string token_hash;  // hex SHA-256 of the token
  std::string approval_id;
  std::string workspace_id;
  std::string recipient;
  int64_t expires_at = 0;
  int64_t used_at = 0;  // 0: unused
  int64_t created_at = 0;
};

struct EventRecord {
  int64_t id = 0;
  std::string run_id;
  std::string event_type;
  nlohmann::json payload;
  int64_t created_at = 0;
};

// A stored value that its record does not admit (an unknown status or role, JSON that
// does not parse): the store answers this, never a default in its place.
// kInternal, "data_corruption", naming the table, the row, the column and the value.
Status DataCorruption(std::string_view table, std::string_view row, std::string_view column,
                      std::string_view value);

}  // namespace sw
