// The workspace's retention of finished runs as the API reads and writes it
// (`GET/PUT /api/v1/retention`): `{"finished_runs_max_age": "30d" | null,
// "finished_runs_max_count": N | null}`; null (or left out of a PUT) is no limit.
//
// Pure functions; the ControlService methods that use them live in control/retention.cc.
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "store/store.h"

namespace sw {

// The longest age a retention may keep runs for, and the largest count.
inline constexpr int64_t kMaxRetentionAgeMs = 100LL * 366 * 24 * 3600 * 1000;
inline constexpr int64_t kMaxRetentionCount = 1'000'000'000;

// A PUT body: kInvalidArgument naming the field (detail.field) for an unknown key, an
// age that is not a duration of at least 1 ms and at most 100 years ("<integer><unit>",
// unit ms, s, m, h or d), or a count that is not an integer from 0 to 1e9.
Result<RetentionSettings> ParseRetention(const nlohmann::json& body);

nlohmann::json RetentionJson(const RetentionSettings& r);

}  // namespace sw
