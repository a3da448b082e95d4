// Cron: the five-field expressions of schedules (minute hour day-of-month month
// day-of-week) and when they fire in a time zone.
//
// Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n` (`a/n` is `a-max/n`),
// and lists of those; months JAN..DEC and weekdays SUN..SAT by name (any case);
// weekday 7 is Sunday like 0. The macros @yearly (@annually), @monthly, @weekly,
// @daily (@midnight) and @hourly stand for their five fields. As in Vixie cron, when
// both day-of-month and day-of-week are restricted (neither starts with `*`) a day
// matches if either does; otherwise both must.
//
// Time zones (the rules of NextFireTime): a schedule fires at local wall-clock times.
// - A local time that does not exist (the hour skipped when clocks go forward) fires
//   at the instant the gap ends, once, when the hour field is restricted ("30 2 * * *"
//   fires at 03:00 on that day); with `*` hours it is simply not a time of that day
//   (the next matching minute after the gap fires).
// - A local time that happens twice (the hour repeated when clocks go back) fires
//   once, at its first occurrence, when the hour field is restricted; with `*` hours
//   it fires at both, so "*/15 * * * *" keeps firing every 15 real minutes.
//
// Pure: no I/O, clocks or threads. A date::time_zone is data the caller looks up
// (control/ does, from the system's tz database) and passes in. Thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace date {
class time_zone;
}

namespace sw {

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // 1..31
  std::bitset<13> months;         // 1..12
  std::bitset<7> days_of_week;    // 0 (Sunday) .. 6
  bool hours_restricted = false;  // the hour field does not start with `*`
  bool dom_restricted = false;
  bool dow_restricted = false;
};

// Years NextLocalMatch looks ahead before it says "never" ("0 0 29 2 1": Feb 29 on a
// Monday comes every 28 years at most, with the Gregorian century rule in between).
inline constexpr int kCronMaxSearchYears = 30;

// kInvalidArgument naming the field and what is wrong with it, e.g.
// `cron field 'hour': 24 is out of range 0-23`.
Result<CronSpec> ParseCron(std::string_view text);

// Minutes since 1970-01-01 00:00 of a civil (zone-less) calendar.
using LocalMinute = int64_t;

// The first local minute strictly after `after` that `spec` matches, or nullopt when
// none comes within kCronMaxSearchYears (e.g. "0 0 30 2 *").
std::optional<LocalMinute> NextLocalMatch(const CronSpec& spec, LocalMinute after);

// The first instant (ms since the epoch, UTC) strictly after `after_ms` at which `spec`
// fires in `zone`, by the rules above; nullopt when it never fires.
std::optional<int64_t> NextFireTime(const CronSpec& spec, const date::time_zone& zone,
                                    int64_t after_ms);

// Up to `count` consecutive fire times after `after_ms`.
std::vector<int64_t> NextFireTimes(const CronSpec& spec, const date::time_zone& zone,
                                   int64_t after_ms, int count);

}  // namespace sw
