// RFC 3339 timestamps, UTC with milliseconds ("2026-11-22T10:00:00.000Z").
// Times are plain integers of milliseconds since the Unix epoch (`*_ms`); core/
// never reads a clock. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sw {

// Always "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatTime(int64_t unix_ms);

// Accepts RFC 3339 with 'Z' or a numeric offset ("+02:00"), optional fraction of
// any length (truncated to ms), 'T' or 't'. Returns milliseconds since the epoch.
Result<int64_t> ParseTime(std::string_view text);

}  // namespace sw
