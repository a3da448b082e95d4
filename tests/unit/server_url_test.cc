// The CLI's server URL (`--server`, STEPWELL_SERVER): http://host[:port][/base-path].

#include <gtest/gtest.h>

#include <string>

#include "cli/http_client.h"

namespace sw::cli {
namespace {

ServerAddress Parse(const std::string& url) {
  Result<ServerAddress> parsed = ParseServerUrl(url);
  EXPECT_TRUE(parsed.ok()) << url << ": " << parsed.status().message();
  return parsed.ok() ? *parsed : ServerAddress{};
}

TEST(ServerUrlTest, HostPortAndBasePath) {
  ServerAddress a = Parse("http://127.0.0.1:8420");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, "8420");
  EXPECT_EQ(a.authority, "127.0.0.1:8420");
  EXPECT_EQ(a.base_path, "");

  ServerAddress b = Parse("HTTP://Stepwell.example/ops/stepwell//");
  EXPECT_EQ(b.host, "Stepwell.example");
  EXPECT_EQ(b.port, "80");
  EXPECT_EQ(b.authority, "Stepwell.example");
  EXPECT_EQ(b.base_path, "/ops/stepwell");
}

TEST(ServerUrlTest, IPv6LiteralLosesItsBracketsOnlyForTheResolver) {
  ServerAddress a = Parse("http://[::1]:9000/");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, "9000");
  EXPECT_EQ(a.authority, "[::1]:9000");
  EXPECT_EQ(a.base_path, "");
}

TEST(ServerUrlTest, BasePathKeepsItsEncoding) {
  EXPECT_EQ(Parse("http://h/a%2Fb/c+d").base_path, "/a%2Fb/c+d");
}

TEST(ServerUrlTest, UnusableUrlsAreInvalidArgument) {
  for (const std::string url :
       {"", "127.0.0.1:8420", "localhost:8420", "https://example.com", "ftp://example.com",
        "http://", "http:///path", "http://user:pw@example.com", "http://example.com?x=1",
        "http://example.com/#top", "http://example.com:0", "http://example.com:65536",
        "http://example.com:8o", "http://example.com:", "http://[::1", "http://[::1]x/",
        "http://exa mple.com", "http://example.com/%zz"}) {
    Result<ServerAddress> parsed = ParseServerUrl(url);
    ASSERT_FALSE(parsed.ok()) << url;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << url;
  }
  EXPECT_NE(ParseServerUrl("https://example.com").status().message().find("use http://"),
            std::string::npos);
}

}  // namespace
}  // namespace sw::cli
