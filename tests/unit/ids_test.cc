#include "core/ids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace sw {
namespace {

constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::array<uint8_t, 10> kZeros = {};
constexpr std::array<uint8_t, 10> kOnes = {0xff, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0xff};

// A deterministic byte pattern that differs per `seed`.
std::array<uint8_t, 10> Bytes(uint32_t seed) {
  std::array<uint8_t, 10> bytes{};
  uint32_t x = seed * 2654435761u + 1;
  for (uint8_t& b : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return bytes;
}

TEST(Ids, HasPrefixUnderscoreAndTwentySixCharacters) {
  const std::string id = MakeId("run", 1'795'341'600'000, Bytes(1));
  ASSERT_EQ(id.size(), 4u + 26u);
  EXPECT_EQ(id.substr(0, 4), "run_");
}

TEST(Ids, UsesOnlyTheCrockfordAlphabet) {
  for (uint32_t seed = 0; seed < 200; ++seed) {
    const std::string id = MakeId("wf", 1'700'000'000'000 + seed * 7919, Bytes(seed));
    for (char c : id.substr(3)) {
      EXPECT_NE(kAlphabet.find(c), std::string_view::npos) << id;
    }
    for (char excluded : {'I', 'L', 'O', 'U'}) {
      EXPECT_EQ(id.find(excluded), std::string::npos) << id;
    }
  }
}

TEST(Ids, EncodesZeroTimeAndZeroRandomAsAllZeros) {
  EXPECT_EQ(MakeId("x", 0, kZeros), "x_00000000000000000000000000");
}

TEST(Ids, EncodesTheMaximumUlid) {
  EXPECT_EQ(MakeId("x", (int64_t{1} << 48) - 1, kOnes), "x_7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
}

TEST(Ids, MatchesTheUlidSpecExampleTimestamp) {
  // From the ULID spec: 1469918176385 ms encodes as "01ARYZ6S41".
  EXPECT_EQ(MakeId("r", 1'469'918'176'385, kZeros).substr(2, 10), "01ARYZ6S41");
}

TEST(Ids, EncodesRandomBytesBigEndian) {
  std::array<uint8_t, 10> last_bit = {};
  last_bit[9] = 1;
  EXPECT_EQ(MakeId("x", 0, last_bit), "x_00000000000000000000000001");
  std::array<uint8_t, 10> first_bit = {};
  first_bit[0] = 0x80;
  EXPECT_EQ(MakeId("x", 0, first_bit), "x_0000000000G000000000000000");
  std::array<uint8_t, 10> pattern = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23};
  // 0x0123456789abcdef0123 in 5-bit groups: 0 4 17 20 10 25 28 9 21 15 6 30 30 0 9 3.
  EXPECT_EQ(MakeId("x", 0, pattern).substr(12), "04HMASW9NF6YY093");
}

TEST(Ids, EncodesTimestampBigEndianInTheFirstTenCharacters) {
  EXPECT_EQ(MakeId("x", 1, kZeros).substr(2, 10), "0000000001");
  EXPECT_EQ(MakeId("x", 32, kZeros).substr(2, 10), "0000000010");
  EXPECT_EQ(MakeId("x", int64_t{1} << 47, kZeros).substr(2, 10), "4000000000");
}

TEST(Ids, SortsByCreationTimeRegardlessOfRandomBits) {
  std::vector<std::string> ids;
  std::vector<int64_t> times = {0,
                                1,
                                2,
                                31,
                                32,
                                1000,
                                999'999,
                                1'700'000'000'000,
                                1'795'341'600'000,
                                1'795'341'600'001,
                                (int64_t{1} << 48) - 1};
  for (size_t i = 0; i < times.size(); ++i) {
    // Later ids get smaller random bits, so only the time can order them.
    ids.push_back(MakeId("run", times[i], i % 2 == 0 ? kOnes : kZeros));
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

TEST(Ids, SortsByRandomBitsWithinTheSameMillisecond) {
  std::array<uint8_t, 10> low = {};
  std::array<uint8_t, 10> high = {};
  low[9] = 1;
  high[0] = 1;
  EXPECT_LT(MakeId("run", 5, low), MakeId("run", 5, high));
}

TEST(Ids, DifferentRandomBytesGiveDifferentIds) {
  std::set<std::string> ids;
  for (uint32_t seed = 0; seed < 1000; ++seed) {
    ids.insert(MakeId("run", 1'795'341'600'000, Bytes(seed)));
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(Ids, EveryRandomBitChangesTheId) {
  const std::string base = MakeId("run", 42, kZeros);
  std::set<std::string> ids;
  for (int bit = 0; bit < 80; ++bit) {
    std::array<uint8_t, 10> bytes = {};
    bytes[bit / 8] = static_cast<uint8_t>(0x80 >> (bit % 8));
    const std::string id = MakeId("run", 42, bytes);
    EXPECT_NE(id, base);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 80u);
}

TEST(Ids, KeepsAnyPrefix) {
  EXPECT_EQ(MakeId("workspace", 0, kZeros).substr(0, 10), "workspace_");
  EXPECT_EQ(MakeId("", 0, kZeros), "_00000000000000000000000000");
}

TEST(Ids, ClampsTimesOutsideFortyEightBits) {
  EXPECT_EQ(MakeId("x", -1, kZeros), MakeId("x", 0, kZeros));
  EXPECT_EQ(MakeId("x", INT64_MIN, kZeros), MakeId("x", 0, kZeros));
  EXPECT_EQ(MakeId("x", int64_t{1} << 48, kZeros), MakeId("x", (int64_t{1} << 48) - 1, kZeros));
  EXPECT_EQ(MakeId("x", INT64_MAX, kZeros), MakeId("x", (int64_t{1} << 48) - 1, kZeros));
}

TEST(Ids, AcceptsValidSlugs) {
  for (const char* slug :
       {"a", "0", "deploy", "nightly-backup", "a-", "a--b", "9lives", "x1-2-3"}) {
    EXPECT_TRUE(IsValidSlug(slug)) << slug;
  }
  EXPECT_TRUE(IsValidSlug(std::string(63, 'a')));
  EXPECT_TRUE(IsValidSlug("a" + std::string(62, '-')));
}

TEST(Ids, RejectsInvalidSlugs) {
  for (const char* slug : {"", "-a", "-", "Deploy", "a_b", "a.b", "a b", " a", "a/b", "a~",
                           "ünïcode", "run_01ARYZ6S41"}) {
    EXPECT_FALSE(IsValidSlug(slug)) << slug;
  }
  EXPECT_FALSE(IsValidSlug(std::string(64, 'a')));
  EXPECT_FALSE(IsValidSlug(std::string_view("a\0b", 3)));
}

TEST(Ids, StrongIdsCompareByValue) {
  const RunId a{"run_1"};
  const RunId b{"run_2"};
  EXPECT_EQ(a, RunId{"run_1"});
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  static_assert(!std::is_convertible_v<RunId, WorkflowId>);
  static_assert(!std::is_same_v<RunId, WorkspaceId>);
}

}  // namespace
}  // namespace sw
