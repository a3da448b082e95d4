#include "engine/engine_counters.h"

namespace sw {

std::string EngineCounters::Bounded(const std::map<std::string, uint64_t>& seen,
                                    const std::string& key) {
  return seen.contains(key) || seen.size() < kMaxLabels ? key : kOtherLabel;
}

void EngineCounters::StepFailed(const std::string& code, bool retried) {
  const std::string label = code.empty() ? "none" : code;
  std::lock_guard lock(mu_);
  ++counts_.step_failures[Bounded(counts_.step_failures, label)];
  if (retried) {
    ++counts_.step_retries[Bounded(counts_.step_retries, label)];
  }
}

void EngineCounters::RunEnded(const std::string& workflow_id, RunStatus status) {
  std::lock_guard lock(mu_);
  const std::string label = Bounded(workflow_seen_, workflow_id);
  ++workflow_seen_[label];
  ++counts_.runs_ended[{label, status}];
}

EngineCounters::Snapshot EngineCounters::Get() const {
  std::lock_guard lock(mu_);
  return counts_;
}

}  // namespace sw
