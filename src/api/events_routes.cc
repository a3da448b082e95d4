// A run's events: sending one to a run (POST .../events), and the Server-Sent Events
// stream of the run's changes (GET .../events/stream).

#include <atomic>
#include <functional>

#include "api/routes.h"

namespace sw::routes {

using nlohmann::json;

void SendEvent(ApiContext& api, Call& call) {
  if (!call.ParseObject({"event_type", "payload"}, true)) {
    return;
  }
  if (!call.body.contains("event_type") || !call.body["event_type"].is_string() ||
      call.body["event_type"].get<std::string>().empty() ||
      call.body["event_type"].get<std::string>().size() > 200) {
    call.Fail(InvalidArgument("'event_type' must be a non-empty string (at most 200 characters)",
                              {.field = "event_type"}));
    return;
  }
  json payload = call.body.value("payload", json());
  Result<bool> delivered = api.control.SendEvent(
      call.ctx, call.Param("run_id"), call.body["event_type"].get<std::string>(), payload);
  delivered.ok() ? call.Reply(202, json{{"delivered", *delivered}}) : call.Fail(delivered.status());
}

void StreamRun(ApiContext& api, Call& call) {
  const std::string run_id = call.Param("run_id");
  Result<RunRecord> first = api.control.GetRun(call.ctx, run_id);
  if (!first.ok()) {
    call.Fail(first.status());
    return;
  }
  struct Stream {
    std::shared_ptr<Exchange> ex;
    RequestContext ctx;
    uint64_t watch_id = 0;
    int64_t sent_version = -1;  // touched only on the exchange's strand
    std::atomic<bool> ended{false};
  };
  auto stream = std::make_shared<Stream>();
  stream->ex = call.ex;
  stream->ctx = call.ctx;
  Response head;
  head.content_type = "text/event-stream";
  head.headers = {{"Cache-Control", "no-cache"}, {"X-Request-Id", call.request_id}};
  call.ex->StartStream(std::move(head));
  // Runs on the exchange's strand: sends the run if it changed; ends at a terminal status.
  auto push = [&api, stream, run_id] {
    if (stream->ended.load()) {
      return;
    }
    Result<RunRecord> run = api.control.GetRun(stream->ctx, run_id);
    if (!run.ok() || stream->ex->Done()) {
      if (!stream->ended.exchange(true)) {
        api.watch.Unsubscribe(run_id, stream->watch_id);
        stream->ex->EndStream();
      }
      return;
    }
    if (run->version != stream->sent_version) {
      stream->sent_version = run->version;
      stream->ex->Send("event: run\nid: " + std::to_string(run->version) + "\ndata: " +
                       RunBody(api, *run).dump(-1, ' ', false, json::error_handler_t::replace) +
                       "\n\n");
    }
    if (IsTerminal(run->status) && !stream->ended.exchange(true)) {
      api.watch.Unsubscribe(run_id, stream->watch_id);
      stream->ex->EndStream();
    }
  };
  stream->watch_id = api.watch.Subscribe(run_id, [stream, push] { stream->ex->Post(push); });
  auto keepalive = std::make_shared<std::function<void()>>();
  std::weak_ptr<std::function<void()>> weak = keepalive;
  *keepalive = [&api, stream, run_id, weak] {
    if (stream->ended.load()) {
      return;
    }
    if (stream->ex->Done()) {
      if (!stream->ended.exchange(true)) {
        api.watch.Unsubscribe(run_id, stream->watch_id);
      }
      return;
    }
    stream->ex->Send(": keepalive\n\n");
    if (auto again = weak.lock()) {
      stream->ex->After(api.options.sse_keepalive_ms, [again] { (*again)(); });
    }
  };
  call.ex->After(api.options.sse_keepalive_ms, [keepalive] { (*keepalive)(); });
  call.ex->Post(push);
}

}  // namespace sw::routes
