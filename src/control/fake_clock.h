// FakeClockControl moves the wall clock of a server started with --fake-clock (tests
// only: POST /api/v1/testing/clock/advance) and has the engine's timers (and whatever
// else waits on the clock, such as the notification outbox's back-offs) look at the
// new time at once. Several instances move together: an advance on one is told to the
// others (kClockAdvanced), which move theirs by as much.
//
// Thread-safe. Borrows the clock and the engine, which outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "engine/clock.h"
#include "engine/engine.h"
#include "store/notifier.h"

namespace sw {

class FakeClockControl {
 public:
  // `also_wake` (may be empty) runs after each advance, like the engine's timers;
  // `peers` (null with one instance) outlives this.
  FakeClockControl(ManualClock& clock, Engine& engine, std::function<void()> also_wake = {},
                   Notifier* peers = nullptr)
      : clock_(clock), engine_(engine), also_wake_(std::move(also_wake)), peers_(peers) {}

  // REQUIRES: ms >= 0. Answers the new time (ms since the epoch).
  int64_t Advance(int64_t ms);
  // Another instance moved its clock by `ms` (>= 0): this one follows.
  void AdvancedElsewhere(int64_t ms);

 private:
  int64_t AdvanceHere(int64_t ms);

  ManualClock& clock_;
  Engine& engine_;
  const std::function<void()> also_wake_;
  Notifier* const peers_;
};

}  // namespace sw
