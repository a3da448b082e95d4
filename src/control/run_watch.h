// RunWatch tells waiting clients (long-polls, SSE streams) that a run changed. The
// store's change listener calls Notify after each commit; a watcher's callback then
// re-reads the run on its own thread.
//
// Thread-safe. Callbacks run on the notifying thread (the store's writer): they must
// only hand work off, never block or call back into RunWatch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace sw {

class RunWatch {
 public:
  using Callback = std::function<void()>;

  uint64_t Subscribe(const std::string& run_id, Callback cb) {
    std::lock_guard lock(mu_);
    const uint64_t id = ++next_id_;
    watchers_[run_id].emplace(id, std::move(cb));
    return id;
  }

  void Unsubscribe(const std::string& run_id, uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = watchers_.find(run_id);
    if (it == watchers_.end()) {
      return;
    }
    it->second.erase(id);
    if (it->second.empty()) {
      watchers_.erase(it);
    }
  }

  void Notify(const std::vector<std::string>& run_ids) {
    std::lock_guard lock(mu_);
    if (watchers_.empty()) {
      return;
    }
    for (const std::string& run_id : run_ids) {
      auto it = watchers_.find(run_id);
      if (it == watchers_.end()) {
        continue;
      }
      for (auto& [id, cb] : it->second) {
        cb();
      }
    }
  }

 private:
  std::mutex mu_;
  uint64_t next_id_ = 0;                                                    // guarded by mu_
  std::unordered_map<std::string, std::map<uint64_t, Callback>> watchers_;  // guarded by mu_
};

}  // namespace sw
