// http: one HTTP request; output {status, headers, body}.
#include <set>

#include "core/steps/step_kind.h"
#include "core/steps/validation.h"

namespace sw {
namespace {

class HttpStep final : public StepKind {
 public:
  std::string_view name() const override { return "http"; }
  StepTraits traits() const override {
    return {.allowed_in_scripts = true, .interrupted_by_restart = true};
  }
  Status Validate(StepDef& step, const nlohmann::json&, int, NestedStepParser&) const override {
    if (Status s = CheckWithKeys(step, {"method", "url", "headers", "body", "connection"}, {"url"});
        !s.ok()) {
      return s;
    }
    if (Status s = CheckWithString(step, "url", true); !s.ok()) {
      return s;
    }
    const std::string url = step.with["url"].get<std::string>();
    if (!IsTemplated(step.with["url"]) && url.rfind("http://", 0) != 0 &&
        url.rfind("https://", 0) != 0) {
      return DefinitionError("'with.url' must start with http:// or https://", step.id, "with.url");
    }
    if (Status s = CheckMethod(step); !s.ok()) {
      return s;
    }
    if (Status s = CheckHeaders(step); !s.ok()) {
      return s;
    }
    return CheckWithString(step, "connection", false);
  }

 private:
  static Status CheckMethod(const StepDef& step) {
    if (Status s = CheckWithString(step, "method", false);
        !s.ok() || !step.with.contains("method")) {
      return s;
    }
    static const std::set<std::string> kMethods = {"GET",    "POST", "PUT",    "PATCH",
                                                   "DELETE", "HEAD", "OPTIONS"};
    if (!kMethods.contains(step.with["method"].get<std::string>())) {
      return DefinitionError(
          "'with.method' must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", step.id,
          "with.method");
    }
    return Status::Ok();
  }

  static Status CheckHeaders(const StepDef& step) {
    if (!step.with.contains("headers")) {
      return Status::Ok();
    }
    const nlohmann::json& headers = step.with["headers"];
    if (!headers.is_object()) {
      return DefinitionError("'with.headers' must be an object of strings", step.id,
                             "with.headers");
    }
    for (const auto& [name, value] : headers.items()) {
      if (!value.is_string()) {
        return DefinitionError("header '" + name + "' must be a string", step.id,
                               "with.headers." + name);
      }
    }
    return Status::Ok();
  }
};

}  // namespace

const StepKind& HttpStepKind() {
  static const HttpStep kind;
  return kind;
}

}  // namespace sw
