// Durations as written in definitions. The parser is strict on purpose: a
// definition that says "1.5h" or "5 m" is rejected with a sentence that names the
// problem, rather than being read as something the author did not mean.
#include "core/duration.h"

#include <array>
#include <cstdint>

namespace sw {
namespace {

using std::chrono::milliseconds;

struct Unit {
  std::string_view name;
  int64_t ms;
};

// Largest first, so that FormatDuration finds the shortest exact spelling.
constexpr std::array<Unit, 5> kUnits = {{
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

// User text is echoed in messages, but never more than this much of it.
constexpr size_t kMaxQuotedLength = 40;

std::string Quote(std::string_view text) {
  if (text.size() > kMaxQuotedLength) {
    return "'" + std::string(text.substr(0, kMaxQuotedLength)) + "...'";
  }
  return "'" + std::string(text) + "'";
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

const Unit* FindUnit(std::string_view name) {
  for (const Unit& unit : kUnits) {
    if (unit.name == name) {
      return &unit;
    }
  }
  return nullptr;
}

Status DurationError(std::string_view text, std::string_view problem) {
  return InvalidArgument("invalid duration " + Quote(text) + ": " + std::string(problem));
}

}  // namespace

Result<milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) {
    return InvalidArgument("invalid duration: it is empty (write e.g. 30s, 5m or 2h)");
  }
  for (char c : text) {
    if (IsSpace(c)) {
      return DurationError(text, "it must not contain whitespace");
    }
  }
  if (text[0] == '-') {
    return DurationError(text, "it must not be negative");
  }
  if (!IsDigit(text[0])) {
    return DurationError(text, "it must start with a whole number, e.g. 30s");
  }
  // Any count above kMaxDuration is too long whatever the unit (the smallest is 1ms),
  // so the accumulation stops growing there and cannot overflow.
  const int64_t max_ms = kMaxDuration.count();
  int64_t count = 0;
  size_t i = 0;
  for (; i < text.size() && IsDigit(text[i]); ++i) {
    if (count <= max_ms) {
      count = count * 10 + (text[i] - '0');
    }
  }
  std::string_view unit_name = text.substr(i);
  if (unit_name.empty()) {
    return DurationError(text, "it has no unit (use ms, s, m, h or d)");
  }
  if (unit_name[0] == '.' || unit_name[0] == ',') {
    return DurationError(text, "it must be a whole number (write 90m, not 1.5h)");
  }
  const Unit* unit = FindUnit(unit_name);
  if (unit == nullptr) {
    return DurationError(text, "unknown unit " + Quote(unit_name) + " (use ms, s, m, h or d)");
  }
  if (count > max_ms / unit->ms) {
    return DurationError(text, "it is longer than the maximum of " + FormatDuration(kMaxDuration));
  }
  return milliseconds(count * unit->ms);
}

std::string FormatDuration(milliseconds d) {
  const int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  // Work on the magnitude as unsigned so that the most negative value is safe.
  const uint64_t magnitude = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  const std::string sign = ms < 0 ? "-" : "";
  for (const Unit& unit : kUnits) {
    const uint64_t unit_ms = static_cast<uint64_t>(unit.ms);
    if (magnitude % unit_ms == 0) {
      return sign + std::to_string(magnitude / unit_ms) + std::string(unit.name);
    }
  }
  return sign + std::to_string(magnitude) + "ms";  // Unreachable: 1ms divides all.
}

}  // namespace sw
