// HttpUrl is a URL the http step requests: the step's `url`, or where a redirect
// points. Both are parsed with Boost.URL (RFC 3986) and normalized the same way: the
// fragment is dropped (never sent) and dot segments are removed ("/a/../b" is "/b",
// also when written "%2E%2E"; ".." never climbs above the root). A redirect's Location
// is resolved against the URL that answered it (RFC 3986 section 5.2). Encoded
// characters stay encoded: "%2F" is not a "/", "+" is a plus.
//
// Printable characters that RFC 3986 allows nowhere after the authority but that
// servers commonly take ("|", "[", "]", "{", "}", '"', "<", ">", "\", "^", "`", a "%" not
// followed by two hex digits) are percent-encoded rather than refused. The host must
// be a name of letters, digits, "-", "." and "_", an IPv4 address or an IPv6 literal;
// credentials in the URL are refused.
//
// Pure functions over values; thread-safe.
#pragma once

#include <boost/url/url.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sw {

struct HttpUrl {
  bool https = false;
  std::string host;  // lower-case; an IPv6 literal without its brackets
  bool ipv6_literal = false;
  uint16_t port = 0;
  std::string target;          // path and query, starting with '/'
  boost::urls::url reference;  // the whole URL, the base its redirects resolve against

  bool DefaultPort() const { return port == (https ? 443 : 80); }
  std::string HostForHeader() const { return ipv6_literal ? "[" + host + "]" : host; }
  std::string HostHeader() const {
    return DefaultPort() ? HostForHeader() : HostForHeader() + ":" + std::to_string(port);
  }
  std::string Origin() const {
    return std::string(https ? "https://" : "http://") + HostForHeader() + ":" +
           std::to_string(port);
  }
};

// An absolute http or https URL. kInvalidArgument with reason "invalid_url" for
// anything else (too long, spaces or non-ASCII, another scheme, no host, a bad port).
Result<HttpUrl> ParseHttpUrl(std::string_view text);

// Where a redirect from `base` with this Location goes: an absolute URL, a
// scheme-relative "//host/path", an absolute or relative path, or a query alone.
// Errors as ParseHttpUrl's.
Result<HttpUrl> ResolveRedirect(const HttpUrl& base, std::string_view location);

}  // namespace sw
