#include "api/call.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/render.h"

namespace sw {

using nlohmann::json;

namespace {

// What a look at a JSON text before parsing finds (strings skipped): the deepest
// nesting of arrays and objects (very deep JSON would exhaust the stack when it is
// freed or printed), and the first integer literal that no 64-bit integer holds (the
// parser would keep it as a double, silently inexact).
struct JsonScan {
  int depth = 0;
  std::string_view inexact_integer;
};

JsonScan ScanJson(std::string_view text) {
  JsonScan scan;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      scan.depth = std::max(scan.depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    } else if ((c == '-' || std::isdigit(static_cast<unsigned char>(c))) &&
               scan.inexact_integer.empty()) {
      size_t end = i + 1;
      while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) {
        ++end;
      }
      const bool is_float =
          end < text.size() && (text[end] == '.' || text[end] == 'e' || text[end] == 'E');
      const std::string_view literal = text.substr(i, end - i);
      if (!is_float && literal != "-") {
        int64_t as_signed = 0;
        uint64_t as_unsigned = 0;
        const char* first = literal.data();
        const char* last = first + literal.size();
        const bool fits = c == '-' ? std::from_chars(first, last, as_signed).ec == std::errc()
                                   : std::from_chars(first, last, as_unsigned).ec == std::errc();
        if (!fits) {
          scan.inexact_integer = literal;
        }
      }
      i = end - 1;
    }
  }
  return scan;
}

}  // namespace

Status MethodNotAllowed() {
  return Status(StatusCode::kInvalidArgument, "Method not allowed on this path",
                "method_not_allowed");
}

Status ParsePaging(const Call& call, std::initializer_list<std::string_view> known, int& limit,
                   std::string& cursor, std::string_view cursor_prefix) {
  constexpr int64_t kMaxLimit = 500;
  for (const auto& [key, value] : call.req.query) {
    bool ok = key == "limit" || key == "cursor";
    for (std::string_view k : known) {
      ok = ok || key == k;
    }
    if (!ok) {
      return InvalidArgument("Unknown query parameter '" + key + "'", {.field = key});
    }
  }
  if (auto it = call.req.query.find("limit"); it != call.req.query.end()) {
    std::optional<int64_t> v = ParseInt(it->second);
    if (!v || *v < 1 || *v > kMaxLimit) {
      return InvalidArgument("'limit' must be an integer from 1 to 500", {.field = "limit"});
    }
    limit = static_cast<int>(*v);
  }
  std::string given = call.Query("cursor");
  if (!given.empty() && !given.starts_with(cursor_prefix)) {
    return InvalidArgument("'cursor' is not a cursor this list gave out", {.field = "cursor"});
  }
  cursor = std::move(given);
  return Status::Ok();
}

Result<std::optional<std::string>> IdempotencyKeyOf(const Call& call) {
  constexpr size_t kMaxIdempotencyKeyChars = 255;
  std::string key = call.req.Header("idempotency-key");
  if (key.empty()) {
    return std::optional<std::string>();
  }
  if (key.size() > kMaxIdempotencyKeyChars) {
    return InvalidArgument("Idempotency-Key is longer than 255 characters");
  }
  return std::optional<std::string>(std::move(key));
}

Result<std::optional<int64_t>> IfMatchVersionOf(const Call& call, std::string_view what) {
  std::string if_match = call.req.Header("if-match");
  if (if_match.empty()) {
    return std::optional<int64_t>();
  }
  if (if_match.rfind("W/", 0) == 0) if_match = if_match.substr(2);
  if (if_match.size() >= 2 && if_match.front() == '"' && if_match.back() == '"') {
    if_match = if_match.substr(1, if_match.size() - 2);
  }
  std::optional<int64_t> v = ParseInt(if_match);
  if (!v) {
    return InvalidArgument("If-Match must be " + std::string(what) + " such as \"7\"");
  }
  return v;
}

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    size_t first = part.find_first_not_of(' ');
    part = first == std::string::npos ? "" : part.substr(first);
    if (part.rfind(name + "=", 0) == 0) {
      return part.substr(name.size() + 1);
    }
    pos = end + 1;
  }
  return "";
}

bool IsJsonContentType(const std::string& content_type) {
  std::string media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  std::transform(media.begin(), media.end(), media.begin(), ::tolower);
  return media == "application/json";
}

const std::string& Call::Param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) {
      return value;
    }
  }
  CheckFailed("the route has a parameter named as asked", __FILE__, __LINE__);
}

std::string Call::Query(const std::string& name) const {
  auto it = req.query.find(name);
  return it == req.query.end() ? "" : it->second;
}

void Call::Reply(int status, const json& body_json, HttpHeaders headers) {
  Response r;
  r.status = status;
  r.headers = std::move(headers);
  r.headers.emplace_back("X-Request-Id", request_id);
  if (status != 204) {
    r.body = body_json.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  ex->Respond(std::move(r));
}

void Call::Fail(const Status& s) {
  int status = s.reason() == "method_not_allowed" ? 405 : HttpStatusFor(s);
  if (status >= 500) {
    spdlog::error("event=http.error method={} path={} status={} request_id={} message={}",
                  req.method, req.path, status, request_id, s.message());
  }
  if (s.reason() == "unsupported_media_type") status = 415;
  Reply(status, ErrorJson(s));
}

bool Call::ParseObject(std::initializer_list<std::string_view> allowed, bool required) {
  if (!ParseJson(required)) {
    return false;
  }
  if (!body.is_object()) {
    Fail(InvalidArgument("The request body must be a JSON object"));
    return false;
  }
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      Fail(InvalidArgument("Unknown field '" + key + "'", {.field = key}));
      return false;
    }
  }
  return true;
}

bool Call::ParseJson(bool required) {
  if (req.body.empty()) {
    if (required) {
      Fail(InvalidArgument("A JSON request body is required"));
      return false;
    }
    body = json::object();
    return true;
  }
  if (!IsJsonContentType(req.Header("content-type"))) {
    Fail(Status(StatusCode::kInvalidArgument, "Content-Type must be application/json",
                "unsupported_media_type"));
    return false;
  }
  const JsonScan scan = ScanJson(req.body);
  if (scan.depth > max_json_depth) {
    Fail(InvalidArgument("JSON nested deeper than " + std::to_string(max_json_depth) + " levels"));
    return false;
  }
  if (!scan.inexact_integer.empty()) {
    Fail(InvalidArgument("The integer " + std::string(scan.inexact_integer.substr(0, 40)) +
                         " is too large to keep exactly (at most 64 bits)"));
    return false;
  }
  try {
    body = json::parse(req.body);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number no double holds (1e400).
    Fail(InvalidArgument(std::string("Malformed JSON: ") + e.what()));
    return false;
  }
  return true;
}

}  // namespace sw
