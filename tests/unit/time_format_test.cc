#include "core/time_format.h"

#include <gtest/gtest.h>

#include <string>

namespace sw {
namespace {

constexpr int64_t kDayMs = 86'400'000;
// 2026-11-22T10:00:00Z, checked against `date -u -d 2026-11-22T10:00:00Z +%s`.
constexpr int64_t kNov22Ms = 1'795'341'600'000;
// The range both functions cover: 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z.
constexpr int64_t kMinMs = -62'167'219'200'000;
constexpr int64_t kMaxMs = 253'402'300'799'999;

int64_t Parsed(std::string_view text) {
  Result<int64_t> t = ParseTime(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().message();
  return t.ok() ? *t : -1;
}

std::string ErrorFor(std::string_view text) {
  Result<int64_t> t = ParseTime(text);
  EXPECT_FALSE(t.ok()) << text << " parsed as " << (t.ok() ? *t : 0);
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  return t.status().message();
}

TEST(TimeFormat, FormatsTheEpoch) { EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000Z"); }

TEST(TimeFormat, FormatsMillisecondsAlways) {
  EXPECT_EQ(FormatTime(kNov22Ms), "2026-11-22T10:00:00.000Z");
  EXPECT_EQ(FormatTime(kNov22Ms + 7), "2026-11-22T10:00:00.007Z");
  EXPECT_EQ(FormatTime(kNov22Ms + 3'723'456), "2026-11-22T11:02:03.456Z");
}

TEST(TimeFormat, FormatsKnownInstants) {
  EXPECT_EQ(FormatTime(951'782'400'000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(FormatTime(1'700'000'000'000), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(FormatTime(2'147'483'647'000), "2038-01-19T03:14:07.000Z");
  EXPECT_EQ(FormatTime(kDayMs - 1), "1970-01-01T23:59:59.999Z");
}

TEST(TimeFormat, FormatsTimesBeforeTheEpoch) {
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTime(-kDayMs), "1969-12-31T00:00:00.000Z");
  EXPECT_EQ(FormatTime(-kDayMs - 1), "1969-12-30T23:59:59.999Z");
  EXPECT_EQ(FormatTime(-2'208'988'800'000), "1900-01-01T00:00:00.000Z");
}

TEST(TimeFormat, FormatsTheEndsOfTheRange) {
  EXPECT_EQ(FormatTime(kMinMs), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(kMaxMs), "9999-12-31T23:59:59.999Z");
}

TEST(TimeFormat, ClampsOutsideTheRange) {
  EXPECT_EQ(FormatTime(kMinMs - 1), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(INT64_MIN), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(kMaxMs + 1), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTime(INT64_MAX), "9999-12-31T23:59:59.999Z");
}

TEST(TimeFormat, ParsesUtc) {
  EXPECT_EQ(Parsed("2026-11-22T10:00:00Z"), kNov22Ms);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00.000Z"), kNov22Ms);
  EXPECT_EQ(Parsed("1970-01-01T00:00:00Z"), 0);
}

TEST(TimeFormat, ParsesLowercaseSeparators) {
  EXPECT_EQ(Parsed("2026-11-22t10:00:00Z"), kNov22Ms);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00z"), kNov22Ms);
}

TEST(TimeFormat, ParsesOffsets) {
  EXPECT_EQ(Parsed("2026-11-22T12:00:00+02:00"), kNov22Ms);
  EXPECT_EQ(Parsed("2026-11-22T05:30:00-04:30"), kNov22Ms);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00+00:00"), kNov22Ms);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00-00:00"), kNov22Ms);
  EXPECT_EQ(Parsed("2026-11-23T09:59:00+23:59"), kNov22Ms);
}

TEST(TimeFormat, OffsetsCrossDayMonthAndYearBoundaries) {
  EXPECT_EQ(FormatTime(Parsed("2027-01-01T01:00:00+02:00")), "2026-12-31T23:00:00.000Z");
  EXPECT_EQ(FormatTime(Parsed("2026-12-31T23:00:00-02:00")), "2027-01-01T01:00:00.000Z");
  EXPECT_EQ(FormatTime(Parsed("2024-03-01T00:30:00+01:00")), "2024-02-29T23:30:00.000Z");
}

TEST(TimeFormat, ParsesFractionsOfAnyLengthTruncatedToMilliseconds) {
  EXPECT_EQ(Parsed("2026-11-22T10:00:00.5Z"), kNov22Ms + 500);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00.05Z"), kNov22Ms + 50);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00.123Z"), kNov22Ms + 123);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00.1239Z"), kNov22Ms + 123);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00.999999999Z"), kNov22Ms + 999);
  EXPECT_EQ(Parsed("2026-11-22T10:00:00.000000001Z"), kNov22Ms);
  EXPECT_EQ(Parsed("2026-11-22T12:00:00.25+02:00"), kNov22Ms + 250);
}

TEST(TimeFormat, FractionsBeforeTheEpochCountForward) {
  EXPECT_EQ(Parsed("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(Parsed("1969-12-31T23:59:59.5Z"), -500);
}

TEST(TimeFormat, ParsesLeapDays) {
  EXPECT_EQ(Parsed("2024-02-29T00:00:00Z"), Parsed("2024-02-28T00:00:00Z") + kDayMs);
  EXPECT_EQ(Parsed("2024-03-01T00:00:00Z"), Parsed("2024-02-29T00:00:00Z") + kDayMs);
  EXPECT_EQ(Parsed("2000-02-29T00:00:00Z"), 951'782'400'000);
  EXPECT_EQ(Parsed("2400-02-29T00:00:00Z"), Parsed("2400-02-28T00:00:00Z") + kDayMs);
}

TEST(TimeFormat, RejectsFebruary29InCommonYears) {
  EXPECT_NE(ErrorFor("2026-02-29T00:00:00Z").find("day 29"), std::string::npos);
  EXPECT_NE(ErrorFor("1900-02-29T00:00:00Z").find("day 29"), std::string::npos);
  EXPECT_NE(ErrorFor("2100-02-29T00:00:00Z").find("day 29"), std::string::npos);
}

TEST(TimeFormat, RejectsDaysThatDoNotExist) {
  EXPECT_NE(ErrorFor("2026-02-30T00:00:00Z").find("day 30 does not exist"), std::string::npos);
  EXPECT_NE(ErrorFor("2026-04-31T00:00:00Z").find("day 31"), std::string::npos);
  EXPECT_NE(ErrorFor("2026-01-32T00:00:00Z").find("day 32"), std::string::npos);
  EXPECT_NE(ErrorFor("2026-01-00T00:00:00Z").find("day 0"), std::string::npos);
  EXPECT_EQ(Parsed("2026-01-31T00:00:00Z"), Parsed("2026-02-01T00:00:00Z") - kDayMs);
}

TEST(TimeFormat, RejectsMonthsThatDoNotExist) {
  EXPECT_NE(ErrorFor("2026-13-01T00:00:00Z").find("month 13"), std::string::npos);
  EXPECT_NE(ErrorFor("2026-00-01T00:00:00Z").find("month 0"), std::string::npos);
}

TEST(TimeFormat, RejectsTimesOfDayThatDoNotExist) {
  EXPECT_NE(ErrorFor("2026-11-22T24:00:00Z").find("hour 24"), std::string::npos);
  EXPECT_NE(ErrorFor("2026-11-22T10:60:00Z").find("minute 60"), std::string::npos);
  EXPECT_NE(ErrorFor("2026-11-22T10:00:61Z").find("second 61"), std::string::npos);
}

TEST(TimeFormat, RejectsLeapSeconds) {
  EXPECT_NE(ErrorFor("2016-12-31T23:59:60Z").find("leap seconds"), std::string::npos);
}

TEST(TimeFormat, RejectsOffsetsOutOfRange) {
  EXPECT_NE(ErrorFor("2026-11-22T10:00:00+24:00").find("offset"), std::string::npos);
  EXPECT_NE(ErrorFor("2026-11-22T10:00:00+02:60").find("offset"), std::string::npos);
}

TEST(TimeFormat, RejectsMalformedText) {
  for (const char* text : {
           "",
           "2026-11-22",
           "2026-11-22T10:00:00",         // No zone.
           "2026-11-22 10:00:00Z",        // Space instead of T.
           "2026-11-22T10:00Z",           // No seconds.
           "26-11-22T10:00:00Z",          // Two-digit year.
           "2026-1-22T10:00:00Z",         // One-digit month.
           "2026-11-22T1:00:00Z",         // One-digit hour.
           "2026/11/22T10:00:00Z",        // Wrong separators.
           "2026-11-22T10:00:00.Z",       // Empty fraction.
           "2026-11-22T10:00:00,5Z",      // Comma fraction.
           "2026-11-22T10:00:00+0200",    // Offset without colon.
           "2026-11-22T10:00:00+02",      // Short offset.
           "2026-11-22T10:00:00ZZ",       // Trailing text.
           "2026-11-22T10:00:00Z ",       // Trailing space.
           " 2026-11-22T10:00:00Z",       // Leading space.
           "+2026-11-22T10:00:00Z",       // Signed year.
           "-001-11-22T10:00:00Z",        // Negative year.
           "2026-11-22T10:00:00 +02:00",  // Space before offset.
           "2026-11-22T10:00:00UTC",      // Zone name.
           "1795341600000",               // Epoch milliseconds.
           "２０２６-11-22T10:00:00Z",    // Full-width digits.
       }) {
    EXPECT_NE(ErrorFor(text).find("expected RFC 3339"), std::string::npos) << "'" << text << "'";
  }
}

TEST(TimeFormat, RejectsVeryLongText) {
  const std::string text = "2026-11-22T10:00:00." + std::string(100, '0') + "Z";
  EXPECT_NE(ErrorFor(text).find("longer than"), std::string::npos);
}

TEST(TimeFormat, AcceptsTheFourDigitYearRange) {
  EXPECT_EQ(Parsed("0000-01-01T00:00:00Z"), kMinMs);
  EXPECT_EQ(Parsed("9999-12-31T23:59:59.999Z"), kMaxMs);
  EXPECT_EQ(Parsed("1900-01-01T00:00:00Z"), -2'208'988'800'000);
}

TEST(TimeFormat, RejectsOffsetsThatLeaveTheRange) {
  EXPECT_NE(ErrorFor("0000-01-01T00:00:00+00:01").find("outside the years"), std::string::npos);
  EXPECT_NE(ErrorFor("9999-12-31T23:59:59-00:01").find("outside the years"), std::string::npos);
}

TEST(TimeFormat, ErrorQuotesTheText) {
  EXPECT_EQ(ErrorFor("2026-02-30T00:00:00Z"),
            "invalid time '2026-02-30T00:00:00Z': day 30 does not exist in that month (28 days)");
}

TEST(TimeFormat, FormatThenParseRoundTrips) {
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{-1}, kNov22Ms, kNov22Ms + 999, kMinMs, kMaxMs,
                     int64_t{951'782'400'000}, int64_t{-62'135'596'800'001}}) {
    EXPECT_EQ(Parsed(FormatTime(ms)), ms) << ms;
  }
}

TEST(TimeFormat, RoundTripsEveryDayOfFourHundredYears) {
  // One Gregorian cycle (146097 days) covers every leap-year rule; the hour and
  // millisecond offsets vary so that the time of day is exercised too.
  const int64_t start = Parsed("1900-01-01T00:00:00Z");
  for (int64_t day = 0; day < 146'097; ++day) {
    const int64_t ms = start + day * kDayMs + (day % 24) * 3'600'000 + day % 1000;
    const std::string text = FormatTime(ms);
    ASSERT_EQ(Parsed(text), ms) << text;
  }
}

TEST(TimeFormat, ConsecutiveDaysFormatConsecutiveDates) {
  EXPECT_EQ(FormatTime(Parsed("2024-12-31T00:00:00Z") + kDayMs), "2025-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(Parsed("2023-02-28T00:00:00Z") + kDayMs), "2023-03-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(Parsed("2024-02-28T00:00:00Z") + kDayMs), "2024-02-29T00:00:00.000Z");
}

}  // namespace
}  // namespace sw
