// http: sends one request (the rendered `with`); a 4xx/5xx answer or a transport error
// fails the attempt (retried by policy), a cancel aborts it.
#include "engine/steps/step_executor.h"

namespace sw {
namespace {

using nlohmann::json;

// A non-string body is sent as JSON (with a JSON Content-Type unless one is given).
Result<HttpRequest> BuildRequest(const json& with, int64_t timeout_ms) {
  if (!with.contains("url") || !with["url"].is_string()) {
    return InvalidArgument("'with.url' did not render to a string");
  }
  HttpRequest request;
  request.method = with.value("method", "GET");
  request.url = with["url"].get<std::string>();
  request.timeout_ms = timeout_ms;
  bool has_content_type = false;
  if (with.contains("headers") && with["headers"].is_object()) {
    for (const auto& [name, value] : with["headers"].items()) {
      request.headers.emplace_back(name,
                                   value.is_string() ? value.get<std::string>() : value.dump());
      has_content_type = has_content_type || name == "Content-Type" || name == "content-type";
    }
  }
  if (with.contains("body") && !with["body"].is_null()) {
    const json& body = with["body"];
    request.body = body.is_string() ? body.get<std::string>() : body.dump();
    if (!has_content_type && !body.is_string()) {
      request.headers.emplace_back("Content-Type", "application/json");
    }
  }
  return request;
}

// {status, headers, body}; the body is parsed when it is JSON, else kept as text.
json StepOutput(const HttpResponse& response) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    body = response.body;
  }
  return json{{"status", response.status}, {"headers", response.headers}, {"body", body}};
}

void OnResponse(const std::shared_ptr<StepContext>& ctx, const Result<HttpResponse>& r) {
  const std::string& id = ctx->step().id;
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kCancelled) {
      ctx->WorkStopped();  // the cancel already marked the step; a restart runs it again
      return;
    }
    ctx->FailAttempt(StepError(r.status().message(), r.status().api_code(), id), nullptr,
                     CommitPhase::kResult);
    return;
  }
  json output = StepOutput(*r);
  if (r->status >= 400) {
    ctx->FailAttempt(StepError("HTTP " + std::to_string(r->status), "http_error", id),
                     std::move(output), CommitPhase::kResult, r->status);
    return;
  }
  ctx->Complete(std::move(output), CommitPhase::kResult);
}

class HttpExecutor final : public StepExecutor {
 public:
  void Start(const std::shared_ptr<StepContext>& ctx, const json& with) const override {
    const StepDef& step = ctx->step();
    Result<HttpRequest> built =
        BuildRequest(with, step.timeout ? step.timeout->count()
                                        : ctx->services().options.default_http_timeout_ms);
    if (!built.ok()) {
      ctx->FailRun(StepError(built.status().message(), "invalid_request", step.id));
      return;
    }
    auto request = std::make_shared<HttpRequest>(std::move(built).value());
    ctx->StartWork([ctx, request](std::shared_ptr<CancellationToken> token) {
      ctx->services().http.Send(
          std::move(*request), std::move(token), [ctx](Result<HttpResponse> r) {
            auto shared = std::make_shared<Result<HttpResponse>>(std::move(r));
            ctx->Finish([ctx, shared] { OnResponse(ctx, *shared); });
          });
    });
  }
};

}  // namespace

const StepExecutor& HttpStepExecutor() {
  static const HttpExecutor executor;
  return executor;
}

}  // namespace sw
