// Reading the `with` fields of the step kinds whose rules live in core (approval,
// form): each error is kInvalidArgument naming the field as "with.<field>" (in the
// message and in extra {"field"}), so the definition parser and the engine report it
// alike. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sw {

Status WithFieldError(std::string_view field, std::string message);
// `with.<field>`: a non-empty string.
Result<std::string> WithMessage(const nlohmann::json& with, std::string_view field);
// `with.<field>`, when present: a positive duration ("30m"), in milliseconds.
Result<std::optional<int64_t>> WithDurationMs(const nlohmann::json& with, std::string_view field);

}  // namespace sw
