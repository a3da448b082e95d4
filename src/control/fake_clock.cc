#include "control/fake_clock.h"

#include <string>

#include "core/result.h"

namespace sw {

int64_t FakeClockControl::Advance(int64_t ms) {
  const int64_t now = AdvanceHere(ms);
  if (peers_ != nullptr && ms > 0) {
    peers_->Publish(Notifier::Topic::kClockAdvanced, std::to_string(ms));
  }
  return now;
}

void FakeClockControl::AdvancedElsewhere(int64_t ms) {
  if (ms > 0) {
    AdvanceHere(ms);
  }
}

int64_t FakeClockControl::AdvanceHere(int64_t ms) {
  SW_CHECK(ms >= 0);
  clock_.Advance(ms);
  engine_.PokeTimers();
  if (also_wake_) {
    also_wake_();
  }
  return clock_.NowMs();
}

}  // namespace sw
