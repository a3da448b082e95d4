// Notifier carries "something changed" signals between the parts of Stepwell that wait
// for one another: a run changed (long polls and SSE streams of that run), a task was
// queued on an agent queue (long-polling claims). In one process a signal is a call in
// memory (LocalNotifier); several instances on PostgreSQL carry them between instances
// too (LISTEN/NOTIFY), behind the same interface. A signal says only "look again": the
// subscriber re-reads what it waits for, so a lost or repeated signal costs a read.
//
// Implementations are thread-safe. Callbacks run on the publishing thread (often the
// store's writer) while the notifier holds its lock: they must only hand work off,
// never block or call the notifier. Unsubscribe returns after any callback of that
// subscription has finished.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sw {

class Notifier {
 public:
  enum class Topic {
    kRunChanged,    // key: the run id
    kTaskQueued,    // key: TaskQueueKey(workspace, queue)
    kRunCancelled,  // key: the run id; its work in flight stops wherever it runs
    // Between instances only (nothing subscribes in a process):
    kWorkflowHold,       // key: "workspace/workflow"; its safety hold was recorded or ended
    kBillingChanged,     // key: the workspace id; its prices and cap changed
    kConnectionChanged,  // key: the connection id; reconnected or deleted
    kClockAdvanced,      // key: milliseconds; the fake clock (--fake-clock) moved by that
  };
  using Callback = std::function<void()>;

  virtual ~Notifier() = default;
  // `cb` runs on every Publish of (topic, key) until Unsubscribe(handle).
  virtual uint64_t Subscribe(Topic topic, const std::string& key, Callback cb) = 0;
  virtual void Unsubscribe(uint64_t handle) = 0;
  virtual void Publish(Topic topic, const std::vector<std::string>& keys) = 0;
  void Publish(Topic topic, const std::string& key) { Publish(topic, std::vector{key}); }
};

inline std::string TaskQueueKey(const std::string& workspace_id, const std::string& queue) {
  return workspace_id + "/" + queue;
}

// One process: subscriptions in memory.
class LocalNotifier final : public Notifier {
 public:
  using Notifier::Publish;
  uint64_t Subscribe(Topic topic, const std::string& key, Callback cb) override {
    std::lock_guard lock(mu_);
    const uint64_t handle = ++next_handle_;
    subscribers_[{topic, key}].emplace(handle, std::move(cb));
    keys_.emplace(handle, std::make_pair(topic, key));
    return handle;
  }

  void Unsubscribe(uint64_t handle) override {
    std::lock_guard lock(mu_);
    auto key = keys_.find(handle);
    if (key == keys_.end()) {
      return;
    }
    auto subs = subscribers_.find(key->second);
    subs->second.erase(handle);
    if (subs->second.empty()) {
      subscribers_.erase(subs);
    }
    keys_.erase(key);
  }

  void Publish(Topic topic, const std::vector<std::string>& keys) override {
    std::lock_guard lock(mu_);
    if (subscribers_.empty()) {
      return;  // the common case after a commit: nobody waits
    }
    for (const std::string& key : keys) {
      auto subs = subscribers_.find({topic, key});
      if (subs == subscribers_.end()) {
        continue;
      }
      for (auto& [handle, cb] : subs->second) {
        cb();
      }
    }
  }

 private:
  using Key = std::pair<Topic, std::string>;
  std::mutex mu_;
  uint64_t next_handle_ = 0;                                 // guarded by mu_
  std::map<Key, std::map<uint64_t, Callback>> subscribers_;  // guarded by mu_
  std::unordered_map<uint64_t, Key> keys_;                   // guarded by mu_
};

}  // namespace sw
