// IdSource makes server ids ("run_01JD..."). Monotonic within a process: two ids made
// in the same millisecond differ by one in their random part, so ids sort in the order
// they were made.
//
// Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "core/ids.h"
#include "engine/clock.h"

namespace sw {

class IdSource {
 public:
  explicit IdSource(const Clock& clock) : clock_(clock), rng_(std::random_device{}()) {}

  std::string Next(std::string_view prefix) {
    std::lock_guard lock(mu_);
    int64_t now = clock_.NowMs();
    if (now <= last_ms_) {
      now = last_ms_;
      for (int i = 9; i >= 0 && ++last_random_[i] == 0; --i) {
      }
    } else {
      last_ms_ = now;
      for (uint8_t& b : last_random_) {
        b = static_cast<uint8_t>(rng_());
      }
      last_random_[0] &= 0x7f;  // room to count up within the millisecond
    }
    return MakeId(prefix, now, last_random_);
  }

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::mt19937_64 rng_;                    // guarded by mu_
  int64_t last_ms_ = 0;                    // guarded by mu_
  std::array<uint8_t, 10> last_random_{};  // guarded by mu_
};

}  // namespace sw
