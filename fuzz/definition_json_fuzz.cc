// A workflow definition as `PUT /api/v1/workflows/{id}` takes it (JSON), through
// ParseDefinition and the step-reference checks.
#include "core/definition.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<nlohmann::json> doc = sw::fuzz::Json(data, size);
  if (!doc) {
    return 0;
  }
  (void)sw::ParseDefinition(*doc, "wf");
  return 0;
}
