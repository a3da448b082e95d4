#include "api/http_request.h"

#include <algorithm>
#include <cctype>

#include "api/request_target.h"

namespace sw {

void LimitRequestParser(RequestParser& parser, size_t max_body) {
  parser.body_limit(max_body);
  parser.header_limit(kMaxHeaderBytes);
}

size_t FeedRequestParser(RequestParser& parser, std::string_view bytes,
                         boost::beast::error_code& ec) {
  parser.eager(true);  // the body too, as far as it has arrived
  size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == boost::beast::http::error::need_more) {
      ec = {};
      break;
    }
    if (ec) {
      break;
    }
  }
  return used;
}

Request ToRequest(const boost::beast::http::request<boost::beast::http::string_body>& msg) {
  Request req;
  req.method = std::string(msg.method_string());
  Result<RequestTarget> target = ParseRequestTarget(msg.target());
  if (target.ok()) {
    req.path = std::move(target->path);
    req.segments = std::move(target->segments);
    req.query = std::move(target->query);
  } else {
    req.target_error = target.status().message();
  }
  for (const auto& field : msg) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    req.headers[name] = std::string(field.value());
  }
  req.body = msg.body();
  return req;
}

std::string ResponseBytes(const Response& response, bool keep_alive) {
  namespace http = boost::beast::http;
  const int status = response.status;
  const bool bodiless = status / 100 == 1 || status == 204 || status == 304;
  std::string out;
  out.reserve(160 + response.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += http::obsolete_reason(static_cast<http::status>(status));
  out += "\r\n";
  auto header = [&out](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  if (!response.body.empty() || status != 204) {
    header("Content-Type", response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    header(name, value);
  }
  if (!bodiless) {
    header("Content-Length", std::to_string(response.body.size()));
  }
  if (!keep_alive) {
    header("Connection", "close");
  }
  out += "\r\n";
  if (!bodiless) {
    out += response.body;
  }
  return out;
}

}  // namespace sw
