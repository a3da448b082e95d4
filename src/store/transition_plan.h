// A run transition's plan: everything one commit of a RunTransition writes, as data.
// PlanTransition checks the compare-and-set against the run as the commit finds it and
// derives what the transition implies beyond the fields it sets: a run that ends drops
// its timers, closes its open agent tasks, approvals and forms and, if it is a child,
// wakes its parent; steps
// in flight are cancelled with a message; the filter columns follow pause and wait. A
// backend applies the plan's effects in the order they are listed, in one transaction,
// and decides nothing itself, so every backend commits the same thing.
//
// Ownership (several instances on one database): a run that is pending or running has an
// owner, the instance that drives it, in the run's `owner` column; any other run has
// none (""). The run's own commits write it, so taking and giving back a run costs no
// commit of its own: the instance that creates a run, or commits the change that makes
// it runnable again (a resume, a wake-up) becomes its owner; a change that parks or
// ends it clears the owner. A driver's change (RunTransition::from_driver) is refused
// (kLeaseLost), before the compare-and-set, unless the run is runnable and this
// instance's, or parked or ended and nobody's (a late result's bookkeeping). An
// instance whose heartbeat lapsed loses its runs to another, which takes them with a
// version bump (store/postgres/pg_instance.h): fencing. Work outside the store starts
// only after a driver's commit (the attempt's start), so an instance that lost a run
// never starts work of it, nor records a result. One process (self "") never writes an
// owner and is never refused.
//
// Pure: no I/O. A plan borrows records from its transition (pointers and a span, to
// spare copying step outputs on the hot path); it must not outlive that transition.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/records.h"
#include "store/store.h"

namespace sw {

// What a plan needs of the run as its commit finds it. A backend reads at least these
// columns, in the transaction that applies the plan.
struct RunHead {
  std::string id;
  RunStatus status = RunStatus::kPending;
  int64_t version = 0;
  std::string parent_run_id;  // set on a child run
  std::string parent_path;
  std::string owner;  // "" when no instance owns it
  // Whether a change of the run may have written a timer, an agent task, an approval or
  // a form of it, or a child run: the change that ends it has nothing to drop or close
  // otherwise (and is spared the statements that would look).
  bool side_rows = true;
};

RunHead HeadOf(const RunRecord& run);

// The run row's change: a version bump, the time, and the fields the transition sets
// (unset: unchanged). `pause_reason` and `wait_kind` are copied out of `pause` and
// `wait` for the run list's filters ("" when absent) and written with them.
struct RunRowChange {
  int64_t expected_version = 0;
  int64_t new_version = 0;
  int64_t updated_at = 0;
  std::optional<RunStatus> status;
  std::optional<RunStatus> paused_from;
  const nlohmann::json* pause = nullptr;
  std::string pause_reason;
  const nlohmann::json* wait = nullptr;
  std::string wait_kind;
  const nlohmann::json* cancel = nullptr;
  const nlohmann::json* output = nullptr;
  const nlohmann::json* error = nullptr;
  std::optional<int64_t> started_at;
  std::optional<int64_t> finished_at;
  std::optional<std::string_view> owner;  // the instance that owns the run after
  bool side_rows = false;                 // set RunHead::side_rows: this change writes one
};

// Which of the run's timers go before the plan's own are added.
enum class TimerDrop {
  kNone,
  kAllButRunTimeout,  // the run goes on: its run timeout still holds
  kAll,               // the run ended
};

// The step statuses a cancel stops ("in flight"), and the agent task statuses an ending
// run closes ("open").
inline constexpr StepStatus kStepsInFlight[] = {StepStatus::kRunning, StepStatus::kWaiting};
inline constexpr std::string_view kOpenAgentTaskStatuses[] = {"queued", "claimed"};
inline constexpr std::string_view kClosedAgentTaskStatus = "cancelled";

struct TransitionPlan {
  std::string run_id;
  int64_t now = 0;
  RunRowChange row;

  // The effects, in the order a backend applies them.
  // Steps in flight become cancelled, finished now, with this error.
  std::optional<nlohmann::json> cancel_steps_in_flight;
  // By (run, path); a new path gets the run's next seq; a null detail keeps the stored.
  std::span<const StepRecord> upsert_steps;
  const std::string* discard_step_result = nullptr;  // the step's path
  // A compare-and-set on the task: a lost one fails the whole transition (kAborted).
  const AgentTaskUpdate* update_task = nullptr;
  TimerDrop drop_timers = TimerDrop::kNone;
  // Each replaces a timer of the same (run, kind). Run ids resolved; a parent's
  // wake-up by its ending child comes first.
  std::vector<TimerRecord> add_timers;
  // Created or changed before the run's open tasks close (below).
  const HumanTaskWrite* human_task = nullptr;
  bool close_agent_tasks = false;  // open tasks of the run become closed
  // Open approvals and forms of the run close, with this reason ("run cancelled").
  std::optional<std::string> close_human_tasks;
  const RunRecord* create_run = nullptr;  // owned by `self`
  std::string_view self;                  // the committing instance ("" for one process)
  const AgentTaskRecord* enqueue_task = nullptr;
  std::optional<int64_t> consume_event_id;
  const std::string* use_link_hash = nullptr;
  const AuditEntry* audit = nullptr;
  // Inserted last, each with its deliveries; empty on the hot path (nothing is read).
  std::span<const NotificationRecord> notify;

  // The runs the commit changes, for the change listener: the run and a child it creates.
  std::vector<std::string> changed_runs;
};

// The plan of `t` on the run as it is (`before`), committed by instance `self` ("" for
// one process), or kAborted: kLeaseLost when t is a driver's and another instance owns
// the run, "state_changed" (with the current status and version) when `before` is not
// at t's expected version and status. A run `t` creates is owned by `self`.
// REQUIRES: before.id == t.run_id; `self` outlives the plan.
Result<TransitionPlan> PlanTransition(const RunTransition& t, const RunHead& before,
                                      std::string_view self = "");

}  // namespace sw
