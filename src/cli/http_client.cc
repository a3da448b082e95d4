#include "cli/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
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

constexpr char kUserAgent[] = "stepwell-cli";

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

}  // namespace

Result<ServerAddress> ParseServerUrl(const std::string& url) {
  if (Lower(url).rfind("https://", 0) == 0) {
    return InvalidArgument("server URL " + url +
                           " uses https, which this client does not support; use http://");
  }
  boost::system::result<boost::urls::url_view> parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme_id() != boost::urls::scheme::http || !parsed->has_authority()) {
    return InvalidArgument(Lower(url).rfind("http://", 0) == 0
                               ? "server URL " + url + " is not a valid URL"
                               : "server URL " + url + " must start with http://");
  }
  // A path right after the authority must start with "/": Boost.URL 1.81 would take
  // "http://host:8o" as port 8 and path "o".
  const std::string_view path = parsed->encoded_path();
  if (parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment() ||
      (!path.empty() && path.front() != '/')) {
    return InvalidArgument("server URL " + url + " must be http://host[:port][/path]");
  }
  ServerAddress address;
  address.authority = std::string(parsed->encoded_authority());
  address.host =
      parsed->host_type() == boost::urls::host_type::name ? parsed->host() : parsed->host_address();
  if (address.host.empty()) {
    return InvalidArgument("server URL " + url + " has no host");
  }
  Result<std::string> port =
      parsed->has_port() ? ParsePort(parsed->port(), url) : Result<std::string>(std::string("80"));
  if (!port.ok()) {
    return port.status();
  }
  address.port = *std::move(port);
  address.base_path = std::string(path);
  while (!address.base_path.empty() && address.base_path.back() == '/') {
    address.base_path.pop_back();
  }
  return address;
}

namespace {

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
