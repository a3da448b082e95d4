// The `http` step's mapping between a rendered `with` object and the HTTP client:
// the request to send and the step output {status, headers, body} of a response. One
// place, used by the engine (runs) and by synchronous script invocations.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/result.h"
#include "engine/http_client.h"

namespace sw {

// Default per-attempt timeout when the step names none.
inline constexpr int64_t kDefaultHttpTimeoutMs = 30000;

// `with` is already rendered. A non-string body is sent as JSON (with a JSON
// Content-Type unless one is given). Fails when `url` is not a string.
Result<HttpRequest> BuildHttpRequest(const nlohmann::json& with, int64_t timeout_ms);

// {status, headers, body}; the body is parsed when it is JSON, else kept as text.
nlohmann::json HttpStepOutput(const HttpResponse& response);

}  // namespace sw
