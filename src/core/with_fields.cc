#include "core/with_fields.h"

#include "core/duration.h"

namespace sw {

Status WithFieldError(std::string_view field, std::string message) {
  const std::string name = "with." + std::string(field);
  return InvalidArgument(name + ": " + std::move(message), {.field = name});
}

Result<std::string> WithMessage(const nlohmann::json& with, std::string_view field) {
  auto it = with.find(field);
  if (it == with.end() || !it->is_string() || it->get<std::string>().empty()) {
    return WithFieldError(field, "must be a non-empty string");
  }
  return it->get<std::string>();
}

Result<std::optional<int64_t>> WithDurationMs(const nlohmann::json& with, std::string_view field) {
  auto it = with.find(field);
  if (it == with.end()) {
    return std::optional<int64_t>();
  }
  Result<std::chrono::milliseconds> d =
      it->is_string() ? ParseDuration(it->get<std::string>())
                      : Result<std::chrono::milliseconds>(InvalidArgument(""));
  if (!d.ok() || d->count() <= 0) {
    return WithFieldError(field, "must be a duration such as \"30m\" or \"24h\"");
  }
  return std::optional<int64_t>(d->count());
}

}  // namespace sw
