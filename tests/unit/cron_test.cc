// The cron parser and next-fire computation (core/cron.h): fields, lists, ranges,
// steps, names, the day-of-month/day-of-week OR rule, month ends, leap years, and the
// two kinds of DST transition in America/New_York and Europe/Berlin.
#include "core/cron.h"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/time_format.h"

namespace sw {
namespace {

int64_t Utc(const std::string& rfc3339) {
  Result<int64_t> ms = ParseTime(rfc3339);
  EXPECT_TRUE(ms.ok()) << rfc3339;
  return ms.ok() ? *ms : 0;
}

std::vector<std::string> Fires(const std::string& cron, const std::string& zone,
                               const std::string& after, int count) {
  Result<CronSpec> spec = ParseCron(cron);
  EXPECT_TRUE(spec.ok()) << cron << ": " << spec.status().message();
  std::vector<std::string> out;
  if (!spec.ok()) {
    return out;
  }
  for (int64_t ms : NextFireTimes(*spec, *date::locate_zone(zone), Utc(after), count)) {
    out.push_back(FormatTime(ms));
  }
  return out;
}

std::string ErrorOf(const std::string& cron) {
  Result<CronSpec> spec = ParseCron(cron);
  return spec.ok() ? "ok" : spec.status().message();
}

TEST(CronTest, EveryMinuteFiresOnEachMinuteStrictlyAfter) {
  EXPECT_EQ(Fires("* * * * *", "UTC", "2026-01-01T10:00:00.000Z", 3),
            (std::vector<std::string>{"2026-01-01T10:01:00.000Z", "2026-01-01T10:02:00.000Z",
                                      "2026-01-01T10:03:00.000Z"}));
  EXPECT_EQ(Fires("* * * * *", "UTC", "2026-01-01T10:00:30.500Z", 1),
            (std::vector<std::string>{"2026-01-01T10:01:00.000Z"}));
}

TEST(CronTest, StepsRangesAndListsCombine) {
  EXPECT_EQ(Fires("*/20 9-10 * * *", "UTC", "2026-03-01T00:00:00.000Z", 7),
            (std::vector<std::string>{"2026-03-01T09:00:00.000Z", "2026-03-01T09:20:00.000Z",
                                      "2026-03-01T09:40:00.000Z", "2026-03-01T10:00:00.000Z",
                                      "2026-03-01T10:20:00.000Z", "2026-03-01T10:40:00.000Z",
                                      "2026-03-02T09:00:00.000Z"}));
  EXPECT_EQ(Fires("5,10-12,50-59/5 0 * * *", "UTC", "2026-03-01T00:00:00.000Z", 6),
            (std::vector<std::string>{"2026-03-01T00:05:00.000Z", "2026-03-01T00:10:00.000Z",
                                      "2026-03-01T00:11:00.000Z", "2026-03-01T00:12:00.000Z",
                                      "2026-03-01T00:50:00.000Z", "2026-03-01T00:55:00.000Z"}));
  // `a/n` is `a-max/n`.
  EXPECT_EQ(Fires("0 20/2 * * *", "UTC", "2026-03-01T00:00:00.000Z", 3),
            (std::vector<std::string>{"2026-03-01T20:00:00.000Z", "2026-03-01T22:00:00.000Z",
                                      "2026-03-02T20:00:00.000Z"}));
}

TEST(CronTest, NamesOfMonthsAndWeekdaysInAnyCase) {
  // 2026-06-01 is a Monday.
  EXPECT_EQ(Fires("0 8 * jun-Jul MON-wed", "UTC", "2026-05-30T00:00:00.000Z", 4),
            (std::vector<std::string>{"2026-06-01T08:00:00.000Z", "2026-06-02T08:00:00.000Z",
                                      "2026-06-03T08:00:00.000Z", "2026-06-08T08:00:00.000Z"}));
  EXPECT_EQ(Fires("0 0 * * 7", "UTC", "2026-06-01T00:00:00.000Z", 1),
            (std::vector<std::string>{"2026-06-07T00:00:00.000Z"}));  // 7 is Sunday
  EXPECT_EQ(Fires("0 0 * * SUN", "UTC", "2026-06-01T00:00:00.000Z", 1),
            (std::vector<std::string>{"2026-06-07T00:00:00.000Z"}));
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 13th or any Friday (2026-02-13 is a Friday; 2026-03-13 is a Friday too).
  EXPECT_EQ(Fires("0 0 13 * 5", "UTC", "2026-02-01T00:00:00.000Z", 4),
            (std::vector<std::string>{"2026-02-06T00:00:00.000Z", "2026-02-13T00:00:00.000Z",
                                      "2026-02-20T00:00:00.000Z", "2026-02-27T00:00:00.000Z"}));
  // A `*`-led field is not restricted: both must match (Fridays in */2 days).
  EXPECT_EQ(Fires("0 0 */2 * 5", "UTC", "2026-02-01T00:00:00.000Z", 2),
            (std::vector<std::string>{"2026-02-13T00:00:00.000Z", "2026-02-27T00:00:00.000Z"}));
}

TEST(CronTest, MonthEndsSkipMonthsWithoutTheDay) {
  EXPECT_EQ(Fires("0 12 31 * *", "UTC", "2026-01-31T12:00:00.000Z", 3),
            (std::vector<std::string>{"2026-03-31T12:00:00.000Z", "2026-05-31T12:00:00.000Z",
                                      "2026-07-31T12:00:00.000Z"}));
  EXPECT_EQ(Fires("59 23 30 * *", "UTC", "2026-01-31T00:00:00.000Z", 2),
            (std::vector<std::string>{"2026-03-30T23:59:00.000Z", "2026-04-30T23:59:00.000Z"}));
  EXPECT_EQ(Fires("0 0 1 * *", "UTC", "2026-12-31T23:59:59.999Z", 1),
            (std::vector<std::string>{"2027-01-01T00:00:00.000Z"}));
}

TEST(CronTest, LeapDayComesEveryFourYearsAndNotIn2100) {
  EXPECT_EQ(Fires("0 0 29 2 *", "UTC", "2026-01-01T00:00:00.000Z", 2),
            (std::vector<std::string>{"2028-02-29T00:00:00.000Z", "2032-02-29T00:00:00.000Z"}));
  EXPECT_EQ(Fires("0 0 29 2 *", "UTC", "2096-03-01T00:00:00.000Z", 1),
            (std::vector<std::string>{"2104-02-29T00:00:00.000Z"}));
}

TEST(CronTest, ADayThatNeverComesNeverFires) {
  EXPECT_TRUE(Fires("0 0 30 2 *", "UTC", "2026-01-01T00:00:00.000Z", 1).empty());
  EXPECT_TRUE(Fires("0 0 31 4,6,9,11 *", "UTC", "2026-01-01T00:00:00.000Z", 1).empty());
}

TEST(CronTest, ZonesFireAtLocalWallClockTimes) {
  EXPECT_EQ(Fires("0 9 * * *", "America/New_York", "2026-01-10T00:00:00.000Z", 1),
            (std::vector<std::string>{"2026-01-10T14:00:00.000Z"}));  // EST, UTC-5
  EXPECT_EQ(Fires("0 9 * * *", "America/New_York", "2026-07-10T00:00:00.000Z", 1),
            (std::vector<std::string>{"2026-07-10T13:00:00.000Z"}));  // EDT, UTC-4
  EXPECT_EQ(Fires("0 9 * * *", "Europe/Berlin", "2026-01-10T00:00:00.000Z", 1),
            (std::vector<std::string>{"2026-01-10T08:00:00.000Z"}));
}

TEST(CronTest, SpringForwardGapFiresFixedTimesOnceWhenTheGapEnds) {
  // New York 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
  EXPECT_EQ(Fires("30 2 * * *", "America/New_York", "2026-03-07T00:00:00.000Z", 3),
            (std::vector<std::string>{"2026-03-07T07:30:00.000Z", "2026-03-08T07:00:00.000Z",
                                      "2026-03-09T06:30:00.000Z"}));
  // Several fixed times in the gap collapse into one fire.
  EXPECT_EQ(Fires("0,30 2 * * *", "America/New_York", "2026-03-08T00:00:00.000Z", 2),
            (std::vector<std::string>{"2026-03-08T07:00:00.000Z", "2026-03-09T06:00:00.000Z"}));
  // Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z).
  EXPECT_EQ(Fires("15 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00.000Z", 2),
            (std::vector<std::string>{"2026-03-29T01:00:00.000Z", "2026-03-30T00:15:00.000Z"}));
}

TEST(CronTest, SpringForwardGapIsSkippedByWildcardHours) {
  EXPECT_EQ(Fires("30 * * * *", "America/New_York", "2026-03-08T05:00:00.000Z", 3),
            (std::vector<std::string>{"2026-03-08T05:30:00.000Z",     // 00:30 EST
                                      "2026-03-08T06:30:00.000Z",     // 01:30 EST
                                      "2026-03-08T07:30:00.000Z"}));  // 03:30 EDT
}

TEST(CronTest, FallBackOverlapFiresFixedTimesOnceAtTheFirstOccurrence) {
  // New York 2026-11-01: 02:00 EDT goes back to 01:00 EST; 01:30 happens at 05:30Z and 06:30Z.
  EXPECT_EQ(Fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00.000Z", 3),
            (std::vector<std::string>{"2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z",
                                      "2026-11-03T06:30:00.000Z"}));
  // Asked from between the two occurrences: the repeat does not fire.
  EXPECT_EQ(Fires("30 1 * * *", "America/New_York", "2026-11-01T06:00:00.000Z", 1),
            (std::vector<std::string>{"2026-11-02T06:30:00.000Z"}));
  // Berlin 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 is 00:30Z and 01:30Z.
  EXPECT_EQ(Fires("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00.000Z", 2),
            (std::vector<std::string>{"2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"}));
}

TEST(CronTest, FallBackOverlapKeepsWildcardHoursFiringInRealTime) {
  EXPECT_EQ(Fires("*/30 * * * *", "America/New_York", "2026-11-01T05:00:00.000Z", 5),
            (std::vector<std::string>{"2026-11-01T05:30:00.000Z",  // 01:30 EDT
                                      "2026-11-01T06:00:00.000Z",  // 01:00 EST
                                      "2026-11-01T06:30:00.000Z",  // 01:30 EST
                                      "2026-11-01T07:00:00.000Z",  // 02:00 EST
                                      "2026-11-01T07:30:00.000Z"}));
}

TEST(CronTest, MacrosStandForTheirFields) {
  EXPECT_EQ(Fires("@hourly", "UTC", "2026-01-01T10:00:00.000Z", 1),
            (std::vector<std::string>{"2026-01-01T11:00:00.000Z"}));
  EXPECT_EQ(Fires("@daily", "UTC", "2026-01-01T10:00:00.000Z", 1),
            (std::vector<std::string>{"2026-01-02T00:00:00.000Z"}));
  EXPECT_EQ(Fires("@weekly", "UTC", "2026-06-01T00:00:00.000Z", 1),
            (std::vector<std::string>{"2026-06-07T00:00:00.000Z"}));
  EXPECT_EQ(Fires("@monthly", "UTC", "2026-06-01T00:00:00.000Z", 1),
            (std::vector<std::string>{"2026-07-01T00:00:00.000Z"}));
  EXPECT_EQ(Fires("@yearly", "UTC", "2026-06-01T00:00:00.000Z", 1),
            (std::vector<std::string>{"2027-01-01T00:00:00.000Z"}));
}

TEST(CronTest, BadExpressionsNameTheFieldAndTheFault) {
  EXPECT_EQ(ErrorOf("* * * *"),
            "cron expression must have 5 fields (minute hour day-of-month month day-of-week), "
            "got 4");
  EXPECT_EQ(ErrorOf("* * * * * *").substr(0, 28), "cron expression must have 5 ");
  EXPECT_EQ(ErrorOf("   "),
            "cron expression must have 5 fields (minute hour day-of-month month day-of-week), "
            "got 0");
  EXPECT_EQ(ErrorOf("60 * * * *"), "cron field 'minute': 60 is out of range 0-59");
  EXPECT_EQ(ErrorOf("* 24 * * *"), "cron field 'hour': 24 is out of range 0-23");
  EXPECT_EQ(ErrorOf("* * 0 * *"), "cron field 'day-of-month': 0 is out of range 1-31");
  EXPECT_EQ(ErrorOf("* * * 13 *"), "cron field 'month': 13 is out of range 1-12");
  EXPECT_EQ(ErrorOf("* * * * 8"), "cron field 'day-of-week': 8 is out of range 0-7");
  EXPECT_EQ(ErrorOf("* * * FOO *"), "cron field 'month': unknown name 'FOO'");
  EXPECT_EQ(ErrorOf("* * * * MON-FOO"), "cron field 'day-of-week': unknown name 'FOO'");
  EXPECT_EQ(ErrorOf("JAN * * * *"), "cron field 'minute': 'JAN' is not a number");
  EXPECT_EQ(ErrorOf("*/0 * * * *"), "cron field 'minute': bad step '0'");
  EXPECT_EQ(ErrorOf("*/x * * * *"), "cron field 'minute': bad step 'x'");
  EXPECT_EQ(ErrorOf("5-1 * * * *"), "cron field 'minute': range '5-1' goes backwards");
  EXPECT_EQ(ErrorOf("1,,2 * * * *"), "cron field 'minute': an empty list item");
  EXPECT_EQ(ErrorOf("1- * * * *"), "cron field 'minute': a value is missing");
  EXPECT_EQ(ErrorOf("-1 * * * *"), "cron field 'minute': a value is missing");
  EXPECT_EQ(ErrorOf("@often"),
            "cron expression must have 5 fields (minute hour day-of-month month day-of-week), "
            "got 1");
  EXPECT_EQ(ErrorOf(std::string(300, '*')), "cron expression is longer than 256 characters");
}

// The rules of cron.h written out independently, minute by real minute: an instant
// fires when its local minute matches, except the repeat of a fixed-hour time in a
// fall-back overlap; and at a spring-forward transition, a fixed-hour schedule fires
// when any local minute of the skipped gap matches.
bool FiresAtByTheRules(const CronSpec& spec, const date::time_zone& zone, int64_t minute_utc) {
  using std::chrono::minutes;
  const date::sys_time<minutes> at{minutes(minute_utc)};
  const date::local_time<minutes> local = date::floor<minutes>(zone.to_local(at));
  auto matches = [&](date::local_time<minutes> m) {
    const date::local_days day = date::floor<date::days>(m);
    const date::year_month_day ymd(day);
    const auto tod = m - day;
    const int h = static_cast<int>(date::floor<std::chrono::hours>(tod).count());
    const int mi = static_cast<int>(tod.count() % 60);
    const bool dom = spec.days_of_month[static_cast<unsigned>(ymd.day())];
    const bool dow = spec.days_of_week[date::weekday(date::sys_days(ymd)).c_encoding()];
    const bool day_ok = spec.dom_restricted && spec.dow_restricted ? (dom || dow) : (dom && dow);
    return spec.minutes[mi] && spec.hours[h] && spec.months[static_cast<unsigned>(ymd.month())] &&
           day_ok;
  };
  const date::sys_info info = zone.get_info(at);
  const auto previous = zone.get_info(at - minutes(1));
  if (spec.hours_restricted && info.begin == at && previous.offset < info.offset) {
    // Clocks just went forward: the skipped local minutes fire now.
    for (auto m = date::floor<minutes>(zone.to_local(at - minutes(1))) + minutes(1); m < local;
         m += minutes(1)) {
      if (matches(m)) {
        return true;
      }
    }
  }
  if (!matches(local)) {
    return false;
  }
  const date::local_info li = zone.get_info(date::local_seconds(local));
  if (li.result == date::local_info::ambiguous && spec.hours_restricted) {
    return info.offset == li.first.offset;  // the first occurrence only
  }
  return true;
}

TEST(CronTest, NextFireTimeAgreesWithTheRulesMinuteByMinuteAroundTransitions) {
  const char* exprs[] = {"* * * * *",    "*/7 * * * *", "30 2 * * *",    "0,30 1-3 * * *",
                         "15 * * * *",   "59 23 * * *", "0 0 1 * *",     "0 2 * * SUN",
                         "*/20 2 * * *", "0 3 * * *",   "45 1 25-31 * 0"};
  struct Window {
    const char* zone;
    const char* from;
  };
  const Window windows[] = {
      {"America/New_York", "2026-03-06T00:00:00.000Z"},
      {"America/New_York", "2026-10-30T00:00:00.000Z"},
      {"Europe/Berlin", "2026-03-27T00:00:00.000Z"},
      {"Europe/Berlin", "2026-10-23T00:00:00.000Z"},
      {"UTC", "2028-02-27T00:00:00.000Z"},
  };
  constexpr int64_t kWindowMinutes = 4 * 24 * 60;
  for (const char* expr : exprs) {
    Result<CronSpec> spec = ParseCron(expr);
    ASSERT_TRUE(spec.ok()) << expr;
    for (const Window& w : windows) {
      const date::time_zone& zone = *date::locate_zone(w.zone);
      const int64_t from = Utc(w.from) / 60'000;
      std::vector<int64_t> expected;
      for (int64_t m = from + 1; m <= from + kWindowMinutes; ++m) {
        if (FiresAtByTheRules(*spec, zone, m)) {
          expected.push_back(m * 60'000);
        }
      }
      std::vector<int64_t> got;
      int64_t cursor = from * 60'000;
      while (true) {
        std::optional<int64_t> next = NextFireTime(*spec, zone, cursor);
        if (!next || *next > (from + kWindowMinutes) * 60'000) {
          break;
        }
        got.push_back(*next);
        cursor = *next;
      }
      EXPECT_EQ(got, expected) << expr << " in " << w.zone << " from " << w.from;
    }
  }
}

TEST(CronTest, NextLocalMatchIsStrictlyAfter) {
  Result<CronSpec> spec = ParseCron("0 0 * * *");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(NextLocalMatch(*spec, 0), 24 * 60);
  EXPECT_EQ(NextLocalMatch(*spec, -1), 0);
}

}  // namespace
}  // namespace sw
