// ParseDuration on any text; a duration it accepts formats and parses back to itself.
#include <chrono>

#include "core/duration.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sw::Result<std::chrono::milliseconds> d = sw::ParseDuration(sw::fuzz::Text(data, size));
  if (!d.ok()) {
    return 0;
  }
  sw::fuzz::Require(d->count() >= 0, "a parsed duration is not negative");
  sw::Result<std::chrono::milliseconds> again = sw::ParseDuration(sw::FormatDuration(*d));
  sw::fuzz::Require(again.ok() && *again == *d, "FormatDuration parses back to the same value");
  return 0;
}
