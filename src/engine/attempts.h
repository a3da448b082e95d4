// What the engine and the agent queue both record about a step's attempts: the entry of
// a failed attempt in the step's `attempts`, and the random draw that spreads retries.
// Thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>

#include "core/time_format.h"

namespace sw {

// An entry of a step's `attempts`: its number, times, duration and error.
inline nlohmann::json AttemptRecord(int attempt, int64_t started_at, int64_t finished_at,
                                    nlohmann::json error) {
  return {{"attempt", attempt},
          {"started_at", FormatTime(started_at)},
          {"finished_at", FormatTime(finished_at)},
          {"duration_ms", std::max<int64_t>(0, finished_at - started_at)},
          {"error", std::move(error)}};
}

// A uniform number in [0, 1), for retry jitter (RetryDelay's `random01`).
inline double UniformRandom01() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace sw
