// HttpCall: a small synchronous HTTP/1.1 client for the stepwell CLI, built on
// Boost.Beast. One call opens one TCP connection, sends one request, reads one reply
// and closes. Plain http only: servers are `http://host[:port][/base-path]`.
//
// All Beast/Asio headers stay in http_client.cc so that only one translation unit pays
// for them.
//
// Errors are values, never exceptions: kInvalidArgument for a server URL this client
// cannot use (not http://, bad port), kUnavailable when the server cannot be reached or
// the exchange fails or times out, kResourceExhausted when the reply is larger than
// kMaxHttpReplyBytes. A reply with any HTTP status (including 4xx/5xx) is a success of
// HttpCall; the caller reads HttpReply::status.
//
// Thread-safe: each call has its own I/O context and socket.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include "core/result.h"

namespace sw::cli {

// Long enough that a long-poll (`GET /api/v1/runs/{id}?wait_ms=60000`) answers first.
inline constexpr std::chrono::milliseconds kDefaultHttpTimeout = std::chrono::seconds(70);

// A run with many steps can be large; the reply body is cut off (an error) beyond this.
inline constexpr std::size_t kMaxHttpReplyBytes = 64 * 1024 * 1024;

struct HttpReply {
  int status = 0;
  std::string body;
  // Header names are lower-cased ("content-type", "etag"); repeated headers are joined
  // with ", ".
  std::map<std::string, std::string> headers;
};

// Where a server URL points: what to connect to and what to put before each target.
struct ServerAddress {
  std::string host;       // for the resolver: an IPv6 literal without its brackets
  std::string port;       // decimal, "80" when the URL has none
  std::string authority;  // for the Host header, as written in the URL
  std::string base_path;  // "" or "/prefix" (percent-encoded) without a trailing slash
};

// Parses `http://host[:port][/base-path]` with Boost.URL (RFC 3986). kInvalidArgument
// for https, another scheme, credentials, a query or fragment, or a bad port.
Result<ServerAddress> ParseServerUrl(const std::string& url);

// Sends `method` `target` to the server at `server_url`. `target` is the path and
// query ("/api/v1/runs?limit=5"), appended to the URL's base path. A non-empty `token`
// is sent as `Authorization: Bearer <token>`; a non-empty `body` is sent with
// `content_type`. `timeout` bounds each phase (connect, write, read) separately; name
// resolution is bounded by the system resolver's own timeouts.
// REQUIRES: `target` starts with '/'.
Result<HttpReply> HttpCall(const std::string& server_url, const std::string& method,
                           const std::string& target, const std::string& token,
                           const std::string& body,
                           const std::string& content_type = "application/json",
                           std::chrono::milliseconds timeout = kDefaultHttpTimeout);

}  // namespace sw::cli
