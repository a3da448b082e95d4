// Spend in the engine: the prices of step attempts (PriceBook, read from the store
// once per workspace and kept in memory, so a dispatch costs no store read), and the
// watch that ends spend holds when the billing period rolls over (PeriodWatch, on the
// engine's clock, so `--fake-clock` moves it). The charge itself is written by the
// store with the commit that dispatches the attempts (store/billing_records.h).
//
// Thread-safe. PeriodWatch owns one thread, which calls `settle` (it must not block on
// anything but the store and the engine).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "core/billing.h"
#include "engine/clock.h"
#include "store/store.h"

namespace sw {

class PriceBook {
 public:
  PriceBook(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // The price of one attempt of `step_type` in the workspace (0 when none is set, or
  // when the store cannot be read: logged).
  int64_t PriceOf(const std::string& workspace_id, std::string_view step_type);
  // The workspace's settings changed: read them again at its next dispatch.
  void Forget(const std::string& workspace_id);
  // A commit of several priced attempts was refused at the cap: until the settings
  // change, each priced attempt is committed on its own, so every one that fits under
  // the cap is made (and no more).
  void SetTight(const std::string& workspace_id);
  bool Tight(const std::string& workspace_id);

 private:
  struct Entry {
    std::shared_ptr<const Prices> prices;  // null until read
    bool tight = false;
  };
  Store& store_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> by_workspace_;  // guarded by mu_
};

class PeriodWatch {
 public:
  // Calls `settle` at the start of every billing period (core/billing.h) after the one
  // it was made in.
  PeriodWatch(const Clock& clock, std::function<void()> settle);
  ~PeriodWatch();
  PeriodWatch(const PeriodWatch&) = delete;
  PeriodWatch& operator=(const PeriodWatch&) = delete;

  // The clock moved (fake clock): look at it now.
  void Poke();
  void Stop();

 private:
  void Loop();

  const Clock& clock_;
  std::function<void()> settle_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace sw
