// http: sends one request (the rendered `with`); a 4xx/5xx answer or a transport error
// fails the attempt (retried by policy), a cancel aborts it. With `with.connection`, the
// connection's access token goes as a bearer token (engine/connection_tokens.h).
#include <strings.h>

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
    ctx->FailAttempt(StepError(r.status().message(), r.status().reason(), id), nullptr,
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

// The step's use of its connection (`with.connection`): the token sent, and whether a
// 401 already made it ask for another.
struct ConnectionUse {
  std::string workspace_id;
  std::string name;
  std::string token;
  bool asked_again = false;
};

void Authorize(HttpRequest& request, const std::string& token) {
  std::erase_if(request.headers, [](const auto& header) {
    return header.first.size() == 13 && strncasecmp(header.first.c_str(), "authorization", 13) == 0;
  });
  request.headers.emplace_back("Authorization", "Bearer " + token);
}

// The connection's token was not to be had (within the attempt): `called` says
// whether the attempt's request went out (a 401 came back) before.
void OnNoToken(const std::shared_ptr<StepContext>& ctx, const Status& refused, bool called) {
  const std::string& id = ctx->step().id;
  if (refused.code() == StatusCode::kFailedPrecondition) {
    const std::string& connection_id = refused.detail().connection_id;
    json attempt_error = called
                             ? StepError(
                                   "the target refused the connection's token (HTTP 401) and the "
                                   "connection cannot be refreshed",
                                   refused.reason(), id)
                             : json();
    ctx->HoldForReauth(connection_id, std::move(attempt_error), CommitPhase::kResult);
  } else if (refused.code() == StatusCode::kNotFound) {
    ctx->FailRun(StepError(refused.message(), refused.reason(), id));
  } else {
    ctx->FailAttempt(StepError(refused.message(), refused.reason(), id), nullptr,
                     CommitPhase::kResult);
  }
}

void Send(const std::shared_ptr<StepContext>& ctx, const std::shared_ptr<HttpRequest>& request,
          const std::shared_ptr<ConnectionUse>& use, std::shared_ptr<CancellationToken> token);

// Asks the connection for a token (another than `use->token`, which a target refused,
// when set) and sends with it; a connection that needs reauthorization holds the run.
void SendWithToken(const std::shared_ptr<StepContext>& ctx,
                   const std::shared_ptr<HttpRequest>& request,
                   const std::shared_ptr<ConnectionUse>& use,
                   std::shared_ptr<CancellationToken> token) {
  const bool called = !use->token.empty();
  ctx->services().connections.Get(
      use->workspace_id, use->name, use->token, token,
      [ctx, request, use, token, called](Result<AccessToken> fresh) {
        if (fresh.ok()) {
          use->token = fresh->value;
          Authorize(*request, fresh->value);
          Send(ctx, request, use, token);
        } else if (fresh.status().code() == StatusCode::kCancelled) {
          ctx->WorkStopped();
        } else {
          ctx->Finish([ctx, refused = fresh.status(), called] { OnNoToken(ctx, refused, called); });
        }
      });
}

// Sends `request` within the attempt; a 401 to a connection's token asks the connection
// for another (a refresh) and sends once more.
void Send(const std::shared_ptr<StepContext>& ctx, const std::shared_ptr<HttpRequest>& request,
          const std::shared_ptr<ConnectionUse>& use, std::shared_ptr<CancellationToken> token) {
  ctx->services().http.Send(
      HttpRequest(*request), token, [ctx, request, use, token](Result<HttpResponse> r) {
        if (use != nullptr && !use->asked_again && r.ok() && r->status == 401) {
          use->asked_again = true;
          SendWithToken(ctx, request, use, token);
          return;
        }
        auto shared = std::make_shared<Result<HttpResponse>>(std::move(r));
        ctx->Finish([ctx, shared] { OnResponse(ctx, *shared); });
      });
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
    const json connection = with.value("connection", json());
    if (!connection.is_null() && !connection.is_string()) {
      ctx->FailRun(
          StepError("'with.connection' did not render to a string", "invalid_request", step.id));
      return;
    }
    std::shared_ptr<ConnectionUse> use;
    if (connection.is_string()) {
      use = std::make_shared<ConnectionUse>();
      use->workspace_id = ctx->run().workspace_id;
      use->name = connection.get<std::string>();
    }
    // A connection's token is had within the attempt (a refresh may back off for
    // minutes; a cancel stops the wait), and before any call: a connection that needs
    // reauthorization holds the run with nothing sent.
    ctx->StartWork([ctx, request, use](std::shared_ptr<CancellationToken> token) {
      use != nullptr ? SendWithToken(ctx, request, use, std::move(token))
                     : Send(ctx, request, nullptr, std::move(token));
    });
  }
};

}  // namespace

const StepExecutor& HttpStepExecutor() {
  static const HttpExecutor executor;
  return executor;
}

}  // namespace sw
