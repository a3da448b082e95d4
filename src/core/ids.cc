// ULID encoding: the 128 bits (48 of milliseconds, big-endian, then 80 random bits)
// are written as 26 Crockford base32 characters, most significant first. The alphabet
// is in ASCII order, so ids of the same prefix sort by creation time as strings.
#include "core/ids.h"

#include <algorithm>

namespace sw {
namespace {

constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr int kTimeChars = 10;    // 50 bits; the top two are always zero.
constexpr int kRandomChars = 16;  // Exactly 80 bits.
constexpr int64_t kMaxUlidMs = (int64_t{1} << 48) - 1;
constexpr size_t kMaxSlugLength = 63;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

std::string MakeId(std::string_view prefix, int64_t unix_ms,
                   const std::array<uint8_t, 10>& random) {
  // A ULID holds 48 bits of milliseconds (until the year 10889). A clock outside that
  // range is clamped rather than asserted on: the id stays well formed and unique.
  const uint64_t ms = static_cast<uint64_t>(unix_ms < 0 ? 0 : std::min(unix_ms, kMaxUlidMs));
  std::string id(prefix);
  id.push_back('_');
  const size_t start = id.size();
  id.resize(start + kTimeChars + kRandomChars);
  for (int i = 0; i < kTimeChars; ++i) {
    const int shift = 5 * (kTimeChars - 1 - i);
    id[start + i] = kCrockford[(ms >> shift) & 0x1f];
  }
  // Read the 80 random bits five at a time, most significant first.
  uint32_t buffer = 0;
  int buffered_bits = 0;
  size_t next_byte = 0;
  for (int i = 0; i < kRandomChars; ++i) {
    if (buffered_bits < 5) {
      buffer = (buffer << 8) | random[next_byte++];
      buffered_bits += 8;
    }
    buffered_bits -= 5;
    id[start + kTimeChars + i] = kCrockford[(buffer >> buffered_bits) & 0x1f];
  }
  return id;
}

bool IsWellFormedId(std::string_view prefix, std::string_view s) {
  constexpr size_t kRandomChars = 26;
  if (s.size() != prefix.size() + 1 + kRandomChars || !s.starts_with(prefix) ||
      s[prefix.size()] != '_') {
    return false;
  }
  for (char c : s.substr(prefix.size() + 1)) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) {
      return false;
    }
  }
  return true;
}

bool IsValidSlug(std::string_view s) {
  if (s.empty() || s.size() > kMaxSlugLength || !IsLowerAlnum(s[0])) {
    return false;
  }
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace sw
