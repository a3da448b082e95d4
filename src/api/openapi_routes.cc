// GET /api/v1/openapi.json: the document as built, public like /healthz (it describes
// the API, nothing of a workspace).
#include "api/openapi_document.h"

namespace sw::routes {

void OpenApi(ApiContext&, Call& call) {
  Response r;
  r.content_type = "application/json";
  r.headers = {{"X-Request-Id", call.request_id}, {"Cache-Control", "no-cache"}};
  r.body = std::string(OpenApiDocument());
  call.ex->Respond(std::move(r));
}

}  // namespace sw::routes
