// Checks shared by the step kinds' validations. Every error is kInvalidArgument with
// reason "invalid_definition" and the step (when there is one) and field in its detail,
// its message prefixed with the step. Pure; thread-safe.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "core/definition.h"
#include "core/result.h"

namespace sw {

Status DefinitionError(std::string message, std::string_view step_id, std::string_view field);
// The same, from an error of a part of the step (its retry policy, its `with`): its
// message, and its field or `fallback` when it names none.
Status DefinitionError(const Status& part, std::string_view step_id, std::string_view fallback);

// `with` has only `allowed` keys and every `required` one, and (unless `templates` is
// false) every expression in its values parses.
Status CheckWithKeys(const StepDef& step, std::initializer_list<std::string_view> allowed,
                     std::initializer_list<std::string_view> required, bool templates = true);
// `with.<key>` is a string (or absent, unless `required`).
Status CheckWithString(const StepDef& step, std::string_view key, bool required);
// `with.<key>`, when present and not an expression, is a duration like "30s".
Status CheckWithDuration(const StepDef& step, std::string_view key);
// A condition is exactly one expression, with or without the ${{ }} wrapper.
Status ValidateCondition(const std::string& text);

// True for a string value that holds an expression (checked when the step runs).
bool IsTemplated(const nlohmann::json& value);

}  // namespace sw
