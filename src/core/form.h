// The rules of a form (API.md "Forms"): a run waits for data that a JSON Schema admits;
// a valid submit completes the step with the data, expiry fails it (form_expired), a
// run that ends closes it. Validation against the schema is core/json_schema.h's.
//
// Pure value types and functions; thread-safe. Times are milliseconds since the epoch.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sw {

enum class FormStatus { kOpen, kSubmitted, kClosed };
std::string_view ToString(FormStatus s);
std::optional<FormStatus> ParseFormStatus(std::string_view s);

// The form step's `with`, checked.
struct FormPolicy {
  std::string message;
  nlohmann::json schema;  // a draft-7 JSON Schema
  std::optional<int64_t> expires_in_ms;

  // Errors are kInvalidArgument naming the field ("with.schema: ...").
  static Result<FormPolicy> Parse(const nlohmann::json& with);
};

struct Form {
  FormPolicy policy;
  FormStatus status = FormStatus::kOpen;
  int64_t expires_at = 0;     // 0: never
  nlohmann::json data;        // once submitted
  nlohmann::json resolution;  // null while open; else {status, at, reason}

  static Form Open(FormPolicy policy, int64_t now);
  // The stored body (policy, expiry, data), and back; a body that does not parse is
  // kInternal "data_corruption".
  nlohmann::json ToJson() const;
  static Result<Form> FromJson(const nlohmann::json& body, std::string_view status,
                               const nlohmann::json& resolution);
};

// Submits `data` (already valid against the schema). kFailedPrecondition
// "invalid_transition" unless the form is open.
Status Submit(Form& form, nlohmann::json data, int64_t now, const std::string& by);
// The form's expiry: it closes, and its step fails.
Status Expire(Form& form, int64_t now);

// What the waiting step gets: the submitted data (completes) or form_expired (fails);
// nothing while open.
struct FormStepResult {
  bool completes = false;
  nlohmann::json output;
  nlohmann::json error;
};
std::optional<FormStepResult> StepResultOf(const Form& form);

}  // namespace sw
