#include "core/steps/validation.h"

#include "core/duration.h"
#include "core/expression.h"
#include "core/ids.h"

namespace sw {

using nlohmann::json;

Status DefinitionError(std::string message, std::string_view step_id, std::string_view field) {
  if (!step_id.empty()) {
    message = "step '" + std::string(step_id) + "': " + message;
  }
  return Status(StatusCode::kInvalidArgument, std::move(message),
                ErrorDetail{.reason = "invalid_definition",
                            .step_id = std::string(step_id),
                            .field = std::string(field)});
}

Status DefinitionError(const Status& part, std::string_view step_id, std::string_view fallback) {
  const std::string& field = part.detail().field;
  return DefinitionError(part.message(), step_id, field.empty() ? fallback : field);
}

bool IsTemplated(const json& value) {
  return value.is_string() && value.get<std::string>().find("${{") != std::string::npos;
}

Status CheckWithKeys(const StepDef& step, std::initializer_list<std::string_view> allowed,
                     std::initializer_list<std::string_view> required, bool templates) {
  for (const auto& [key, value] : step.with.items()) {
    bool known = false;
    for (std::string_view a : allowed) {
      known = known || a == key;
    }
    if (!known) {
      return DefinitionError("unknown field 'with." + key + "'", step.id, "with." + key);
    }
  }
  for (std::string_view r : required) {
    if (!step.with.contains(r)) {
      return DefinitionError("missing 'with." + std::string(r) + "'", step.id,
                             "with." + std::string(r));
    }
  }
  if (!templates) {
    return Status::Ok();
  }
  for (const auto& [key, value] : step.with.items()) {
    if (Status s = ValidateTemplate(value); !s.ok()) {
      return DefinitionError("invalid expression in 'with." + key + "': " + s.message(), step.id,
                             "with." + key);
    }
  }
  return Status::Ok();
}

Status CheckWithString(const StepDef& step, std::string_view key, bool required) {
  auto it = step.with.find(key);
  if (it == step.with.end()) {
    return required ? DefinitionError("missing 'with." + std::string(key) + "'", step.id,
                                      "with." + std::string(key))
                    : Status::Ok();
  }
  if (!it->is_string()) {
    return DefinitionError("'with." + std::string(key) + "' must be a string", step.id,
                           "with." + std::string(key));
  }
  return Status::Ok();
}

Status CheckWithDuration(const StepDef& step, std::string_view key) {
  auto it = step.with.find(key);
  if (it == step.with.end() || IsTemplated(*it)) {
    return Status::Ok();
  }
  Result<std::chrono::milliseconds> d =
      it->is_string() ? ParseDuration(it->get<std::string>())
                      : Result<std::chrono::milliseconds>(InvalidArgument("not a string"));
  if (!d.ok()) {
    return DefinitionError(
        "invalid duration in 'with." + std::string(key) + "': " + d.status().message(), step.id,
        "with." + std::string(key));
  }
  return Status::Ok();
}

Status ValidateCondition(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\n");
  const size_t last = text.find_last_not_of(" \t\n");
  if (first == std::string::npos) {
    return InvalidArgument("the condition is empty");
  }
  std::string body = text.substr(first, last - first + 1);
  if (body.rfind("${{", 0) == 0 && body.size() >= 5 && body.ends_with("}}")) {
    body = body.substr(3, body.size() - 5);
  }
  if (body.find("${{") != std::string::npos) {
    return InvalidArgument("a condition must be exactly one expression");
  }
  return Expression::Parse(body).status();
}

}  // namespace sw
