#include "core/cron.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>

namespace sw {
namespace {

struct FieldRule {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names[i] stands for min + i, or null
  int name_count;
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr std::array<FieldRule, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, kMonthNames, 12},
    // 7 is Sunday too; folded into 0 after parsing.
    {"day-of-week", 0, 7, kDayNames, 7},
}};

Status FieldError(const FieldRule& rule, const std::string& what) {
  return InvalidArgument(std::string("cron field '") + rule.name + "': " + what);
}

Result<int> ParseValue(const FieldRule& rule, std::string_view text) {
  if (text.empty()) {
    return FieldError(rule, "a value is missing");
  }
  if (rule.names != nullptr && std::isalpha(static_cast<unsigned char>(text[0]))) {
    std::string upper(text);
    for (char& c : upper) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    for (int i = 0; i < rule.name_count; ++i) {
      if (upper == rule.names[i]) {
        return rule.min + i;
      }
    }
    return FieldError(rule, "unknown name '" + std::string(text) + "'");
  }
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return FieldError(rule, "'" + std::string(text) + "' is not a number");
  }
  if (value < rule.min || value > rule.max) {
    return FieldError(rule, std::to_string(value) + " is out of range " + std::to_string(rule.min) +
                                "-" + std::to_string(rule.max));
  }
  return value;
}

// One item of a field's list: `*`, `a`, `a-b`, each with an optional `/step`.
Status ParseItem(const FieldRule& rule, std::string_view item, std::vector<bool>& set) {
  int step = 1;
  const size_t slash = item.find('/');
  std::string_view range = item.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view step_text = item.substr(slash + 1);
    auto [end, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), step);
    if (ec != std::errc() || end != step_text.data() + step_text.size() || step < 1 ||
        step > rule.max) {
      return FieldError(rule, "bad step '" + std::string(step_text) + "'");
    }
  }
  int lo = rule.min;
  int hi = rule.max;
  if (range != "*") {
    const size_t dash = range.find('-');
    Result<int> first = ParseValue(rule, range.substr(0, dash));
    if (!first.ok()) {
      return first.status();
    }
    lo = *first;
    hi = slash != std::string_view::npos ? rule.max : lo;
    if (dash != std::string_view::npos) {
      Result<int> last = ParseValue(rule, range.substr(dash + 1));
      if (!last.ok()) {
        return last.status();
      }
      hi = *last;
    }
    if (hi < lo) {
      return FieldError(rule, "range '" + std::string(range) + "' goes backwards");
    }
  }
  for (int v = lo; v <= hi; v += step) {
    set[static_cast<size_t>(v - rule.min)] = true;
  }
  return Status::Ok();
}

Result<std::vector<bool>> ParseField(const FieldRule& rule, std::string_view text) {
  std::vector<bool> set(static_cast<size_t>(rule.max - rule.min + 1), false);
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma - start);
    if (item.empty()) {
      return FieldError(rule, "an empty list item");
    }
    if (Status s = ParseItem(rule, item, set); !s.ok()) {
      return s;
    }
    if (comma == std::string_view::npos) {
      return set;
    }
    start = comma + 1;
  }
}

std::string_view ExpandMacro(std::string_view text) {
  if (text == "@yearly" || text == "@annually") {
    return "0 0 1 1 *";
  }
  if (text == "@monthly") {
    return "0 0 1 * *";
  }
  if (text == "@weekly") {
    return "0 0 * * 0";
  }
  if (text == "@daily" || text == "@midnight") {
    return "0 0 * * *";
  }
  if (text == "@hourly") {
    return "0 * * * *";
  }
  return text;
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size() && out.size() <= kFields.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    const size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    if (i > start) {
      out.push_back(text.substr(start, i - start));
    }
  }
  return out;
}

bool DayMatches(const CronSpec& spec, const date::year_month_day& ymd) {
  const bool dom = spec.days_of_month[static_cast<unsigned>(ymd.day())];
  const bool dow = spec.days_of_week[date::weekday(date::sys_days(ymd)).c_encoding()];
  if (spec.dom_restricted && spec.dow_restricted) {
    return dom || dow;
  }
  return dom && dow;
}

}  // namespace

Result<CronSpec> ParseCron(std::string_view text) {
  if (text.size() > 256) {
    return InvalidArgument("cron expression is longer than 256 characters");
  }
  std::vector<std::string_view> fields = SplitFields(ExpandMacro(text));
  if (fields.size() != kFields.size()) {
    return InvalidArgument(
        "cron expression must have 5 fields (minute hour day-of-month month day-of-week), got " +
        std::to_string(fields.size()));
  }
  std::array<std::vector<bool>, 5> sets;
  for (size_t i = 0; i < kFields.size(); ++i) {
    Result<std::vector<bool>> set = ParseField(kFields[i], fields[i]);
    if (!set.ok()) {
      return set.status();
    }
    sets[i] = std::move(set).value();
  }
  CronSpec spec;
  for (int m = 0; m < 60; ++m) {
    spec.minutes[m] = sets[0][m];
  }
  for (int h = 0; h < 24; ++h) {
    spec.hours[h] = sets[1][h];
  }
  for (int d = 1; d <= 31; ++d) {
    spec.days_of_month[d] = sets[2][d - 1];
  }
  for (int mo = 1; mo <= 12; ++mo) {
    spec.months[mo] = sets[3][mo - 1];
  }
  for (int w = 0; w < 7; ++w) {
    spec.days_of_week[w] = sets[4][w];
  }
  if (sets[4][7]) {
    spec.days_of_week[0] = true;
  }
  spec.hours_restricted = fields[1][0] != '*';
  spec.dom_restricted = fields[2][0] != '*';
  spec.dow_restricted = fields[4][0] != '*';
  return spec;
}

std::optional<LocalMinute> NextLocalMatch(const CronSpec& spec, LocalMinute after) {
  using date::days;
  using std::chrono::hours;
  using std::chrono::minutes;
  date::local_time<minutes> t{minutes(after + 1)};
  const date::local_days first_day = date::floor<days>(t);
  const int last_year =
      static_cast<int>(date::year_month_day(first_day).year()) + kCronMaxSearchYears;
  // Each turn moves to the next month, day, hour or minute that may match; a day that
  // does not match costs one turn, so this ends within about 30 * 366 * 2 turns.
  while (true) {
    const date::local_days day = date::floor<days>(t);
    const date::year_month_day ymd(day);
    if (static_cast<int>(ymd.year()) > last_year) {
      return std::nullopt;
    }
    if (!spec.months[static_cast<unsigned>(ymd.month())]) {
      const date::year_month next = date::year_month(ymd.year(), ymd.month()) + date::months(1);
      t = date::local_days(next / 1);
      continue;
    }
    if (!DayMatches(spec, ymd)) {
      t = day + days(1);
      continue;
    }
    const auto time_of_day = t - day;
    const int hour = static_cast<int>(date::floor<hours>(time_of_day).count());
    const int minute = static_cast<int>((date::floor<minutes>(time_of_day) - hours(hour)).count());
    if (!spec.hours[hour]) {
      t = day + hours(hour + 1);
      continue;
    }
    int m = minute;
    while (m < 60 && !spec.minutes[m]) {
      ++m;
    }
    if (m == 60) {
      t = day + hours(hour + 1);
      continue;
    }
    return (day + hours(hour) + minutes(m)).time_since_epoch().count();
  }
}

namespace {

// The instants (ms) at which local minute `m` fires in `zone`, by the rules in cron.h.
std::vector<int64_t> InstantsOf(const CronSpec& spec, const date::time_zone& zone, LocalMinute m) {
  using std::chrono::minutes;
  using std::chrono::seconds;
  const date::local_seconds local{minutes(m)};
  const date::local_info info = zone.get_info(local);
  auto at = [&](const date::sys_info& offset) {
    return (local.time_since_epoch() - offset.offset).count() * 1000;
  };
  switch (info.result) {
    case date::local_info::unique:
      return {at(info.first)};
    case date::local_info::nonexistent:
      if (spec.hours_restricted) {
        return {std::chrono::duration_cast<seconds>(info.second.begin.time_since_epoch()).count() *
                1000};
      }
      return {};
    case date::local_info::ambiguous:
      if (spec.hours_restricted) {
        return {at(info.first)};
      }
      return {at(info.first), at(info.second)};
  }
  return {};
}

// Zone offsets differ by less than this across a transition (the largest ever is 2 h),
// so a local minute this far before `after`'s local time cannot fire after it.
constexpr int64_t kZoneShiftMarginMinutes = 3 * 60;

// Whether a change of the zone's offset lies within the margin of `ms`: only there can
// local order and instant order disagree.
bool NearTransition(const date::time_zone& zone, int64_t ms) {
  using std::chrono::seconds;
  const int64_t s = ms / 1000;
  const date::sys_info info = zone.get_info(date::sys_seconds{seconds(s)});
  const int64_t margin = kZoneShiftMarginMinutes * 60;
  return s - info.begin.time_since_epoch().count() < margin ||
         info.end.time_since_epoch().count() - s < margin;
}

}  // namespace

std::optional<int64_t> NextFireTime(const CronSpec& spec, const date::time_zone& zone,
                                    int64_t after_ms) {
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  const date::sys_time<milliseconds> after{milliseconds(after_ms)};
  const LocalMinute local_after =
      date::floor<minutes>(zone.to_local(after)).time_since_epoch().count();
  std::optional<int64_t> best;
  std::optional<LocalMinute> best_local;
  // Away from a transition local order is instant order: start at `after`'s minute and
  // take the first fire. Near one, look from the margin before and on past the first.
  const bool near_after = NearTransition(zone, after_ms);
  LocalMinute cursor = near_after ? local_after - kZoneShiftMarginMinutes - 1 : local_after - 1;
  // Bounded: the margin before and after the first fire holds at most 2 * 3 * 60
  // candidate minutes, plus the search to the first fire (one NextLocalMatch each).
  for (int turn = 0; turn < 4 * 60 * 24; ++turn) {
    std::optional<LocalMinute> m = NextLocalMatch(spec, cursor);
    if (!m || (best_local && *m > *best_local + kZoneShiftMarginMinutes)) {
      break;
    }
    for (int64_t at : InstantsOf(spec, zone, *m)) {
      if (at > after_ms && (!best || at < *best)) {
        best = at;
        best_local = *m;
      }
    }
    if (best && !near_after && !NearTransition(zone, *best)) {
      break;
    }
    cursor = *m;
  }
  return best;
}

std::vector<int64_t> NextFireTimes(const CronSpec& spec, const date::time_zone& zone,
                                   int64_t after_ms, int count) {
  std::vector<int64_t> out;
  int64_t cursor = after_ms;
  for (int i = 0; i < count; ++i) {
    std::optional<int64_t> next = NextFireTime(spec, zone, cursor);
    if (!next) {
      break;
    }
    out.push_back(*next);
    cursor = *next;
  }
  return out;
}

}  // namespace sw
