// WorkerPool: a fixed set of threads running posted tasks in FIFO order.
//
// Thread-safe. Stop (also run by the destructor) drops the tasks not yet started and
// joins the threads; tasks posted after Stop are dropped.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_name.h"

namespace sw {

class WorkerPool {
 public:
  // `name` names the threads ("sw-worker" gives "sw-worker-1", "sw-worker-2", ...).
  WorkerPool(int threads, const std::string& name) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, n = name + "-" + std::to_string(i + 1)] {
        NameThisThread(n);
        Loop();
      });
    }
  }
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        return;
      }
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  // Tasks posted and not yet taken by a thread.
  size_t Depth() const {
    std::lock_guard lock(mu_);
    return tasks_.size();
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        return;
      }
      stopping_ = true;
      tasks_.clear();
    }
    cv_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (stopping_) {
          return;
        }
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace sw
