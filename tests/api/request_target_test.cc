// ParseRequestTarget: how the server reads a request's path and query. Each path
// segment is decoded on its own (a %2F stays inside its segment), "+" is a space only
// in the query, and malformed targets are refused.

#include "api/request_target.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace sw {
namespace {

using Segments = std::vector<std::string>;
using Query = std::map<std::string, std::string>;

RequestTarget Parse(const std::string& target) {
  Result<RequestTarget> parsed = ParseRequestTarget(target);
  EXPECT_TRUE(parsed.ok()) << target << ": " << parsed.status().message();
  return parsed.ok() ? *parsed : RequestTarget{};
}

TEST(RequestTargetTest, PathIsSplitIntoSegments) {
  RequestTarget t = Parse("/api/v1/runs/run_1/pause");
  EXPECT_EQ(t.path, "/api/v1/runs/run_1/pause");
  EXPECT_EQ(t.segments, (Segments{"api", "v1", "runs", "run_1", "pause"}));
  EXPECT_TRUE(t.query.empty());
}

TEST(RequestTargetTest, EncodedSlashStaysInsideItsSegment) {
  RequestTarget t = Parse("/api/v1/runs/a%2Fb%2fc");
  EXPECT_EQ(t.segments, (Segments{"api", "v1", "runs", "a/b/c"}));
  EXPECT_EQ(t.path, "/api/v1/runs/a%2Fb%2fc");  // as sent
  EXPECT_EQ(Parse("/api/v1/runs/..%2F..%2Fadmin-token").segments,
            (Segments{"api", "v1", "runs", "../../admin-token"}));
}

TEST(RequestTargetTest, PlusIsAPlusInThePathAndASpaceInTheQuery) {
  RequestTarget t = Parse("/api/v1/workflows/a+b?q=c+d&e=%2B");
  EXPECT_EQ(t.segments, (Segments{"api", "v1", "workflows", "a+b"}));
  EXPECT_EQ(t.query, (Query{{"q", "c d"}, {"e", "+"}}));
  EXPECT_EQ(Parse("/x%20y").segments, (Segments{"x y"}));
}

TEST(RequestTargetTest, SegmentsDecodeToAnyBytes) {
  EXPECT_EQ(Parse("/runs/%00").segments, (Segments{"runs", std::string(1, '\0')}));
  EXPECT_EQ(Parse("/runs/%C3%A9").segments, (Segments{"runs", "\xC3\xA9"}));
  EXPECT_EQ(Parse("/runs/%FF%E2%82").segments, (Segments{"runs", "\xFF\xE2\x82"}));
  EXPECT_EQ(Parse("/runs/%7e%7E").segments, (Segments{"runs", "~~"}));
}

TEST(RequestTargetTest, DotSegmentsAreKeptAsTheyAre) {
  // Clients remove dot segments before sending; the server routes what it is sent, so
  // "/api/v1/runs/../tokens" is no path to the tokens.
  EXPECT_EQ(Parse("/api/v1/runs/../tokens").segments,
            (Segments{"api", "v1", "runs", "..", "tokens"}));
  EXPECT_EQ(Parse("/a/./b/.").segments, (Segments{"a", ".", "b", "."}));
}

TEST(RequestTargetTest, RootAndTrailingSlashAndEmptySegments) {
  EXPECT_EQ(Parse("/").segments, Segments{});
  EXPECT_EQ(Parse("/").path, "/");
  EXPECT_EQ(Parse("/api/v1/runs/").segments, (Segments{"api", "v1", "runs"}));
  EXPECT_EQ(Parse("/api/v1/runs//").segments, (Segments{"api", "v1", "runs", ""}));
  EXPECT_EQ(Parse("/api//v1").segments, (Segments{"api", "", "v1"}));
  EXPECT_EQ(Parse("//x").segments, (Segments{"", "x"}));
}

TEST(RequestTargetTest, QueryNamesAndValuesAreDecoded) {
  RequestTarget t = Parse("/r?cursor=a%26b%3Dc&empty=&flag&=dropped&dup=1&dup=2&sp%20ace=%2F");
  EXPECT_EQ(
      t.query,
      (Query{{"cursor", "a&b=c"}, {"empty", ""}, {"flag", ""}, {"dup", "2"}, {"sp ace", "/"}}));
  EXPECT_TRUE(Parse("/r?").query.empty());
  EXPECT_EQ(Parse("/r?a=1?b=2").query, (Query{{"a", "1?b=2"}}));
}

TEST(RequestTargetTest, AbsoluteFormCountsOnlyPathAndQuery) {
  RequestTarget t = Parse("http://example.com:8420/api/v1/runs?limit=5");
  EXPECT_EQ(t.segments, (Segments{"api", "v1", "runs"}));
  EXPECT_EQ(t.query, (Query{{"limit", "5"}}));
  EXPECT_EQ(Parse("http://example.com").path, "/");
}

void ExpectMalformed(const std::string& target) {
  Result<RequestTarget> parsed = ParseRequestTarget(target);
  ASSERT_FALSE(parsed.ok()) << target;
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << target;
  EXPECT_EQ(parsed.status().reason(), "invalid_request") << target;
}

TEST(RequestTargetTest, MalformedTargetsAreInvalidArgument) {
  for (const char* target : {"",
                             "*",
                             "runs",
                             "/runs/%zz",
                             "/runs/%",
                             "/runs/%4",
                             "/runs?cursor=%%%garbage",
                             "/runs?x=%G0",
                             "/a b",
                             "/a\tb",
                             "/runs#fragment",
                             "/a|b",
                             "/a\"b",
                             "/a{b}",
                             "/a\\b",
                             "/a^b",
                             "/a`b",
                             "/a<b>",
                             "/r?x=[1]",
                             "/\xC3\xA9",
                             "http://exa mple.com/",
                             "mailto:x@example.com",
                             "http://example.com:8o/x"}) {
    ExpectMalformed(target);
  }
  ExpectMalformed(std::string("/a\0b", 4));
}

}  // namespace
}  // namespace sw
