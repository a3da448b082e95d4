#include "cli/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <exception>
#include <string_view>
#include <system_error>
#include <utility>

namespace sw::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kHttpScheme = "http://";
constexpr char kUserAgent[] = "stepwell-cli";

// Where a server URL points: what to connect to and what to put before each target.
struct ServerAddress {
  std::string host;       // For the resolver: brackets of an IPv6 literal removed.
  std::string port;       // Decimal, "80" when the URL has none.
  std::string authority;  // For the Host header, as written in the URL.
  std::string base_path;  // "" or "/prefix" without a trailing slash.
};

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

Result<std::string> ParsePort(std::string_view port, const std::string& url) {
  int value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return InvalidArgument("invalid port in server URL " + url);
  }
  return std::string(port);
}

Result<ServerAddress> ParseServerUrl(const std::string& url) {
  std::string lower = Lower(url);
  if (lower.rfind("https://", 0) == 0) {
    return InvalidArgument("server URL " + url +
                           " uses https, which this client does not support; use http://");
  }
  if (lower.rfind(kHttpScheme, 0) != 0) {
    return InvalidArgument("server URL " + url + " must start with http://");
  }
  std::string_view rest = std::string_view(url).substr(kHttpScheme.size());
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  ServerAddress address;
  address.authority = std::string(authority);
  if (slash != std::string_view::npos) {
    address.base_path = std::string(rest.substr(slash));
    while (!address.base_path.empty() && address.base_path.back() == '/') {
      address.base_path.pop_back();
    }
  }
  if (authority.find_first_of("@?#") != std::string_view::npos) {
    return InvalidArgument("server URL " + url + " must be http://host[:port][/path]");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("unclosed '[' in server URL " + url);
    }
    address.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return InvalidArgument("server URL " + url + " must be http://host[:port][/path]");
    }
    port_text = after.empty() ? "80" : after.substr(1);
  } else {
    std::size_t colon = authority.rfind(':');
    address.host = std::string(authority.substr(0, colon));
    port_text = colon == std::string_view::npos ? "80" : authority.substr(colon + 1);
  }
  if (address.host.empty()) {
    return InvalidArgument("server URL " + url + " has no host");
  }
  Result<std::string> port = ParsePort(port_text, url);
  if (!port.ok()) {
    return port.status();
  }
  address.port = *std::move(port);
  return address;
}

Status Unavailable(const std::string& what, const beast::error_code& error) {
  std::string reason = error == beast::error::timeout ? std::string("timed out") : error.message();
  return Status(StatusCode::kUnavailable, what + ": " + reason, "unavailable");
}

// Runs the pending asynchronous operation to completion. tcp_stream's expiry timer
// bounds it: on expiry the operation completes with beast::error::timeout.
void RunPending(asio::io_context& io) {
  io.run();
  io.restart();
}

http::request<http::string_body> BuildRequest(const ServerAddress& address, http::verb verb,
                                              const std::string& target, const std::string& token,
                                              const std::string& body,
                                              const std::string& content_type) {
  http::request<http::string_body> request(verb, address.base_path + target, 11);
  request.set(http::field::host, address.authority);
  request.set(http::field::user_agent, kUserAgent);
  request.set(http::field::accept, "application/json");
  if (!token.empty()) {
    request.set(http::field::authorization, "Bearer " + token);
  }
  if (!body.empty()) {
    request.set(http::field::content_type, content_type);
    request.body() = body;
  }
  request.prepare_payload();
  return request;
}

HttpReply ToReply(http::response<http::string_body>&& response) {
  HttpReply reply;
  reply.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name = Lower(field.name_string());
    std::string value(field.value());
    auto [it, inserted] = reply.headers.emplace(name, value);
    if (!inserted) {
      it->second += ", " + value;
    }
  }
  reply.body = std::move(response.body());
  return reply;
}

Result<HttpReply> Exchange(const ServerAddress& address, const std::string& url,
                           http::request<http::string_body>& request,
                           std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::error_code error;
  tcp::resolver resolver(io);
  tcp::resolver::results_type endpoints = resolver.resolve(address.host, address.port, error);
  if (error) {
    return Unavailable("cannot resolve " + address.host + " (server " + url + ")", error);
  }

  beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  stream.async_connect(endpoints,
                       [&error](const beast::error_code& e, const tcp::endpoint&) { error = e; });
  RunPending(io);
  if (error) {
    return Unavailable("cannot connect to " + url, error);
  }

  stream.expires_after(timeout);
  http::async_write(stream, request,
                    [&error](const beast::error_code& e, std::size_t) { error = e; });
  RunPending(io);
  if (error) {
    return Unavailable("cannot send the request to " + url, error);
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxHttpReplyBytes);
  stream.expires_after(timeout);
  http::async_read(stream, buffer, parser,
                   [&error](const beast::error_code& e, std::size_t) { error = e; });
  RunPending(io);
  if (error == http::error::body_limit) {
    return Status(StatusCode::kResourceExhausted,
                  "the reply from " + url + " is larger than " +
                      std::to_string(kMaxHttpReplyBytes) + " bytes",
                  "payload_too_large");
  }
  if (error) {
    return Unavailable("cannot read the reply from " + url, error);
  }

  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return ToReply(parser.release());
}

}  // namespace

Result<HttpReply> HttpCall(const std::string& server_url, const std::string& method,
                           const std::string& target, const std::string& token,
                           const std::string& body, const std::string& content_type,
                           std::chrono::milliseconds timeout) {
  SW_CHECK(!target.empty() && target.front() == '/');
  Result<ServerAddress> address = ParseServerUrl(server_url);
  if (!address.ok()) {
    return address.status();
  }
  auto is_control = [](unsigned char c) { return c < 0x20 || c == 0x7f; };
  if (std::any_of(token.begin(), token.end(), is_control) ||
      std::any_of(content_type.begin(), content_type.end(), is_control)) {
    return InvalidArgument("the token and content type must not contain control characters");
  }
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return InvalidArgument("unknown HTTP method " + method);
  }
  try {
    http::request<http::string_body> request =
        BuildRequest(*address, verb, target, token, body, content_type);
    return Exchange(*address, server_url, request, timeout);
  } catch (const std::exception& e) {
    // Beast and Asio report failures through error codes; this is for allocation
    // failures and anything else a library throws, so no exception leaves HttpCall.
    return Status(StatusCode::kUnavailable,
                  "HTTP request to " + server_url + " failed: " + e.what(), "unavailable");
  }
}

}  // namespace sw::cli
