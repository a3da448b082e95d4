// The request target of an HTTP request (api/request_target.h) on any bytes.
#include "api/request_target.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sw::Result<sw::RequestTarget> target = sw::ParseRequestTarget(sw::fuzz::Text(data, size));
  if (target.ok()) {
    sw::fuzz::Require(target->path.empty() || target->path.front() == '/',
                      "an accepted target's path is absolute");
  }
  return 0;
}
