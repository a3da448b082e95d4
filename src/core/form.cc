#include "core/form.h"

#include "core/with_fields.h"

namespace sw {

using nlohmann::json;

namespace {

constexpr std::string_view kStatusNames[] = {"open", "submitted", "closed"};

Status NotOpen(const Form& form) {
  return Status(StatusCode::kFailedPrecondition,
                "The form is " + std::string(ToString(form.status)) + ", not open",
                "invalid_transition");
}

}  // namespace

std::string_view ToString(FormStatus s) { return kStatusNames[static_cast<int>(s)]; }

std::optional<FormStatus> ParseFormStatus(std::string_view s) {
  for (size_t i = 0; i < std::size(kStatusNames); ++i) {
    if (kStatusNames[i] == s) {
      return static_cast<FormStatus>(i);
    }
  }
  return std::nullopt;
}

Result<FormPolicy> FormPolicy::Parse(const json& with) {
  FormPolicy p;
  Result<std::string> message = WithMessage(with, "message");
  if (!message.ok()) {
    return message.status();
  }
  p.message = std::move(message).value();
  if (!with.contains("schema") || !with["schema"].is_object()) {
    return WithFieldError("schema", "must be a JSON Schema (an object)");
  }
  p.schema = with["schema"];
  Result<std::optional<int64_t>> expires_in = WithDurationMs(with, "expires_in");
  if (!expires_in.ok()) {
    return expires_in.status();
  }
  p.expires_in_ms = *expires_in;
  return p;
}

Form Form::Open(FormPolicy policy, int64_t now) {
  Form f;
  f.expires_at = policy.expires_in_ms ? now + *policy.expires_in_ms : 0;
  f.policy = std::move(policy);
  return f;
}

json Form::ToJson() const {
  return json{{"message", policy.message},
              {"schema", policy.schema},
              {"expires_in_ms", policy.expires_in_ms ? json(*policy.expires_in_ms) : json()},
              {"expires_at", expires_at},
              {"data", data}};
}

Result<Form> Form::FromJson(const json& body, std::string_view status, const json& resolution) {
  try {
    Form f;
    f.policy.message = body.at("message").get<std::string>();
    f.policy.schema = body.at("schema");
    if (!body.at("expires_in_ms").is_null()) {
      f.policy.expires_in_ms = body["expires_in_ms"].get<int64_t>();
    }
    f.expires_at = body.at("expires_at").get<int64_t>();
    f.data = body.at("data");
    std::optional<FormStatus> s = ParseFormStatus(status);
    if (!s) {
      return Status(StatusCode::kInternal, "stored form has status " + std::string(status),
                    "data_corruption");
    }
    f.status = *s;
    f.resolution = resolution;
    return f;
  } catch (const json::exception& e) {
    return Status(StatusCode::kInternal, std::string("stored form does not parse: ") + e.what(),
                  "data_corruption");
  }
}

Status Submit(Form& form, json data, int64_t now, const std::string& by) {
  if (form.status != FormStatus::kOpen) {
    return NotOpen(form);
  }
  form.status = FormStatus::kSubmitted;
  form.data = std::move(data);
  form.resolution = json{{"status", "submitted"}, {"at", now}, {"reason", "submitted by " + by}};
  return Status::Ok();
}

Status Expire(Form& form, int64_t now) {
  if (form.status != FormStatus::kOpen) {
    return NotOpen(form);
  }
  form.status = FormStatus::kClosed;
  form.resolution = json{{"status", "closed"}, {"at", now}, {"reason", "expired"}};
  return Status::Ok();
}

std::optional<FormStepResult> StepResultOf(const Form& form) {
  switch (form.status) {
    case FormStatus::kOpen:
      return std::nullopt;
    case FormStatus::kSubmitted:
      return FormStepResult{true, form.data, json()};
    case FormStatus::kClosed:
      return FormStepResult{
          false, json(),
          json{{"message", "the form expired before it was submitted"}, {"code", "form_expired"}}};
  }
  return std::nullopt;
}

}  // namespace sw
