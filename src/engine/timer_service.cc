#include "engine/timer_service.h"

#include <chrono>

#include "core/thread_name.h"

namespace sw {

namespace {
std::string Key(const TimerRecord& t) { return t.run_id + "/" + std::string(ToString(t.kind)); }
}  // namespace

TimerService::TimerService(Store& store, const Clock& clock, FireFn fire)
    : store_(store), clock_(clock), fire_(std::move(fire)) {}

TimerService::~TimerService() { Stop(); }

void TimerService::Start() {
  thread_ = std::thread([this] {
    NameThisThread("sw-timers");
    Loop();
  });
}

void TimerService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void TimerService::Add(const TimerRecord& timer) {
  {
    std::lock_guard lock(mu_);
    if (timer.due_at > clock_.NowMs() + kHorizonMs || loaded_.size() >= kMaxLoaded) {
      return;  // a refresh finds it when it comes near
    }
    if (!loaded_.insert(Key(timer)).second) {
      return;
    }
    heap_.push(timer);
    woken_ = true;
  }
  cv_.notify_all();
}

void TimerService::Poke() {
  {
    std::lock_guard lock(mu_);
    refresh_wanted_ = true;
  }
  cv_.notify_all();
}

size_t TimerService::Pending() const {
  std::lock_guard lock(mu_);
  return heap_.size();
}

void TimerService::Refresh(int64_t now) {
  Result<std::vector<TimerRecord>> near = store_.DueTimers(now + kHorizonMs, kMaxLoaded);
  if (!near.ok()) {
    return;
  }
  std::lock_guard lock(mu_);
  for (const TimerRecord& t : *near) {
    if (loaded_.size() >= kMaxLoaded) {
      break;
    }
    if (loaded_.insert(Key(t)).second) {
      heap_.push(t);
    }
  }
}

void TimerService::Loop() {
  int64_t next_refresh = 0;
  while (true) {
    const int64_t now = clock_.NowMs();
    if (now >= next_refresh) {
      Refresh(now);
      next_refresh = now + kRefreshMs;
    }
    std::vector<TimerRecord> due;
    {
      std::unique_lock lock(mu_);
      if (stopping_) {
        return;
      }
      while (!heap_.empty() && heap_.top().due_at <= now) {
        due.push_back(heap_.top());
        loaded_.erase(Key(heap_.top()));
        heap_.pop();
      }
      if (due.empty()) {
        int64_t wake = next_refresh;
        if (!heap_.empty()) {
          wake = std::min(wake, heap_.top().due_at);
        }
        const int64_t wait_ms = std::max<int64_t>(1, wake - now);
        cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                     [&] { return stopping_ || woken_ || refresh_wanted_; });
        if (refresh_wanted_) {
          next_refresh = 0;  // the clock moved: look for newly due timers at once
        }
        woken_ = false;
        refresh_wanted_ = false;
        continue;
      }
    }
    for (const TimerRecord& t : due) {
      fire_(t);
    }
  }
}

}  // namespace sw
