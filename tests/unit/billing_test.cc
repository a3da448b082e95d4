#include "core/billing.h"

#include <gtest/gtest.h>

#include "core/time_format.h"

namespace sw {
namespace {

using nlohmann::json;

int64_t Micros(const json& v) {
  Result<int64_t> r = ParseAmount(v, "x");
  EXPECT_TRUE(r.ok()) << v.dump() << ": " << r.status().message();
  return r.ok() ? *r : -1;
}

TEST(BillingTest, AmountsParseExactly) {
  EXPECT_EQ(Micros(0), 0);
  EXPECT_EQ(Micros(7), 7000000);
  EXPECT_EQ(Micros(1.5), 1500000);
  EXPECT_EQ(Micros(0.1), 100000);
  EXPECT_EQ(Micros(0.000001), 1);
  EXPECT_EQ(Micros(123456.789012), 123456789012);
  EXPECT_EQ(Micros(json::parse("2e-6")), 2);
  EXPECT_EQ(Micros(json::parse("1e3")), 1000000000);
  EXPECT_EQ(Micros(1000000000000), kMaxAmountMicros);
}

TEST(BillingTest, AmountsRefuseWhatTheyCannotKeep) {
  for (const json& bad : {json(-1), json(-0.5), json(0.0000001), json(1.1234567), json("1"),
                          json(nullptr), json(true), json(1e13), json(10000000000000)}) {
    Result<int64_t> r = ParseAmount(bad, "prices.http");
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().detail().field, "prices.http");
  }
}

TEST(BillingTest, AmountsWriteBackAsTheyWereGiven) {
  EXPECT_EQ(AmountJson(0).dump(), "0");
  EXPECT_EQ(AmountJson(7000000).dump(), "7");
  EXPECT_EQ(AmountJson(300000).dump(), "0.3");  // three 0.1s, no drift
  EXPECT_EQ(AmountJson(1).dump(), "1e-06");
  EXPECT_EQ(AmountJson(123456789012).dump(), "123456.789012");
  // Beyond 2^53 micros a division would round twice (found by amount_fuzz).
  EXPECT_EQ(AmountJson(828288882802200000).dump(), "828288882802.2");
  EXPECT_EQ(*ParseAmount(AmountJson(828288882802200000), "x"), 828288882802200000);
  EXPECT_EQ(FormatAmount(12500000, "EUR"), "12.5 EUR");
}

TEST(BillingTest, FractionsAreAboveZeroAndAtMostOne) {
  EXPECT_EQ(*ParseFraction(0.8, "f"), 800000);
  EXPECT_EQ(*ParseFraction(1, "f"), 1000000);
  EXPECT_FALSE(ParseFraction(0, "f").ok());
  EXPECT_FALSE(ParseFraction(1.000001, "f").ok());
  EXPECT_TRUE(ReachedFraction(800000, 1000000, 800000));
  EXPECT_FALSE(ReachedFraction(799999, 1000000, 800000));
}

TEST(BillingTest, PricesFallBackToDefaultThenZero) {
  Prices p;
  EXPECT_EQ(PriceOf(p, "http"), 0);
  p["default"] = 5;
  p["http"] = 9;
  EXPECT_EQ(PriceOf(p, "http"), 9);
  EXPECT_EQ(PriceOf(p, "noop"), 5);
}

TEST(BillingTest, ThePeriodIsTheCalendarMonthInUtc) {
  const int64_t mid = *ParseTime("2026-12-05T02:00:00Z");
  EXPECT_EQ(FormatTime(PeriodStart(mid)), "2026-12-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(PeriodEnd(mid)), "2027-01-01T00:00:00.000Z");
  const int64_t last_ms = *ParseTime("2027-02-28T23:59:59.999Z");
  EXPECT_EQ(FormatTime(PeriodEnd(last_ms)), "2027-03-01T00:00:00.000Z");
  EXPECT_EQ(PeriodStart(PeriodEnd(last_ms)), PeriodEnd(last_ms));
}

TEST(BillingTest, AStateRollsOverToALaterPeriodOnly) {
  SpendState s;
  s.cap = 10;
  s.period_start = *ParseTime("2026-12-01T00:00:00Z");
  s.spend = 10;
  s.capped = true;
  s.near_cap_notified = true;
  s.RollTo(*ParseTime("2026-12-31T23:59:59Z"));
  EXPECT_EQ(s.spend, 10);
  EXPECT_TRUE(s.Refuses(1));
  EXPECT_FALSE(s.Refuses(0));
  EXPECT_FALSE(s.Releases());
  s.RollTo(*ParseTime("2027-01-01T00:00:00Z"));
  EXPECT_EQ(s.spend, 0);
  EXPECT_FALSE(s.capped);
  EXPECT_FALSE(s.near_cap_notified);
  EXPECT_TRUE(s.Releases());
  EXPECT_FALSE(s.Refuses(10));
  EXPECT_TRUE(s.Refuses(11));
}

}  // namespace
}  // namespace sw
