#include "store/transition_plan.h"

namespace sw {

namespace {

std::string StringField(const nlohmann::json& v, const char* key) {
  if (v.is_object()) {
    auto it = v.find(key);
    if (it != v.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return "";
}

template <typename T>
const T* Borrow(const std::optional<T>& v) {
  return v ? &*v : nullptr;
}

RunRowChange PlanRow(const RunTransition& t, const RunHead& before) {
  RunRowChange row;
  row.expected_version = before.version;
  row.new_version = before.version + 1;
  row.updated_at = t.now;
  row.status = t.next_status;
  row.paused_from = t.paused_from;
  row.pause = Borrow(t.pause);
  if (t.pause) {
    row.pause_reason = StringField(*t.pause, "reason");
  }
  row.wait = Borrow(t.wait);
  if (t.wait) {
    row.wait_kind = StringField(*t.wait, "kind");
  }
  row.cancel = Borrow(t.cancel);
  row.output = Borrow(t.output);
  row.error = Borrow(t.error);
  row.started_at = t.started_at;
  row.finished_at = t.finished_at;
  return row;
}

// The run's timers: a run that ends needs none; one that goes on keeps its run timeout.
// Only a run that may have some (`side_rows`) looks for them.
// A child run that ends wakes its parent through a timer due now, in the same commit,
// so a crash cannot lose the wake-up.
void PlanTimers(const RunTransition& t, const RunHead& before, bool ends, bool side_rows,
                TransitionPlan& plan) {
  plan.drop_timers = !side_rows       ? TimerDrop::kNone
                     : ends           ? TimerDrop::kAll
                     : t.clear_timers ? TimerDrop::kAllButRunTimeout
                                      : TimerDrop::kNone;
  plan.add_timers.reserve(t.add_timers.size() + 1);
  if (ends && !before.parent_run_id.empty()) {
    plan.add_timers.push_back(
        TimerRecord{before.parent_run_id, TimerKind::kChild, before.parent_path, t.now});
  }
  for (const TimerRecord& timer : t.add_timers) {
    plan.add_timers.push_back(timer);
    if (timer.run_id.empty()) {
      plan.add_timers.back().run_id = t.run_id;
    }
  }
}

// Whether `t` writes a row that the run's end drops or closes.
bool WritesSideRows(const RunTransition& t) {
  if (t.enqueue_task || t.human_task || t.create_run) {
    return true;
  }
  for (const TimerRecord& timer : t.add_timers) {
    if (timer.run_id.empty() || timer.run_id == t.run_id) {
      return true;
    }
  }
  return false;
}

bool Runnable(RunStatus s) { return s == RunStatus::kPending || s == RunStatus::kRunning; }

// Who owns the run after `t` (the header's rule), or nullopt when that does not change.
std::optional<std::string_view> PlanOwner(const RunTransition& t, const RunHead& before,
                                          std::string_view self) {
  std::string_view owner = before.owner;
  if (!Runnable(t.next_status.value_or(before.status))) {
    owner = "";
  } else if (!Runnable(before.status)) {
    owner = self;
  }
  if (owner == before.owner) {
    return std::nullopt;
  }
  return owner;
}

}  // namespace

RunHead HeadOf(const RunRecord& run) {
  return RunHead{run.id,
                 run.status,
                 run.version,
                 run.parent_run_id,
                 run.parent_path,
                 run.owner,
                 /*side_rows=*/true};
}

Result<TransitionPlan> PlanTransition(const RunTransition& t, const RunHead& before,
                                      std::string_view self) {
  SW_CHECK(before.id == t.run_id);
  // A driver needs a runnable run to be its own, and a parked or ended one (a late
  // result's bookkeeping) to be nobody's.
  if (t.from_driver && !self.empty() && before.owner != self &&
      (Runnable(before.status) || !before.owner.empty())) {
    return Status(StatusCode::kAborted,
                  before.owner.empty() ? std::string("nobody owns the run")
                                       : "instance " + before.owner + " owns the run",
                  kLeaseLost);
  }
  if (before.version != t.expected_version ||
      (t.expected_status && *t.expected_status != before.status)) {
    return StateChanged(before.status, before.version);
  }
  TransitionPlan plan;
  plan.run_id = t.run_id;
  plan.now = t.now;
  plan.row = PlanRow(t, before);
  if (!self.empty()) {
    plan.row.owner = PlanOwner(t, before, self);
  }
  // Whether the run may have timers or tasks to drop or close, this change's included.
  const bool writes_side_rows = WritesSideRows(t);
  const bool side_rows = before.side_rows || writes_side_rows;
  // Written whenever it writes one: a head read from a whole RunRecord (HeadOf) does
  // not know the column and says true.
  plan.row.side_rows = writes_side_rows;
  if (t.cancel_steps_in_flight) {
    plan.cancel_steps_in_flight = nlohmann::json{{"message", *t.cancel_steps_in_flight}};
  }
  plan.upsert_steps = t.upsert_steps;
  plan.discard_step_result = Borrow(t.discard_step_result);
  plan.update_task = Borrow(t.update_task);
  const bool ends = t.next_status && IsTerminal(*t.next_status);
  PlanTimers(t, before, ends, side_rows, plan);
  // Its agent tasks are closed, so a late completion is discarded.
  plan.close_agent_tasks = ends && side_rows;
  // And its approvals and forms, so a late decision or submit is refused.
  if (ends && side_rows) {
    plan.close_human_tasks = "run " + std::string(ToString(*t.next_status));
  }
  plan.create_run = Borrow(t.create_run);
  plan.self = self;
  plan.enqueue_task = Borrow(t.enqueue_task);
  plan.consume_event_id = t.consume_event_id;
  plan.human_task = Borrow(t.human_task);
  plan.use_link_hash = Borrow(t.use_link_hash);
  plan.audit = Borrow(t.audit);
  plan.notify = t.notify;
  plan.changed_runs.push_back(t.run_id);
  if (t.create_run) {
    plan.changed_runs.push_back(t.create_run->id);
  }
  return plan;
}

}  // namespace sw
