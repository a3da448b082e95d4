// The server itself: GET /healthz, the instances serving the store
// (GET /api/v1/instances), and the fake clock of tests
// (POST /api/v1/testing/clock/advance, only with --fake-clock).

#include "api/routes.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

void Health(ApiContext& api, Call& call) {
  if (!api.metrics.Healthy()) {
    call.Reply(503, json{{"status", "store_failed"}});
    return;
  }
  call.Reply(200, json{{"status", "ok"}});
}

void ListInstances(ApiContext& api, Call& call) {
  Result<json> instances = api.instances.List();
  instances.ok() ? call.Reply(200, *instances) : call.Fail(instances.status());
}

void AdvanceClock(ApiContext& api, Call& call) {
  if (!call.ParseObject({"ms"}, true)) return;
  if (!call.body.contains("ms") || !call.body["ms"].is_number_integer() ||
      call.body["ms"].get<int64_t>() < 0) {
    call.Fail(InvalidArgument("'ms' must be a non-negative integer"));
    return;
  }
  const int64_t now = api.fake_clock->Advance(call.body["ms"].get<int64_t>());
  call.Reply(200, json{{"now", FormatTime(now)}});
}

}  // namespace sw::routes
