// CancellationToken: one per step attempt. The engine fires it after a cancel is
// committed (or on shutdown); the work in flight (an HTTP request, later a process)
// registers a callback that stops it. Firing twice is harmless; a callback registered
// after the token fired runs at once.
//
// Thread-safe. Shared (shared_ptr) by the engine, which fires it, and the work, which
// listens; it lives until both let go.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace sw {

enum class CancelReason { kNone, kUser, kShutdown, kDeadline };

class CancellationToken {
 public:
  void Fire(CancelReason reason) {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mu_);
      if (reason_ != CancelReason::kNone) {
        return;
      }
      reason_ = reason;
      callbacks.swap(callbacks_);
    }
    for (auto& cb : callbacks) {
      cb();
    }
  }

  bool fired() const {
    std::lock_guard lock(mu_);
    return reason_ != CancelReason::kNone;
  }

  CancelReason reason() const {
    std::lock_guard lock(mu_);
    return reason_;
  }

  // Runs `cb` when the token fires (at once if it already has). `cb` must be cheap and
  // thread-safe: it runs on the firing thread.
  void OnFire(std::function<void()> cb) {
    {
      std::lock_guard lock(mu_);
      if (reason_ == CancelReason::kNone) {
        callbacks_.push_back(std::move(cb));
        return;
      }
    }
    cb();
  }

 private:
  mutable std::mutex mu_;
  CancelReason reason_ = CancelReason::kNone;     // guarded by mu_
  std::vector<std::function<void()>> callbacks_;  // guarded by mu_
};

}  // namespace sw
