#include "control/fake_clock.h"

#include "core/result.h"

namespace sw {

int64_t FakeClockControl::Advance(int64_t ms) {
  SW_CHECK(ms >= 0);
  clock_.Advance(ms);
  engine_.PokeTimers();
  if (also_wake_) {
    also_wake_();
  }
  return clock_.NowMs();
}

}  // namespace sw
