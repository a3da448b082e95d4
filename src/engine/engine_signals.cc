// What reaches the engine from outside a run's driver: runs handed over by the
// instance's beat (Adopt), and cancels, committed here or on another instance, that
// stop the work in flight where the run is driven.
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
  if (!StopWorkHere(run_id) && cancel_broadcast_) {
    cancel_broadcast_(run_id);
  }
}

void Engine::StopWork(const std::string& run_id) { StopWorkHere(run_id); }

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

}  // namespace sw
