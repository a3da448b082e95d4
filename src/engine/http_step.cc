#include "engine/http_step.h"

namespace sw {

using nlohmann::json;

Result<HttpRequest> BuildHttpRequest(const json& with, int64_t timeout_ms) {
  if (!with.contains("url") || !with["url"].is_string()) {
    return InvalidArgument("'with.url' did not render to a string");
  }
  HttpRequest request;
  request.method = with.value("method", "GET");
  request.url = with["url"].get<std::string>();
  request.timeout_ms = timeout_ms;
  bool has_content_type = false;
  if (with.contains("headers") && with["headers"].is_object()) {
    for (const auto& [name, value] : with["headers"].items()) {
      request.headers.emplace_back(name,
                                   value.is_string() ? value.get<std::string>() : value.dump());
      has_content_type = has_content_type || name == "Content-Type" || name == "content-type";
    }
  }
  if (with.contains("body") && !with["body"].is_null()) {
    const json& body = with["body"];
    request.body = body.is_string() ? body.get<std::string>() : body.dump();
    if (!has_content_type && !body.is_string()) {
      request.headers.emplace_back("Content-Type", "application/json");
    }
  }
  return request;
}

json HttpStepOutput(const HttpResponse& response) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    body = response.body;
  }
  return json{{"status", response.status}, {"headers", response.headers}, {"body", body}};
}

}  // namespace sw
