// The body of `PUT /api/v1/billing` (control/billing.h ParseBillingUpdate).
#include "control/billing.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<nlohmann::json> doc = sw::fuzz::Json(data, size);
  if (!doc) {
    return 0;
  }
  sw::BillingUpdate update;
  (void)sw::ParseBillingUpdate(*doc, update);
  return 0;
}
