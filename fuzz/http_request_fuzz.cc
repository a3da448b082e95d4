// Bytes as a connection's first request (api/http_request.h): Beast's parser with the
// server's limits, fed as the connection feeds it (FeedRequestParser) in two reads (the first byte
// picks where the rest splits, as a request arrives in pieces), then the Request the handlers are
// given.
#include <algorithm>
#include <string>
#include <string_view>

#include "api/http_request.h"
#include "fuzz/fuzz_input.h"

namespace {

// Smaller than the server's 1 MiB so that an input can reach it.
constexpr size_t kMaxBody = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view text = sw::fuzz::Text(data + 1, size - 1);
  const size_t split = data[0] % (text.size() + 1);
  sw::RequestParser parser;
  sw::LimitRequestParser(parser, kMaxBody);
  // As the connection's buffer: bytes read and not used yet.
  std::string buffer;
  for (std::string_view read : {text.substr(0, split), text.substr(split)}) {
    buffer.append(read);
    boost::beast::error_code ec;
    buffer.erase(0, sw::FeedRequestParser(parser, buffer, ec));
    if (ec) {
      return 0;  // the server answers 400 or 413 and closes
    }
  }
  if (!parser.is_done()) {
    return 0;
  }
  const sw::Request req = sw::ToRequest(parser.get());
  sw::fuzz::Require(req.body.size() <= kMaxBody, "a body within the limit");
  sw::fuzz::Require(!req.method.empty(), "a parsed request has a method");
  if (req.target_error.empty()) {
    sw::fuzz::Require(req.path.empty() || req.path.front() == '/',
                      "an accepted target's path is absolute");
  }
  for (const auto& [name, value] : req.headers) {
    sw::fuzz::Require(
        std::none_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }),
        "header names are lower-cased");
  }
  return 0;
}
