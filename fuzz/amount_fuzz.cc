// Money amounts (core/billing.h): ParseAmount and ParseFraction on any JSON value; an
// amount accepted writes back (AmountJson) to a value that parses to the same micros.
#include "core/billing.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<nlohmann::json> doc = sw::fuzz::Json(data, size);
  if (!doc) {
    return 0;
  }
  (void)sw::ParseFraction(*doc, "soft_threshold");
  sw::Result<int64_t> micros = sw::ParseAmount(*doc, "spend_cap");
  if (!micros.ok()) {
    return 0;
  }
  sw::fuzz::Require(*micros >= 0, "an amount is not negative");
  sw::Result<int64_t> again = sw::ParseAmount(sw::AmountJson(*micros), "spend_cap");
  sw::fuzz::Require(again.ok() && *again == *micros, "AmountJson parses back to the same micros");
  (void)sw::FormatAmount(*micros, "USD");
  return 0;
}
