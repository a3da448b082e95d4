// RFC 3339 formatting and parsing with Howard Hinnant's days-from-civil algorithms
// (proleptic Gregorian calendar), so no libc time functions and no time zone data.
//
// Both directions cover the four-digit years of RFC 3339, 0000-01-01T00:00:00.000Z to
// 9999-12-31T23:59:59.999Z. ParseTime rejects instants outside that range (possible
// only through an offset); FormatTime clamps to it, so every string it returns parses.
#include "core/time_format.h"

namespace sw {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;

// Longer input is certainly not a timestamp; the bound keeps messages short too.
constexpr size_t kMaxTimeTextLength = 64;

struct CivilDate {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

// Days since 1970-01-01 of a proleptic Gregorian date.
constexpr int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

constexpr CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return CivilDate{yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

constexpr int64_t kMinUnixMs = DaysFromCivil(0, 1, 1) * kMsPerDay;
constexpr int64_t kMaxUnixMs = DaysFromCivil(10000, 1, 1) * kMsPerDay - 1;

bool IsLeapYear(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// `value` with leading zeros to `width` digits. REQUIRES: 0 <= value < 10^width.
std::string Digits(int64_t value, int width) {
  std::string digits(width, '0');
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return digits;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

// A cursor over the text; every Read* fails with false on a syntax mismatch.
class TimeScanner {
 public:
  explicit TimeScanner(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ == text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void Skip() { ++pos_; }

  bool ReadChar(char c) {
    if (Peek() != c) {
      return false;
    }
    ++pos_;
    return true;
  }

  // Reads exactly `digits` decimal digits; returns -1 (consuming nothing) when the
  // next `digits` characters are not all digits.
  int64_t ReadFixedDigits(int digits) {
    if (text_.size() - pos_ < static_cast<size_t>(digits)) {
      return -1;
    }
    int64_t value = 0;
    for (int i = 0; i < digits; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') {
        return -1;
      }
      value = value * 10 + (c - '0');
    }
    pos_ += digits;
    return value;
  }

  // Reads one or more digits of a fraction and returns them as milliseconds
  // (truncated), or -1 when there is no digit.
  int64_t ReadFractionMs() {
    int64_t ms = 0;
    int count = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      if (count < 3) {
        ms = ms * 10 + (Peek() - '0');
      }
      ++count;
      Skip();
    }
    if (count == 0) {
      return -1;
    }
    for (int i = count; i < 3; ++i) {
      ms *= 10;
    }
    return ms;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

Status SyntaxError(std::string_view text) {
  return InvalidArgument("invalid time " + Quote(text) +
                         ": expected RFC 3339 like 2026-11-22T10:00:00Z or "
                         "2026-11-22T12:00:00.5+02:00");
}

Status RangeError(std::string_view text, const std::string& problem) {
  return InvalidArgument("invalid time " + Quote(text) + ": " + problem);
}

struct Fields {
  int64_t year, month, day, hour, minute, second, ms;
  int64_t offset_minutes;  // Local time minus UTC.
};

// Reads the fields, checking only the syntax (and the offset's range).
Result<Fields> Scan(std::string_view text) {
  TimeScanner s(text);
  Fields f{};
  f.year = s.ReadFixedDigits(4);
  if (f.year < 0 || !s.ReadChar('-') || (f.month = s.ReadFixedDigits(2)) < 0 || !s.ReadChar('-') ||
      (f.day = s.ReadFixedDigits(2)) < 0) {
    return SyntaxError(text);
  }
  if (!s.ReadChar('T') && !s.ReadChar('t')) {
    return SyntaxError(text);
  }
  if ((f.hour = s.ReadFixedDigits(2)) < 0 || !s.ReadChar(':') ||
      (f.minute = s.ReadFixedDigits(2)) < 0 || !s.ReadChar(':') ||
      (f.second = s.ReadFixedDigits(2)) < 0) {
    return SyntaxError(text);
  }
  if (s.ReadChar('.') && (f.ms = s.ReadFractionMs()) < 0) {
    return SyntaxError(text);
  }
  if (s.ReadChar('Z') || s.ReadChar('z')) {
    f.offset_minutes = 0;
  } else if (s.Peek() == '+' || s.Peek() == '-') {
    const int64_t sign = s.Peek() == '-' ? -1 : 1;
    s.Skip();
    const int64_t hours = s.ReadFixedDigits(2);
    int64_t minutes = -1;
    if (hours < 0 || !s.ReadChar(':') || (minutes = s.ReadFixedDigits(2)) < 0) {
      return SyntaxError(text);
    }
    if (hours > 23 || minutes > 59) {
      return RangeError(text, "the offset must be between -23:59 and +23:59");
    }
    f.offset_minutes = sign * (hours * 60 + minutes);
  } else {
    return SyntaxError(text);
  }
  if (!s.AtEnd()) {
    return SyntaxError(text);
  }
  return f;
}

Status CheckRanges(std::string_view text, const Fields& f) {
  if (f.month < 1 || f.month > 12) {
    return RangeError(text, "month " + std::to_string(f.month) + " does not exist");
  }
  const int days = DaysInMonth(f.year, static_cast<int>(f.month));
  if (f.day < 1 || f.day > days) {
    return RangeError(text, "day " + std::to_string(f.day) + " does not exist in that month (" +
                                std::to_string(days) + " days)");
  }
  if (f.hour > 23) {
    return RangeError(text, "hour " + std::to_string(f.hour) + " does not exist");
  }
  if (f.minute > 59) {
    return RangeError(text, "minute " + std::to_string(f.minute) + " does not exist");
  }
  if (f.second > 59) {
    return RangeError(text, "second " + std::to_string(f.second) +
                                " does not exist (leap seconds are not supported)");
  }
  return Status::Ok();
}

}  // namespace

std::string FormatTime(int64_t unix_ms) {
  const int64_t ms =
      unix_ms < kMinUnixMs ? kMinUnixMs : (unix_ms > kMaxUnixMs ? kMaxUnixMs : unix_ms);
  const int64_t days = FloorDiv(ms, kMsPerDay);
  const int64_t ms_of_day = ms - days * kMsPerDay;
  const CivilDate date = CivilFromDays(days);
  const int64_t hour = ms_of_day / kMsPerHour;
  const int64_t minute = ms_of_day % kMsPerHour / kMsPerMinute;
  const int64_t second = ms_of_day % kMsPerMinute / kMsPerSecond;
  return Digits(date.year, 4) + "-" + Digits(date.month, 2) + "-" + Digits(date.day, 2) + "T" +
         Digits(hour, 2) + ":" + Digits(minute, 2) + ":" + Digits(second, 2) + "." +
         Digits(ms_of_day % kMsPerSecond, 3) + "Z";
}

Result<int64_t> ParseTime(std::string_view text) {
  if (text.size() > kMaxTimeTextLength) {
    return InvalidArgument("invalid time: longer than " + std::to_string(kMaxTimeTextLength) +
                           " characters");
  }
  Result<Fields> fields = Scan(text);
  if (!fields.ok()) {
    return fields.status();
  }
  const Fields& f = *fields;
  if (Status status = CheckRanges(text, f); !status.ok()) {
    return status;
  }
  const int64_t local_ms =
      DaysFromCivil(f.year, static_cast<int>(f.month), static_cast<int>(f.day)) * kMsPerDay +
      f.hour * kMsPerHour + f.minute * kMsPerMinute + f.second * kMsPerSecond + f.ms;
  const int64_t unix_ms = local_ms - f.offset_minutes * kMsPerMinute;
  if (unix_ms < kMinUnixMs || unix_ms > kMaxUnixMs) {
    return RangeError(text, "it is outside the years 0000 to 9999 in UTC");
  }
  return unix_ms;
}

}  // namespace sw
