// Durations as written in definitions: "500ms", "30s", "5m", "2h", "7d".
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sw {

// The longest duration a definition may name (a run lasts at most a year).
inline constexpr std::chrono::milliseconds kMaxDuration{366LL * 24 * 3600 * 1000};

// Parses "<positive integer><unit>" with unit ms|s|m|h|d. Zero is allowed ("0s").
// Errors (kInvalidArgument) say what is wrong: empty, no unit, unknown unit, not a
// number, negative, or longer than kMaxDuration.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest exact spelling: 90000ms -> "90s", 1500ms -> "1500ms", 2h -> "2h".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace sw
