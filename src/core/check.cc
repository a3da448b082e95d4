#include <cstdio>
#include <cstdlib>

#include "core/result.h"

namespace sw {

void CheckFailed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "SW_CHECK failed: %s at %s:%d\n", cond, file, line);
  std::abort();
}

}  // namespace sw
