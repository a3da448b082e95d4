// The API's OpenAPI 3.1 description: docs/openapi.json, embedded into the binary at build
// time (cmake/embed_file.cmake) and served as it is at GET /api/v1/openapi.json, without
// a token. The document is checked against the route table (tests/api/openapi_test.cc)
// and against the running server's answers (tests/e2e/test_openapi.py).
//
// Thread-safe: constant data.
#pragma once

#include <string_view>

#include "api/api_context.h"
#include "api/call.h"

namespace sw {

// The bytes of docs/openapi.json as built.
std::string_view OpenApiDocument();

namespace routes {

// GET /api/v1/openapi.json
void OpenApi(ApiContext& api, Call& call);

}  // namespace routes
}  // namespace sw
