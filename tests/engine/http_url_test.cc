// The http step's URLs: parsing (ParseHttpUrl) and where redirects go (ResolveRedirect),
// with RFC 3986's own resolution examples (section 5.4) and the cases that matter to
// a server: "%2F", "+", dot segments and odd characters.

#include "engine/http_url.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sw {
namespace {

HttpUrl Parse(const std::string& text) {
  Result<HttpUrl> url = ParseHttpUrl(text);
  EXPECT_TRUE(url.ok()) << text << ": " << url.status().message();
  return url.ok() ? *url : HttpUrl{};
}

// host + target of where `location` from `base` leads.
std::string Follow(const std::string& base, const std::string& location) {
  Result<HttpUrl> next = ResolveRedirect(Parse(base), location);
  EXPECT_TRUE(next.ok()) << location << ": " << next.status().message();
  return next.ok() ? next->host + next->target : "";
}

TEST(HttpUrlTest, PartsOfAUrl) {
  HttpUrl a = Parse("https://API.Example.com/v1/items?q=1#top");
  EXPECT_TRUE(a.https);
  EXPECT_EQ(a.host, "api.example.com");
  EXPECT_EQ(a.port, 443);
  EXPECT_EQ(a.target, "/v1/items?q=1");
  EXPECT_EQ(a.HostHeader(), "api.example.com");

  HttpUrl b = Parse("http://[2001:DB8::1]:8080");
  EXPECT_FALSE(b.https);
  EXPECT_EQ(b.host, "2001:db8::1");
  EXPECT_TRUE(b.ipv6_literal);
  EXPECT_EQ(b.port, 8080);
  EXPECT_EQ(b.target, "/");
  EXPECT_EQ(b.HostHeader(), "[2001:db8::1]:8080");

  EXPECT_EQ(Parse("http://10.0.0.1:80?x").target, "/?x");
  EXPECT_EQ(Parse("http://h:/p").port, 80);
}

TEST(HttpUrlTest, EncodingsStayAsWritten) {
  EXPECT_EQ(Parse("http://h/a%2Fb/c+d?e=f+g%2B&h=%20").target, "/a%2Fb/c+d?e=f+g%2B&h=%20");
  EXPECT_EQ(Parse("http://h/%7euser/%41").target, "/%7euser/%41");
}

TEST(HttpUrlTest, DotSegmentsAreRemoved) {
  EXPECT_EQ(Parse("http://h/a/./b/../c").target, "/a/c");
  EXPECT_EQ(Parse("http://h/../../x").target, "/x");
  EXPECT_EQ(Parse("http://h/a/%2E%2e/b/%2E").target, "/b/");
  EXPECT_EQ(Parse("http://h/a/..").target, "/");
  EXPECT_EQ(Parse("http://h/a/..b/.c?x=/../y").target, "/a/..b/.c?x=/../y");
  EXPECT_EQ(Parse("http://h//a//../b").target, "//a/b");
}

TEST(HttpUrlTest, CharactersOutsideRfc3986ArePercentEncoded) {
  EXPECT_EQ(Parse("http://h/a|b/{c}?d[]=1&e=\"x\"&f=<^`\\>&g=50%&h=%zz").target,
            "/a%7Cb/%7Bc%7D?d%5B%5D=1&e=%22x%22&f=%3C%5E%60%5C%3E&g=50%25&h=%25zz");
}

TEST(HttpUrlTest, UnusableUrlsAreInvalidUrl) {
  for (const char* text : {"",
                           "example.com/x",
                           "//example.com/x",
                           "/x",
                           "ftp://example.com/",
                           "mailto:x@example.com",
                           "http:/x",
                           "http://",
                           "http:///x",
                           "http://user@example.com/",
                           "http://exa$mple.com/",
                           "http://exa%41mple.com/",
                           "http://[v1.x]/",
                           "http://[::1/",
                           "http://[fe80::1%25eth0]/",
                           "http://example.com:0/",
                           "http://example.com:65536/",
                           "http://example.com:8o/",
                           "http://example.com:123456/",
                           "http://h/a b",
                           "http://h/\x01",
                           "http://h/\xc3\xa4"}) {
    Result<HttpUrl> url = ParseHttpUrl(text);
    ASSERT_FALSE(url.ok()) << text;
    EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(url.status().reason(), "invalid_url") << text;
  }
  EXPECT_FALSE(ParseHttpUrl("http://h/" + std::string(8192, 'a')).ok());
}

TEST(HttpUrlTest, RedirectsResolveAsRfc3986Section54) {
  const std::string base = "http://a/b/c/d;p?q";
  const std::vector<std::pair<std::string, std::string>> examples = {
      // Normal examples.
      {"g", "a/b/c/g"},
      {"./g", "a/b/c/g"},
      {"g/", "a/b/c/g/"},
      {"/g", "a/g"},
      {"//g", "g/"},
      {"?y", "a/b/c/d;p?y"},
      {"g?y", "a/b/c/g?y"},
      {"#s", "a/b/c/d;p?q"},
      {"g#s", "a/b/c/g"},
      {"g?y#s", "a/b/c/g?y"},
      {";x", "a/b/c/;x"},
      {"g;x", "a/b/c/g;x"},
      {"", "a/b/c/d;p?q"},
      {".", "a/b/c/"},
      {"./", "a/b/c/"},
      {"..", "a/b/"},
      {"../", "a/b/"},
      {"../g", "a/b/g"},
      {"../..", "a/"},
      {"../../", "a/"},
      {"../../g", "a/g"},
      // Abnormal examples.
      {"../../../g", "a/g"},
      {"../../../../g", "a/g"},
      {"/./g", "a/g"},
      {"/../g", "a/g"},
      {"g.", "a/b/c/g."},
      {".g", "a/b/c/.g"},
      {"g..", "a/b/c/g.."},
      {"..g", "a/b/c/..g"},
      {"./../g", "a/b/g"},
      {"./g/.", "a/b/c/g/"},
      {"g/./h", "a/b/c/g/h"},
      {"g/../h", "a/b/c/h"},
      {"g;x=1/./y", "a/b/c/g;x=1/y"},
      {"g;x=1/../y", "a/b/c/y"},
      {"g?y/./x", "a/b/c/g?y/./x"},
      {"g?y/../x", "a/b/c/g?y/../x"},
      {"g#s/./x", "a/b/c/g"},
      {"g#s/../x", "a/b/c/g"},
  };
  for (const auto& [location, expected] : examples) {
    EXPECT_EQ(Follow(base, location), expected) << location;
  }
}

TEST(HttpUrlTest, RedirectsKeepEncodingsAndScheme) {
  EXPECT_EQ(Follow("http://h/x%2Fy/z", "w%2Fv+u?a=b+c"), "h/x%2Fy/w%2Fv+u?a=b+c");
  EXPECT_EQ(Follow("http://h/x/y", "%2E%2E/%2e/z"), "h/z");
  EXPECT_EQ(Follow("http://h/x", "/r?f={1}|[2]"), "h/r?f=%7B1%7D%7C%5B2%5D");
  Result<HttpUrl> secure = ResolveRedirect(Parse("https://h:8443/a"), "//other/b");
  ASSERT_TRUE(secure.ok());
  EXPECT_TRUE(secure->https);
  EXPECT_EQ(secure->port, 443);
  Result<HttpUrl> same_port = ResolveRedirect(Parse("https://h:8443/a"), "/b");
  ASSERT_TRUE(same_port.ok());
  EXPECT_EQ(same_port->port, 8443);
  Result<HttpUrl> absolute = ResolveRedirect(Parse("https://h/a"), "HTTP://Other:81/../c");
  ASSERT_TRUE(absolute.ok());
  EXPECT_FALSE(absolute->https);
  EXPECT_EQ(absolute->host + absolute->target, "other/c");
}

TEST(HttpUrlTest, UnusableRedirectsAreInvalidUrl) {
  const HttpUrl base = Parse("http://h/a");
  for (const char* location : {"ftp://x/", "http://u:p@x/", "//", "http://x:99999/", "/a b",
                               "http://[::1/", "\xc3\xa4", "mailto:a@b"}) {
    Result<HttpUrl> next = ResolveRedirect(base, location);
    ASSERT_FALSE(next.ok()) << location;
    EXPECT_EQ(next.status().reason(), "invalid_url") << location;
  }
}

}  // namespace
}  // namespace sw
