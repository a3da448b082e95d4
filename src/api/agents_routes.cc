// The external-agent protocol (docs/agents.md): claim a task (a long-poll), then
// heartbeat, complete or fail it.

#include <chrono>
#include <functional>
#include <mutex>

#include "api/routes.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

namespace {

// Queues one claim may name.
constexpr size_t kMaxClaimQueues = 32;
// A claim that waits looks again at least this often: a retried task becomes
// available after its back-off without anyone being told.
constexpr int64_t kClaimRecheckMs = 250;

json TaskJson(const AgentTaskRecord& t) {
  return {{"id", t.id},
          {"run_id", t.run_id},
          {"step_id", t.step_id},
          {"queue", t.queue},
          {"input", t.input},
          {"attempt", t.attempt},
          {"lease_expires_at", FormatTime(t.lease_expires_at)}};
}

// `agent_id` of a body: absent, or 1 to 128 characters.
std::optional<std::string> AgentIdOf(const json& body) {
  if (!body.contains("agent_id")) {
    return std::string();
  }
  const json& id = body["agent_id"];
  if (!id.is_string() || id.get<std::string>().empty() || id.get<std::string>().size() > 128) {
    return std::nullopt;
  }
  return id.get<std::string>();
}

// The agent id of a task call's body; nothing when it answered the error.
std::optional<std::string> TaskAgentId(Call& call) {
  std::optional<std::string> agent_id = AgentIdOf(call.body);
  if (!agent_id) {
    call.Fail(InvalidArgument("'agent_id' must be a string of 1 to 128 characters"));
  }
  return agent_id;
}

// The queues of a claim's body: 1 to kMaxClaimQueues slugs, or empty when invalid.
std::vector<std::string> ClaimQueues(const json& body) {
  const json& queues_json = body.value("queues", json());
  std::vector<std::string> queues;
  if (!queues_json.is_array() || queues_json.empty() || queues_json.size() > kMaxClaimQueues) {
    return queues;
  }
  for (const json& q : queues_json) {
    if (!q.is_string() || !IsValidSlug(q.get<std::string>())) {
      return {};
    }
    queues.push_back(q.get<std::string>());
  }
  return queues;
}

// Tries to claim now, then whenever a task is queued in one of the queues and at least
// every kClaimRecheckMs, until `wait_ms` passes: answers the task, or 204.
void LongPollClaim(ApiContext& api, Call& call, std::vector<std::string> queues,
                   std::string agent_id, int64_t wait_ms) {
  struct Poll {
    Poll(std::shared_ptr<Exchange> e, const Call& c) : ex(std::move(e)), call(c) {}
    std::shared_ptr<Exchange> ex;
    Call call;
    std::mutex mu;
    bool answered = false;  // guarded by mu
    uint64_t waiter = 0;    // guarded by mu
    std::chrono::steady_clock::time_point deadline;
  };
  auto poll = std::make_shared<Poll>(call.ex, call);
  poll->deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  auto attempt = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = attempt;
  *attempt = [&api, poll, weak, queues = std::move(queues), agent_id = std::move(agent_id)] {
    std::lock_guard lock(poll->mu);
    if (poll->answered) {
      return;
    }
    api.agents.CancelWait(poll->waiter);
    if (poll->ex->Done()) {
      poll->answered = true;
      return;
    }
    Result<std::optional<AgentTaskRecord>> claimed =
        api.agents.Claim(poll->call.ctx, queues, agent_id);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          poll->deadline - std::chrono::steady_clock::now())
                          .count();
    if (!claimed.ok() || claimed->has_value() || left <= 0) {
      poll->answered = true;
      if (!claimed.ok()) {
        poll->call.Fail(claimed.status());
      } else if (claimed->has_value()) {
        poll->call.Reply(200, json{{"task", TaskJson(**claimed)}});
      } else {
        poll->call.Reply(204, nullptr);
      }
      return;
    }
    std::shared_ptr<std::function<void()>> again = weak.lock();
    if (!again) {
      return;
    }
    // The next attempt commits its claim: off the I/O thread while the writer is busy.
    auto retry = [&api, again] { RunMayWait(api, [again] { (*again)(); }); };
    poll->waiter =
        api.agents.Wait(poll->call.ctx, queues, [poll, retry] { poll->ex->Post(retry); });
    poll->ex->After(std::min<int64_t>(left, kClaimRecheckMs), retry);
  };
  (*attempt)();
}

}  // namespace

void ClaimTask(ApiContext& api, Call& call) {
  if (!call.ParseObject({"agent_id", "queues", "wait_ms"}, true)) return;
  std::optional<std::string> agent_id = AgentIdOf(call.body);
  if (!agent_id || agent_id->empty()) {
    call.Fail(InvalidArgument("'agent_id' must be a string of 1 to 128 characters"));
    return;
  }
  std::vector<std::string> queues = ClaimQueues(call.body);
  if (queues.empty()) {
    call.Fail(InvalidArgument("'queues' must be a list of 1 to 32 queue names"));
    return;
  }
  int64_t wait_ms = 0;
  if (call.body.contains("wait_ms")) {
    const json& w = call.body["wait_ms"];
    if (!w.is_number_integer() || w.get<int64_t>() < 0 ||
        w.get<int64_t>() > api.options.max_wait_ms) {
      call.Fail(InvalidArgument("'wait_ms' must be an integer from 0 to " +
                                std::to_string(api.options.max_wait_ms)));
      return;
    }
    wait_ms = w.get<int64_t>();
  }
  LongPollClaim(api, call, std::move(queues), *std::move(agent_id), wait_ms);
}

void HeartbeatTask(ApiContext& api, Call& call) {
  if (!call.ParseObject({"agent_id"})) return;
  std::optional<std::string> agent_id = TaskAgentId(call);
  if (!agent_id) return;
  Result<Heartbeat> beat = api.agents.Beat(call.ctx, call.Param("task_id"), *agent_id);
  beat.ok() ? call.Reply(200, json{{"lease_expires_at", FormatTime(beat->lease_expires_at)},
                                   {"cancelled", beat->cancelled}})
            : call.Fail(beat.status());
}

void CompleteTask(ApiContext& api, Call& call) {
  if (!call.ParseObject({"agent_id", "output"}, true)) return;
  std::optional<std::string> agent_id = TaskAgentId(call);
  if (!agent_id) return;
  if (!call.body.contains("output")) {
    call.Fail(InvalidArgument("'output' is required (null is allowed)"));
    return;
  }
  Result<bool> discarded =
      api.agents.Complete(call.ctx, call.Param("task_id"), *agent_id, call.body["output"]);
  discarded.ok() ? call.Reply(200, json{{"discarded", *discarded}}) : call.Fail(discarded.status());
}

void FailTask(ApiContext& api, Call& call) {
  if (!call.ParseObject({"agent_id", "error"}, true)) return;
  std::optional<std::string> agent_id = TaskAgentId(call);
  if (!agent_id) return;
  const json& error = call.body.value("error", json());
  if (!error.is_object() || !error.contains("message") || !error["message"].is_string() ||
      (error.contains("retryable") && !error["retryable"].is_boolean())) {
    call.Fail(InvalidArgument(
        "'error' must be an object with 'message' (a string) and optionally 'retryable' (a "
        "boolean)"));
    return;
  }
  for (const auto& [key, value] : error.items()) {
    if (key != "message" && key != "retryable") {
      call.Fail(InvalidArgument("Unknown field 'error." + key + "'"));
      return;
    }
  }
  Result<bool> discarded = api.agents.Fail(call.ctx, call.Param("task_id"), *agent_id, error);
  discarded.ok() ? call.Reply(200, json{{"discarded", *discarded}}) : call.Fail(discarded.status());
}

}  // namespace sw::routes
