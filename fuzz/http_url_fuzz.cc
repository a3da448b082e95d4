// The http step's URLs (engine/http_url.h): the input's first line is a URL, the rest
// a redirect's Location resolved against it. A URL accepted and printed parses again.
#include "engine/http_url.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = sw::fuzz::Text(data, size);
  const size_t newline = text.find('\n');
  std::string_view first = text.substr(0, newline);
  sw::Result<sw::HttpUrl> url = sw::ParseHttpUrl(first);
  if (!url.ok()) {
    return 0;
  }
  (void)url->HostHeader();
  (void)url->Origin();
  if (newline != std::string_view::npos) {
    (void)sw::ResolveRedirect(*url, text.substr(newline + 1));
  }
  return 0;
}
