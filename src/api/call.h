// Call is one API request being answered: its exchange, who is asking, the route's
// path parameters, the parsed body, and the ways to answer (a JSON reply or an error
// in the contract's shape, both with X-Request-Id). Handlers copy a Call to answer
// later (long-polls, streams, scripts); the copies share the exchange.
//
// Not thread-safe: one thread at a time uses a Call (an exchange serialises answers).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/http_types.h"
#include "api/router.h"
#include "control/service.h"
#include "core/result.h"

namespace sw {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct Call {
  std::shared_ptr<Exchange> ex;
  const Request& req;  // the exchange's; lives as long as `ex`
  std::string request_id;
  RequestContext ctx;
  bool via_cookie = false;
  PathParams params;
  nlohmann::json body;
  int max_json_depth = 64;

  // The route's parameter `name`. REQUIRES: the route's pattern has it.
  const std::string& Param(std::string_view name) const;
  // The query parameter `name`, or "" when absent.
  std::string Query(const std::string& name) const;

  void Reply(int status, const nlohmann::json& body_json, HttpHeaders headers = {});
  void Fail(const Status& s);

  // Parses the body as a JSON object with only `allowed` keys. An empty body is {}
  // unless `required`. False when it answered an error.
  bool ParseObject(std::initializer_list<std::string_view> allowed, bool required = false);
  // Parses the body as any JSON value. False when it answered an error.
  bool ParseJson(bool required);
};

// An error that answers 405 method_not_allowed.
Status MethodNotAllowed();
// A decimal integer filling all of `s`, or nothing.
std::optional<int64_t> ParseInt(const std::string& s);
// The request's Idempotency-Key header, if it has one (API.md "Idempotency");
// kInvalidArgument when it is longer than 255 characters.
Result<std::optional<std::string>> IdempotencyKeyOf(const Call& call);
// The version an If-Match header names (`"7"`, `W/"7"` or `7`), if the request has one;
// kInvalidArgument saying it must be `what` ("a run version") otherwise.
Result<std::optional<int64_t>> IfMatchVersionOf(const Call& call, std::string_view what);
// For a list: refuses a query parameter that is not `limit`, `cursor` or in `known`,
// and reads `limit` (1..500; left as is when absent) and `cursor`, which must start with
// `cursor_prefix` when one is given (a list whose cursor is the last id of the page
// before: "sch_"). Each refusal is kInvalidArgument naming its parameter in `field`.
Status ParsePaging(const Call& call, std::initializer_list<std::string_view> known, int& limit,
                   std::string& cursor, std::string_view cursor_prefix = "");
// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(const std::string& header, const std::string& name);
// True for "application/json", any parameters and case aside.
bool IsJsonContentType(const std::string& content_type);

}  // namespace sw
