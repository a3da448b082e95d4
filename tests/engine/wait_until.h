// WaitUntil, for tests of code whose threads change state: polls a condition every
// millisecond. The bound only keeps a broken build from hanging; a test asserts on the
// answer.
#pragma once

#include <chrono>
#include <thread>

namespace sw::test {

template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace sw::test
