#include "core/duration.h"

#include <gtest/gtest.h>

#include <string>

namespace sw {
namespace {

using std::chrono::milliseconds;

milliseconds Parsed(std::string_view text) {
  Result<milliseconds> d = ParseDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().message();
  return d.ok() ? *d : milliseconds(-1);
}

// The message of the error for `text`, which must be kInvalidArgument.
std::string ErrorFor(std::string_view text) {
  Result<milliseconds> d = ParseDuration(text);
  EXPECT_FALSE(d.ok()) << text << " parsed as " << (d.ok() ? d->count() : 0);
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  return d.status().message();
}

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(Parsed("500ms"), milliseconds(500));
  EXPECT_EQ(Parsed("30s"), milliseconds(30'000));
  EXPECT_EQ(Parsed("5m"), milliseconds(300'000));
  EXPECT_EQ(Parsed("2h"), milliseconds(7'200'000));
  EXPECT_EQ(Parsed("7d"), milliseconds(604'800'000));
}

TEST(Duration, AcceptsZeroInEveryUnit) {
  for (const char* text : {"0ms", "0s", "0m", "0h", "0d", "000s"}) {
    EXPECT_EQ(Parsed(text), milliseconds(0)) << text;
  }
}

TEST(Duration, AcceptsLeadingZeros) { EXPECT_EQ(Parsed("007s"), milliseconds(7000)); }

TEST(Duration, AcceptsExactlyTheMaximum) {
  EXPECT_EQ(Parsed("366d"), kMaxDuration);
  EXPECT_EQ(Parsed("8784h"), kMaxDuration);
  EXPECT_EQ(Parsed(std::to_string(kMaxDuration.count()) + "ms"), kMaxDuration);
}

TEST(Duration, RejectsOneMillisecondOverTheMaximum) {
  EXPECT_NE(ErrorFor(std::to_string(kMaxDuration.count() + 1) + "ms").find("longer than"),
            std::string::npos);
}

TEST(Duration, RejectsLongerThanMaximumInEveryUnit) {
  for (const char* text : {"367d", "8785h", "527041m", "31622401s"}) {
    EXPECT_NE(ErrorFor(text).find("longer than the maximum of 366d"), std::string::npos) << text;
  }
}

TEST(Duration, RejectsNumbersThatWouldOverflow) {
  EXPECT_NE(ErrorFor("99999999999999999999999999d").find("longer than"), std::string::npos);
  EXPECT_NE(ErrorFor("9223372036854775807ms").find("longer than"), std::string::npos);
  EXPECT_NE(ErrorFor("9223372036854775808s").find("longer than"), std::string::npos);
}

TEST(Duration, RejectsEmpty) { EXPECT_NE(ErrorFor("").find("empty"), std::string::npos); }

TEST(Duration, RejectsMissingUnit) {
  EXPECT_NE(ErrorFor("30").find("no unit"), std::string::npos);
  EXPECT_NE(ErrorFor("0").find("no unit"), std::string::npos);
}

TEST(Duration, RejectsUnknownUnit) {
  EXPECT_NE(ErrorFor("5x").find("unknown unit 'x'"), std::string::npos);
  EXPECT_NE(ErrorFor("5sec").find("unknown unit 'sec'"), std::string::npos);
  EXPECT_NE(ErrorFor("5w").find("unknown unit 'w'"), std::string::npos);
  EXPECT_NE(ErrorFor("5us").find("unknown unit"), std::string::npos);
}

TEST(Duration, RejectsUppercaseUnits) {
  for (const char* text : {"5S", "5M", "5H", "5D", "5MS", "5Ms"}) {
    EXPECT_NE(ErrorFor(text).find("unknown unit"), std::string::npos) << text;
  }
}

TEST(Duration, RejectsCombinedUnits) {
  EXPECT_NE(ErrorFor("1h30m").find("unknown unit 'h30m'"), std::string::npos);
}

TEST(Duration, RejectsMissingNumber) {
  for (const char* text : {"s", "ms", "d", "abc"}) {
    EXPECT_NE(ErrorFor(text).find("must start with a whole number"), std::string::npos) << text;
  }
}

TEST(Duration, RejectsNegative) {
  EXPECT_NE(ErrorFor("-5s").find("negative"), std::string::npos);
  EXPECT_NE(ErrorFor("-0s").find("negative"), std::string::npos);
}

TEST(Duration, RejectsExplicitPlusSign) {
  EXPECT_NE(ErrorFor("+5s").find("whole number"), std::string::npos);
}

TEST(Duration, RejectsFractions) {
  EXPECT_NE(ErrorFor("1.5h").find("whole number"), std::string::npos);
  EXPECT_NE(ErrorFor("1,5h").find("whole number"), std::string::npos);
  EXPECT_NE(ErrorFor(".5h").find("whole number"), std::string::npos);
}

TEST(Duration, RejectsWhitespaceAnywhere) {
  for (const char* text : {" 5s", "5s ", "5 s", "\t5s", "5s\n", " "}) {
    EXPECT_NE(ErrorFor(text).find("whitespace"), std::string::npos) << "'" << text << "'";
  }
}

TEST(Duration, RejectsEmbeddedNul) {
  ErrorFor(std::string_view("5s\0", 3));
  ErrorFor(std::string_view("5\0s", 3));
}

TEST(Duration, ErrorQuotesTheText) {
  EXPECT_EQ(ErrorFor("5x"), "invalid duration '5x': unknown unit 'x' (use ms, s, m, h or d)");
}

TEST(Duration, ErrorShortensVeryLongText) {
  const std::string text = "5" + std::string(1000, 'x');
  const std::string message = ErrorFor(text);
  EXPECT_LT(message.size(), 200u);
  EXPECT_NE(message.find("..."), std::string::npos);
}

TEST(Duration, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(FormatDuration(milliseconds(1)), "1ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(milliseconds(90'000)), "90s");
  EXPECT_EQ(FormatDuration(milliseconds(60'000)), "1m");
  EXPECT_EQ(FormatDuration(milliseconds(5'400'000)), "90m");
  EXPECT_EQ(FormatDuration(std::chrono::hours(2)), "2h");
  EXPECT_EQ(FormatDuration(std::chrono::hours(36)), "36h");
  EXPECT_EQ(FormatDuration(std::chrono::hours(48)), "2d");
  EXPECT_EQ(FormatDuration(kMaxDuration), "366d");
  EXPECT_EQ(FormatDuration(milliseconds(86'400'001)), "86400001ms");
}

TEST(Duration, FormatsZeroAsZeroSeconds) { EXPECT_EQ(FormatDuration(milliseconds(0)), "0s"); }

TEST(Duration, FormatsNegativeWithASign) {
  EXPECT_EQ(FormatDuration(milliseconds(-30'000)), "-30s");
  EXPECT_EQ(FormatDuration(milliseconds(-1)), "-1ms");
  EXPECT_EQ(FormatDuration(milliseconds::min()), "-9223372036854775808ms");
}

TEST(Duration, FormatsBeyondTheMaximum) {
  EXPECT_EQ(FormatDuration(milliseconds::max()), "9223372036854775807ms");
  EXPECT_EQ(FormatDuration(std::chrono::hours(24 * 1000)), "1000d");
}

TEST(Duration, FormatThenParseRoundTrips) {
  for (int64_t ms : {0LL, 1LL, 999LL, 1000LL, 1001LL, 59'999LL, 60'000LL, 3'600'000LL, 86'399'999LL,
                     86'400'000LL, 31'622'400'000LL}) {
    EXPECT_EQ(Parsed(FormatDuration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

TEST(Duration, ParseThenFormatGivesTheShortestSpelling) {
  EXPECT_EQ(FormatDuration(Parsed("120s")), "2m");
  EXPECT_EQ(FormatDuration(Parsed("24h")), "1d");
  EXPECT_EQ(FormatDuration(Parsed("1000ms")), "1s");
  EXPECT_EQ(FormatDuration(Parsed("007s")), "7s");
}

}  // namespace
}  // namespace sw
