#include "engine/retention_sweeper.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "core/thread_name.h"

namespace sw {

RetentionSweeper::RetentionSweeper(Store& store, const Clock& clock, RetentionOptions options)
    : store_(store), clock_(clock), options_(options) {}

RetentionSweeper::~RetentionSweeper() { Stop(); }

void RetentionSweeper::Start() {
  thread_ = std::thread([this] {
    NameThisThread("sw-retention");
    Loop();
  });
}

void RetentionSweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void RetentionSweeper::Poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

Result<int64_t> RetentionSweeper::SweepOnce() {
  int64_t deleted = 0;
  for (int i = 0; i < options_.max_batches; ++i) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        break;
      }
    }
    Result<RetentionBatch> batch = store_.DeleteExpiredRuns(clock_.NowMs(), options_.batch);
    if (!batch.ok()) {
      return batch.status();
    }
    deleted += batch->deleted;
    if (!batch->more) {
      break;
    }
  }
  return deleted;
}

void RetentionSweeper::Loop() {
  while (true) {
    Result<int64_t> deleted = SweepOnce();
    if (!deleted.ok()) {
      spdlog::warn("event=retention.sweep_failed error=\"{}\"", deleted.status().message());
    } else if (*deleted > 0) {
      spdlog::info("event=retention.swept deleted={}", *deleted);
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_ms),
                 [this] { return poked_ || stopping_; });
    if (stopping_) {
      return;
    }
    poked_ = false;
  }
}

}  // namespace sw
