#include "api/http_request.h"

#include <algorithm>
#include <cctype>

#include "api/request_target.h"

namespace sw {

void LimitRequestParser(RequestParser& parser, size_t max_body) {
  parser.body_limit(max_body);
  parser.header_limit(kMaxHeaderBytes);
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

}  // namespace sw
