#include "engine/throughput_breaker.h"

namespace sw {

WorkflowBreaker::Verdict WorkflowBreaker::Admit(const std::string& run_id, bool starts_run,
                                                int64_t now, const ThroughputLimits& limits) {
  std::lock_guard lock(mu_);
  if (!held_for_.empty()) {
    waiting_runs_.insert(run_id);
    return Verdict::kHeld;
  }
  const bool runs_fit =
      !starts_run || limits.max_runs_per_minute <= 0 || runs_.Fits(now, limits.max_runs_per_minute);
  const bool steps_fit =
      limits.max_steps_per_minute <= 0 || steps_.Fits(now, limits.max_steps_per_minute);
  if (!runs_fit || !steps_fit) {
    held_for_ = kThroughputCapReason;
    ++epoch_;
    waiting_runs_.insert(run_id);
    return Verdict::kTrip;
  }
  if (starts_run && limits.max_runs_per_minute > 0) {
    runs_.Add(now);
  }
  if (limits.max_steps_per_minute > 0) {
    steps_.Add(now);
  }
  return Verdict::kDispatch;
}

bool WorkflowBreaker::MayProceed(const std::string& run_id) {
  std::lock_guard lock(mu_);
  if (!held_for_.empty()) {
    waiting_runs_.insert(run_id);
  }
  return held_for_.empty();
}

bool WorkflowBreaker::Hold(std::string_view reason, const std::string& run_id) {
  std::lock_guard lock(mu_);
  waiting_runs_.insert(run_id);
  if (!held_for_.empty()) {
    return false;
  }
  held_for_ = reason;
  ++epoch_;
  return true;
}

bool WorkflowBreaker::Held() const {
  std::lock_guard lock(mu_);
  return !held_for_.empty();
}

std::string WorkflowBreaker::HeldFor() const {
  std::lock_guard lock(mu_);
  return held_for_;
}

std::vector<std::string> WorkflowBreaker::Release() {
  std::lock_guard lock(mu_);
  return ReleaseLocked();
}

std::vector<std::string> WorkflowBreaker::ReleaseLocked() {
  held_for_.clear();
  ++epoch_;
  runs_.Clear();
  steps_.Clear();
  std::vector<std::string> runs(waiting_runs_.begin(), waiting_runs_.end());
  waiting_runs_.clear();
  return runs;
}

uint64_t WorkflowBreaker::Epoch() const {
  std::lock_guard lock(mu_);
  return epoch_;
}

std::vector<std::string> WorkflowBreaker::Sync(const std::string& held_for, uint64_t epoch) {
  std::lock_guard lock(mu_);
  if (epoch != epoch_ || held_for.empty() == held_for_.empty()) {
    return {};
  }
  if (held_for_.empty()) {
    held_for_ = held_for;  // held elsewhere: the runs here wait from their next dispatch
    ++epoch_;
    return {};
  }
  return ReleaseLocked();
}

int64_t WorkflowBreaker::StepsInWindow(int64_t now) {
  std::lock_guard lock(mu_);
  return steps_.Count(now);
}

Result<std::shared_ptr<WorkflowBreaker>> ThroughputBreakers::For(const std::string& workspace_id,
                                                                 const std::string& workflow_id) {
  if (std::shared_ptr<WorkflowBreaker> found = Find(workspace_id, workflow_id)) {
    return found;
  }
  // Read outside mu_; a breaker made meanwhile by another caller wins.
  Result<WorkflowRecord> wf =
      store_.GetWorkflow(workspace_id, workflow_id, /*with_definition=*/false);
  if (!wf.ok()) {
    return wf.status();
  }
  auto made = std::make_shared<WorkflowBreaker>(
      wf->safety.is_object() ? wf->safety.value("reason", std::string(kThroughputCapReason))
                             : std::string());
  std::lock_guard lock(mu_);
  auto [it, inserted] = by_workflow_.try_emplace(Key(workspace_id, workflow_id),
                                                 Entry{{workspace_id, workflow_id}, made});
  return it->second.breaker;
}

std::shared_ptr<WorkflowBreaker> ThroughputBreakers::Find(const std::string& workspace_id,
                                                          const std::string& workflow_id) const {
  std::lock_guard lock(mu_);
  auto it = by_workflow_.find(Key(workspace_id, workflow_id));
  return it == by_workflow_.end() ? nullptr : it->second.breaker;
}

std::vector<ThroughputBreakers::Entry> ThroughputBreakers::All() const {
  std::lock_guard lock(mu_);
  std::vector<Entry> all;
  all.reserve(by_workflow_.size());
  for (const auto& [key, entry] : by_workflow_) {
    all.push_back(entry);
  }
  return all;
}

}  // namespace sw
