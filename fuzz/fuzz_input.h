// Helpers shared by the libFuzzer targets in this folder: the input as text, as a JSON
// document (nullopt when it is not one, as the API answers 400 before any parser runs)
// and a check that aborts, so that libFuzzer records the input as a crash.
//
// Header-only; each target is its own single-threaded process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace sw::fuzz {

inline std::string_view Text(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// As the HTTP layer parses a body: exceptions off, a parse error is no document.
inline std::optional<nlohmann::json> Json(const uint8_t* data, size_t size) {
  nlohmann::json doc = nlohmann::json::parse(Text(data, size), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return std::nullopt;
  }
  return doc;
}

// A property the code under test promises; a violation is a finding.
inline void Require(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

}  // namespace sw::fuzz
