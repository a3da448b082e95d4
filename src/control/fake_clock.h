// FakeClockControl moves the wall clock of a server started with --fake-clock (tests
// only: POST /api/v1/testing/clock/advance) and has the engine's timers (and whatever
// else waits on the clock, such as the notification outbox's back-offs) look at the
// new time at once.
//
// Thread-safe. Borrows the clock and the engine, which outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "engine/clock.h"
#include "engine/engine.h"

namespace sw {

class FakeClockControl {
 public:
  // `also_wake` (may be empty) runs after each advance, like the engine's timers.
  FakeClockControl(ManualClock& clock, Engine& engine, std::function<void()> also_wake = {})
      : clock_(clock), engine_(engine), also_wake_(std::move(also_wake)) {}

  // REQUIRES: ms >= 0. Answers the new time (ms since the epoch).
  int64_t Advance(int64_t ms);

 private:
  ManualClock& clock_;
  Engine& engine_;
  const std::function<void()> also_wake_;
};

}  // namespace sw
