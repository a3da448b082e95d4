#include "cli/log_format.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sw {
namespace {

// %V: the message, control characters escaped.
class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : msg.payload) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '\n') {
        dest.append(std::string_view("\\n"));
      } else if (c == '\r') {
        dest.append(std::string_view("\\r"));
      } else if (c == '\t') {
        dest.append(std::string_view("\\t"));
      } else if (u < 0x20 || u == 0x7f) {
        const char escaped[] = {'\\', 'x', kHex[u >> 4], kHex[u & 0xf]};
        dest.append(escaped, escaped + sizeof(escaped));
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessage>();
  }
};

// Where the ` key=` fields of a message start: positions of each key's first letter
// (a key is [a-z_]+ at the start or after a space, followed by '=').
std::vector<size_t> FieldStarts(std::string_view text) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i > 0 && text[i - 1] != ' ') {
      continue;
    }
    size_t j = i;
    while (j < text.size() &&
           (std::islower(static_cast<unsigned char>(text[j])) != 0 || text[j] == '_')) {
      ++j;
    }
    if (j > i && j < text.size() && text[j] == '=') {
      starts.push_back(i);
      i = j;
    }
  }
  return starts;
}

class JsonLine final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    nlohmann::ordered_json line;
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    line["ts"] = FormatMs(ms);
    line["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                                spdlog::level::to_string_view(msg.level).size());
    line["msg"] = std::string(text);
    std::vector<size_t> starts = FieldStarts(text);
    // Only a message that is all fields is split (a sentence with an "a=b" in it is not).
    if (!starts.empty() && starts.front() == 0) {
      for (size_t k = 0; k < starts.size(); ++k) {
        const size_t end = k + 1 < starts.size() ? starts[k + 1] - 1 : text.size();
        const std::string_view field = text.substr(starts[k], end - starts[k]);
        const size_t eq = field.find('=');
        std::string key(field.substr(0, eq));
        if (key != "ts" && key != "level" && key != "msg") {
          line[key] = std::string(field.substr(eq + 1));
        }
      }
    }
    const std::string out = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(out.data(), out.data() + out.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLine>(); }

 private:
  static std::string FormatMs(int64_t ms) {
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[40];
    const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms % 1000));
    return text;
  }
};

}  // namespace

bool ParseLogFormat(std::string_view name, LogFormat& out) {
  if (name == "text") {
    out = LogFormat::kText;
    return true;
  }
  if (name == "json") {
    out = LogFormat::kJson;
    return true;
  }
  return false;
}

void UseServerLogFormat(LogFormat format) {
  if (format == LogFormat::kJson) {
    spdlog::set_formatter(std::make_unique<JsonLine>());
    return;
  }
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedMessage>('V').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %V");
  spdlog::set_formatter(std::move(formatter));
}

}  // namespace sw
