// RunWatch tells waiting clients (long-polls, SSE streams) that a run changed. The
// store's change listener calls Notify after each commit; a watcher's callback then
// re-reads the run on its own thread. The signals travel through a Notifier (in
// memory in one process; between instances with several).
//
// Thread-safe. Callbacks run on the notifying thread (the store's writer): they must
// only hand work off, never block or call back into RunWatch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "store/notifier.h"

namespace sw {

class RunWatch {
 public:
  using Callback = std::function<void()>;

  // `notifier` outlives the watch; null: signals stay in this process.
  explicit RunWatch(Notifier* notifier = nullptr)
      : notifier_(notifier != nullptr ? *notifier : local_) {}

  uint64_t Subscribe(const std::string& run_id, Callback cb) {
    return notifier_.Subscribe(Notifier::Topic::kRunChanged, run_id, std::move(cb));
  }

  void Unsubscribe(const std::string& /*run_id*/, uint64_t id) { notifier_.Unsubscribe(id); }

  void Notify(const std::vector<std::string>& run_ids) {
    notifier_.Publish(Notifier::Topic::kRunChanged, run_ids);
  }

 private:
  LocalNotifier local_;
  Notifier& notifier_;
};

}  // namespace sw
