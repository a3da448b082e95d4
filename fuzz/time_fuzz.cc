// ParseTime (RFC 3339) on any text; a time it accepts formats and parses back to itself.
#include "core/time_format.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sw::Result<int64_t> t = sw::ParseTime(sw::fuzz::Text(data, size));
  if (!t.ok()) {
    return 0;
  }
  sw::Result<int64_t> again = sw::ParseTime(sw::FormatTime(*t));
  sw::fuzz::Require(again.ok() && *again == *t, "FormatTime parses back to the same instant");
  return 0;
}
