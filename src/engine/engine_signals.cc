// What reaches the engine from outside a run's driver: runs handed over by the
// instance's beat (Adopt); cancels, committed here or on another instance, that stop
// the work in flight where the run is driven; and, with several instances, the
// workflow holds and billing changes another instance made.
#include <spdlog/spdlog.h>

#include <unordered_map>

#include "core/workflow_safety.h"
#include "engine/active_run.h"
#include "engine/engine.h"

namespace sw {

void Engine::Adopt(const std::vector<std::string>& run_ids) {
  for (const std::string& id : run_ids) {
    bool active = false;
    {
      std::lock_guard lock(mu_);
      active = active_.contains(id);
    }
    if (!active) {
      Drive(id);
    }
  }
}

void Engine::OnCancelled(const std::string& run_id) {
  if (!StopWorkHere(run_id) && peers_ != nullptr) {
    peers_->Publish(Notifier::Topic::kRunCancelled, run_id);
  }
}

bool Engine::StopWorkHere(const std::string& run_id) {
  std::shared_ptr<CancellationToken> token;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(run_id);
    if (it == active_.end()) {
      return false;
    }
    it->second->cancelled = true;
    token = it->second->token;
  }
  if (token) {
    token->Fire(CancelReason::kUser);
  }
  return true;
}

void Engine::OnChangedElsewhere(const std::vector<std::string>& run_ids) {
  std::vector<std::string> ours;
  {
    std::lock_guard lock(mu_);
    for (const std::string& id : run_ids) {
      if (active_.contains(id)) {
        ours.push_back(id);
      }
    }
  }
  if (ours.empty()) {
    return;
  }
  pool_.Post([this, ours = std::move(ours)] {
    for (const std::string& id : ours) {
      Result<RunRecord> run = store_.GetRun(id, /*with_steps=*/false);
      if (run.ok() && run->status == RunStatus::kCancelled) {
        OnCancelled(id);
      }
    }
  });
}

void Engine::SyncWorkflowHolds() {
  std::vector<ThroughputBreakers::Entry> breakers = breakers_.All();
  if (breakers.empty()) {
    return;
  }
  // Each breaker's epoch before the read: a hold it changed after is newer than the read.
  std::vector<uint64_t> epochs;
  epochs.reserve(breakers.size());
  for (const ThroughputBreakers::Entry& e : breakers) {
    epochs.push_back(e.breaker->Epoch());
  }
  Result<std::vector<std::pair<WorkflowRef, std::string>>> holds = store_.ListWorkflowHolds();
  if (!holds.ok()) {
    spdlog::warn("event=workflow_holds.read_failed error={}", holds.status().message());
    return;
  }
  std::unordered_map<std::string, std::string> held;  // "workspace/workflow" -> reason
  for (const auto& [wf, reason] : *holds) {
    held[wf.workspace_id + "/" + wf.workflow_id] =
        reason.empty() ? std::string(kThroughputCapReason) : reason;
  }
  bool released = false;
  for (size_t i = 0; i < breakers.size(); ++i) {
    const WorkflowRef& wf = breakers[i].workflow;
    auto it = held.find(wf.workspace_id + "/" + wf.workflow_id);
    const bool was_held = breakers[i].breaker->Held();
    std::vector<std::string> runs =
        breakers[i].breaker->Sync(it == held.end() ? std::string() : it->second, epochs[i]);
    if (was_held && !breakers[i].breaker->Held()) {
      spdlog::info("workflow {}: released on another instance", wf.workflow_id);
      released = true;
    }
    for (const std::string& run_id : runs) {
      Drive(run_id);
    }
  }
  if (released) {
    timers_.Poke();  // the timers it held fire now
  }
}

void Engine::OnHoldsChangedElsewhere() {
  pool_.Post([this] { SyncWorkflowHolds(); });
}

void Engine::OnBillingChangedElsewhere(const std::string& workspace_id) {
  prices_.Forget(workspace_id);
}

void Engine::ConnectionChanged(const std::string& connection_id) {
  connections_.Forget(connection_id);
  if (peers_ != nullptr) {
    peers_->Publish(Notifier::Topic::kConnectionChanged, connection_id);
  }
}

void Engine::OnConnectionChangedElsewhere(const std::string& connection_id) {
  connections_.Forget(connection_id);
}

}  // namespace sw
