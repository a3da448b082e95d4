// Runs: list, get (with the long-poll), the controls (pause, resume, cancel), replay,
// and starting a run of a workflow (POST .../runs and the HTTP trigger).

#include <atomic>

#include "api/render.h"
#include "api/routes.h"
#include "control/run_filter.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace sw {

using nlohmann::json;

json RunBody(ApiContext& api, const RunRecord& run) {
  Result<std::shared_ptr<const Definition>> def = api.definitions.ForRun(run);
  return RunJson(run, true, def.ok() ? def->get() : nullptr,
                 api.control.WorkflowSafetyOfRuns(run.workspace_id, run.workflow_id));
}

namespace routes {
namespace {

Status InvalidParameter(const std::string& name, const std::string& message) {
  return InvalidArgument(message, {.field = name});
}

HttpHeaders ETag(const RunRecord& run) {
  return {{"ETag", "\"" + std::to_string(run.version) + "\""}};
}

// GET of a run; with ?wait_ms=N a long-poll that answers when the run is terminal or
// when N ms pass. `workflow_id` non-empty: the workflow-scoped route.
void AnswerRun(ApiContext& api, Call& call, const std::string& run_id,
               const std::string& workflow_id) {
  int64_t wait_ms = 0;
  if (auto it = call.req.query.find("wait_ms"); it != call.req.query.end()) {
    std::optional<int64_t> v = ParseInt(it->second);
    if (!v || *v < 0 || *v > api.options.max_wait_ms) {
      call.Fail(InvalidArgument("'wait_ms' must be an integer from 0 to " +
                                std::to_string(api.options.max_wait_ms)));
      return;
    }
    wait_ms = *v;
  }
  Result<RunRecord> run = api.control.GetRun(call.ctx, run_id, workflow_id);
  if (!run.ok()) {
    call.Fail(run.status());
    return;
  }
  if (wait_ms == 0 || IsTerminal(run->status)) {
    call.Reply(200, RunBody(api, *run), ETag(*run));
    return;
  }
  struct Poll {
    Poll(std::shared_ptr<Exchange> e, const Call& c) : ex(std::move(e)), call(c) {}
    std::shared_ptr<Exchange> ex;
    Call call;
    std::atomic<bool> answered{false};
    uint64_t watch_id = 0;
  };
  auto poll = std::make_shared<Poll>(call.ex, call);
  auto answer = [&api, poll, run_id, workflow_id](bool timed_out) {
    if (poll->answered.load() || poll->ex->Done()) {
      if (poll->ex->Done() && !poll->answered.exchange(true)) {
        api.watch.Unsubscribe(run_id, poll->watch_id);
      }
      return;
    }
    Result<RunRecord> now = api.control.GetRun(poll->call.ctx, run_id, workflow_id);
    if (!now.ok() || IsTerminal(now->status) || timed_out) {
      if (poll->answered.exchange(true)) {
        return;
      }
      api.watch.Unsubscribe(run_id, poll->watch_id);
      now.ok() ? poll->call.Reply(200, RunBody(api, *now), ETag(*now))
               : poll->call.Fail(now.status());
    }
  };
  poll->watch_id =
      api.watch.Subscribe(run_id, [poll, answer] { poll->ex->Post([answer] { answer(false); }); });
  call.ex->After(wait_ms, [answer] { answer(true); });
  answer(false);  // it may have finished between the first read and the subscription
}

// Reads the control request (body and If-Match) of `action`; false when it answered.
bool ParseControl(Call& call, RunAction action, ControlRequest& request) {
  if (!call.ParseObject(action == RunAction::kCancel
                            ? std::initializer_list<std::string_view>{"reason", "expected_status"}
                            : std::initializer_list<std::string_view>{"expected_status"})) {
    return false;
  }
  request.action = action;
  if (call.body.contains("reason")) {
    if (!call.body["reason"].is_string() && !call.body["reason"].is_null()) {
      call.Fail(InvalidArgument("'reason' must be a string", {.field = "reason"}));
      return false;
    }
    if (call.body["reason"].is_string()) {
      request.reason = call.body["reason"].get<std::string>();
      if (request.reason.size() > 1000) {
        call.Fail(InvalidArgument("'reason' is longer than 1000 characters"));
        return false;
      }
    }
  }
  if (call.body.contains("expected_status")) {
    std::optional<RunStatus> s =
        call.body["expected_status"].is_string()
            ? ParseRunStatus(call.body["expected_status"].get<std::string>())
            : std::nullopt;
    if (!s) {
      call.Fail(
          InvalidArgument("'expected_status' must be a run status", {.field = "expected_status"}));
      return false;
    }
    request.expected_status = s;
  }
  Result<std::optional<int64_t>> if_match = IfMatchVersionOf(call, "a run version");
  if (!if_match.ok()) {
    call.Fail(if_match.status());
    return false;
  }
  request.expected_version = *if_match;
  return true;
}

void ControlRun(ApiContext& api, Call& call, RunAction action, const std::string& workflow_id) {
  ControlRequest request;
  if (!ParseControl(call, action, request)) {
    return;
  }
  // Answered once committed and followed up (the log line, the engine told, child runs
  // cancelled); the I/O thread is not held while the change waits for the store's writer.
  api.control.ControlAsync(call.ctx, call.Param("run_id"), request, workflow_id,
                           [&api, call](Result<RunRecord> run) mutable {
                             // Rendered on the connection's thread (now, when the store committed
                             // in place).
                             call.ex->Dispatch([&api, call, run = std::move(run)]() mutable {
                               if (!run.ok()) {
                                 call.Fail(run.status());
                                 return;
                               }
                               call.Reply(200, RunBody(api, *run), ETag(*run));
                             });
                           });
}

// The fields of a replay's body (ParseReplay checked that it is an object of them).
Result<ReplayRequest> ReplayFields(const json& body) {
  ReplayRequest request;
  auto given = [&](const char* name) { return body.contains(name) && !body[name].is_null(); };
  if (given("from_step")) {
    if (!body["from_step"].is_string()) {
      return InvalidParameter("from_step", "'from_step' must be a step id or path (a string)");
    }
    request.from_step = body["from_step"].get<std::string>();
  }
  if (given("input")) {
    if (!body["input"].is_object()) {
      return InvalidParameter("input", "'input' must be a JSON object");
    }
    request.input = body["input"];
  }
  if (given("version")) {
    const json& v = body["version"];
    if (v.is_string() && (v == "same" || v == "latest")) {
      request.latest_version = v == "latest";
    } else if (v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= INT32_MAX) {
      request.workflow_version = v.get<int>();
    } else {
      return InvalidParameter("version",
                              "'version' must be \"same\", \"latest\" or an integer from 1");
    }
  }
  if (given("preview")) {
    if (!body["preview"].is_boolean()) {
      return InvalidParameter("preview", "'preview' must be true or false");
    }
    request.preview = body["preview"].get<bool>();
  }
  return request;
}

// The replay's optional body: {"from_step", "input", "version": "same"|"latest"|N,
// "preview"}; a null field is as if absent. Answers the request, or nullopt once it has
// answered the call with the 400.
std::optional<ReplayRequest> ParseReplay(Call& call) {
  if (!call.ParseObject({"from_step", "input", "version", "preview"})) {
    return std::nullopt;
  }
  Result<ReplayRequest> request = ReplayFields(call.body);
  if (!request.ok()) {
    call.Fail(request.status());
    return std::nullopt;
  }
  return std::move(request).value();
}

void Start(ApiContext& api, Call& call, bool trigger) {
  StartRunRequest request;
  request.workflow_id = call.Param("workflow_id");
  if (trigger) {
    if (!call.ParseJson(false)) return;
    request.input = call.body;
    request.trigger_kind = "http";
  } else {
    if (!call.ParseObject({"input", "workflow_version"})) return;
    if (call.body.contains("input")) {
      if (!call.body["input"].is_object()) {
        call.Fail(InvalidArgument("'input' must be a JSON object", {.field = "input"}));
        return;
      }
      request.input = call.body["input"];
    }
    if (call.body.contains("workflow_version") && !call.body["workflow_version"].is_null()) {
      const json& v = call.body["workflow_version"];
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > INT32_MAX) {
        call.Fail(InvalidArgument("'workflow_version' must be an integer from 1",
                                  {.field = "workflow_version"}));
        return;
      }
      request.workflow_version = v.get<int>();
    }
  }
  std::string key = call.req.Header("idempotency-key");
  if (!key.empty()) {
    if (key.size() > 255) {
      call.Fail(InvalidArgument("Idempotency-Key is longer than 255 characters"));
      return;
    }
    request.idempotency_key = key;
  }
  api.control.StartRun(call.ctx, request, [&api, call](Result<CreateRunResult> created) mutable {
    // Rendered on the connection's thread (now, when the store committed in place),
    // not on the store's writer.
    call.ex->Dispatch([&api, call, created = std::move(created)]() mutable {
      if (!created.ok()) {
        call.Fail(created.status());
        return;
      }
      HttpHeaders headers = ETag(created->run);
      headers.emplace_back("Location", "/api/v1/runs/" + created->run.id);
      if (created->replayed) {
        headers.emplace_back("Idempotent-Replayed", "true");
      }
      call.Reply(201, RunBody(api, created->run), std::move(headers));
    });
  });
}

}  // namespace

void ListRuns(ApiContext& api, Call& call) {
  Result<RunFilter> filter = ParseRunFilterQuery(call.req.query);
  if (!filter.ok()) {
    call.Fail(filter.status());
    return;
  }
  Result<RunPage> page = api.control.ListRuns(call.ctx, *filter);
  if (!page.ok()) {
    call.Fail(page.status());
    return;
  }
  json items = json::array();
  for (const RunRecord& run : page->items) {
    items.push_back(RunJson(run, false, nullptr,
                            api.control.WorkflowSafetyOfRuns(run.workspace_id, run.workflow_id)));
  }
  call.Reply(200,
             json{{"items", items},
                  {"next_cursor", page->next_cursor.empty() ? json() : json(page->next_cursor)}});
}

void GetRun(ApiContext& api, Call& call) { AnswerRun(api, call, call.Param("run_id"), ""); }

void GetWorkflowRun(ApiContext& api, Call& call) {
  AnswerRun(api, call, call.Param("run_id"), call.Param("workflow_id"));
}

void PauseRun(ApiContext& api, Call& call) { ControlRun(api, call, RunAction::kPause, ""); }

void ResumeRun(ApiContext& api, Call& call) { ControlRun(api, call, RunAction::kResume, ""); }

void CancelRun(ApiContext& api, Call& call) { ControlRun(api, call, RunAction::kCancel, ""); }

void CancelWorkflowRun(ApiContext& api, Call& call) {
  ControlRun(api, call, RunAction::kCancel, call.Param("workflow_id"));
}

void ReplayRun(ApiContext& api, Call& call) {
  std::optional<ReplayRequest> request = ParseReplay(call);
  if (!request) {
    return;
  }
  Result<ReplayOutcome> out = api.control.Rerun(call.ctx, call.Param("run_id"), *request);
  if (!out.ok()) {
    call.Fail(out.status());
    return;
  }
  if (!out->run) {
    call.Reply(200, json{{"will_run", out->will_run}, {"kept", out->kept}});
    return;
  }
  HttpHeaders headers = ETag(*out->run);
  headers.emplace_back("Location", "/api/v1/runs/" + out->run->id);
  call.Reply(201, RunBody(api, *out->run), std::move(headers));
}

void StartRun(ApiContext& api, Call& call) { Start(api, call, /*trigger=*/false); }

void TriggerRun(ApiContext& api, Call& call) { Start(api, call, /*trigger=*/true); }

}  // namespace routes
}  // namespace sw
