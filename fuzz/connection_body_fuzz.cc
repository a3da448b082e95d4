// The bodies of `POST /api/v1/connections` (ParseNewConnection) and of a reconnect
// (ParseOAuth2Settings of its `oauth2`).
#include "control/connection_settings.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<nlohmann::json> doc = sw::fuzz::Json(data, size);
  if (!doc) {
    return 0;
  }
  (void)sw::ParseNewConnection(*doc);
  if (doc->is_object() && doc->contains("oauth2")) {
    sw::OAuth2Settings settings;
    (void)sw::ParseOAuth2Settings((*doc)["oauth2"], /*creating=*/false, settings);
  }
  return 0;
}
