#include "engine/spend.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "core/thread_name.h"

namespace sw {

namespace {

// The longest the watch sleeps without looking at the clock: a system clock moves
// without a Poke (and may be set forward).
constexpr std::chrono::seconds kLookEvery{30};

}  // namespace

int64_t PriceBook::PriceOf(const std::string& workspace_id, std::string_view step_type) {
  std::shared_ptr<const Prices> prices;
  {
    std::lock_guard lock(mu_);
    if (auto it = by_workspace_.find(workspace_id); it != by_workspace_.end()) {
      prices = it->second.prices;
    }
  }
  if (!prices) {
    Result<BillingRecord> billing = store_.GetBilling(workspace_id, clock_.NowMs());
    if (!billing.ok()) {
      spdlog::error("workspace {}: cannot read its prices: {}", workspace_id,
                    billing.status().message());
      return 0;
    }
    prices = std::make_shared<const Prices>(std::move(billing->prices));
    std::lock_guard lock(mu_);
    Entry& e = by_workspace_[workspace_id];
    if (!e.prices) {
      e.prices = prices;
    }
  }
  return prices->empty() ? 0 : sw::PriceOf(*prices, step_type);
}

void PriceBook::Forget(const std::string& workspace_id) {
  std::lock_guard lock(mu_);
  by_workspace_.erase(workspace_id);
}

void PriceBook::SetTight(const std::string& workspace_id) {
  std::lock_guard lock(mu_);
  by_workspace_[workspace_id].tight = true;
}

bool PriceBook::Tight(const std::string& workspace_id) {
  std::lock_guard lock(mu_);
  auto it = by_workspace_.find(workspace_id);
  return it != by_workspace_.end() && it->second.tight;
}

PeriodWatch::PeriodWatch(const Clock& clock, std::function<void()> settle)
    : clock_(clock), settle_(std::move(settle)), thread_([this] {
        NameThisThread("sw-spend");
        Loop();
      }) {}

PeriodWatch::~PeriodWatch() { Stop(); }

void PeriodWatch::Poke() {
  // Under the lock: the loop reads the clock and starts waiting under it, so a move of
  // the clock is either seen by that read or wakes the wait.
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

void PeriodWatch::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void PeriodWatch::Loop() {
  std::unique_lock lock(mu_);
  int64_t period_end = PeriodEnd(clock_.NowMs());
  while (!stopping_) {
    const int64_t now = clock_.NowMs();
    if (now >= period_end) {
      period_end = PeriodEnd(now);
      lock.unlock();
      settle_();
      lock.lock();
      continue;
    }
    cv_.wait_for(lock, std::min<std::chrono::milliseconds>(
                           kLookEvery, std::chrono::milliseconds(period_end - now)));
  }
}

}  // namespace sw
