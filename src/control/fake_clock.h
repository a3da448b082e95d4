// FakeClockControl moves the wall clock of a server started with --fake-clock (tests
// only: POST /api/v1/testing/clock/advance) and has the engine's timers look at the new
// time at once.
//
// Thread-safe. Borrows the clock and the engine, which outlive it.
#pragma once

#include <cstdint>

#include "engine/clock.h"
#include "engine/engine.h"

namespace sw {

class FakeClockControl {
 public:
  FakeClockControl(ManualClock& clock, Engine& engine) : clock_(clock), engine_(engine) {}

  // REQUIRES: ms >= 0. Answers the new time (ms since the epoch).
  int64_t Advance(int64_t ms);

 private:
  ManualClock& clock_;
  Engine& engine_;
};

}  // namespace sw
