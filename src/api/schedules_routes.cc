// Schedules (API.md "Schedules", docs/schedules.md): create, list, read, replace,
// delete, pause and resume. Writes are the admin's; any role of the workspace reads.
#include "api/render.h"
#include "api/routes.h"
#include "control/schedules.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

namespace {

json ScheduleJson(ApiContext& api, const ScheduleRecord& s) {
  json next = json::array();
  for (int64_t at : api.schedules.NextFireTimes(s, Schedules::kNextFireTimesShown)) {
    next.push_back(FormatTime(at));
  }
  return json{{"id", s.id},
              {"workflow_id", s.workflow_id},
              {"cron", s.cron},
              {"timezone", s.timezone},
              {"input", s.input},
              {"overlap", s.overlap},
              {"catch_up", s.catch_up},
              {"max_catch_up", s.max_catch_up},
              {"paused", s.paused},
              {"next_fire_times", next},
              {"last_fired_at", TimeOrNull(s.last_fired_at)},
              {"last_run_id", s.last_run_id.empty() ? json(nullptr) : json(s.last_run_id)},
              {"version", s.version},
              {"created_at", FormatTime(s.created_at)},
              {"updated_at", FormatTime(s.updated_at)}};
}

void ReplySchedule(ApiContext& api, Call& call, int status, const Result<ScheduleRecord>& s) {
  s.ok() ? call.Reply(status, ScheduleJson(api, *s)) : call.Fail(s.status());
}

// The body of POST and PUT.
bool ParseScheduleBody(Call& call) {
  return call.ParseObject(
      {"workflow_id", "cron", "timezone", "input", "overlap", "catch_up", "max_catch_up"}, true);
}

}  // namespace

void ListSchedules(ApiContext& api, Call& call) {
  int limit = 50;
  std::string cursor;
  if (Status s = ParsePaging(call, {"workflow_id"}, limit, cursor, "sch_"); !s.ok()) {
    call.Fail(s);
    return;
  }
  // Empty, as in the runs list, is every workflow; anything else must be a workflow id.
  const std::string workflow_id = call.Query("workflow_id");
  if (!workflow_id.empty() && !IsValidSlug(workflow_id)) {
    call.Fail(InvalidArgument("'workflow_id' must be a workflow id ([a-z0-9][a-z0-9-]{0,62})",
                              {.field = "workflow_id"}));
    return;
  }
  Result<SchedulePage> page = api.schedules.List(call.ctx, workflow_id, cursor, limit);
  if (!page.ok()) {
    call.Fail(page.status());
    return;
  }
  json items = json::array();
  for (const ScheduleRecord& s : page->items) {
    items.push_back(ScheduleJson(api, s));
  }
  call.Reply(200, json{{"items", items}, {"next_cursor", CursorJson(page->next_cursor)}});
}

// A repeat under the first request's Idempotency-Key answers as the first did (201, the
// schedule as it is now), with Idempotent-Replayed: true as a run's start does.
void CreateSchedule(ApiContext& api, Call& call) {
  if (!ParseScheduleBody(call)) return;
  Result<std::optional<std::string>> key = IdempotencyKeyOf(call);
  if (!key.ok()) {
    call.Fail(key.status());
    return;
  }
  Result<CreatedSchedule> created = api.schedules.Create(call.ctx, call.body, *key);
  if (!created.ok()) {
    call.Fail(created.status());
    return;
  }
  HttpHeaders headers = {{"Location", "/api/v1/schedules/" + created->schedule.id}};
  if (created->replayed) {
    headers.emplace_back("Idempotent-Replayed", "true");
  }
  call.Reply(201, ScheduleJson(api, created->schedule), std::move(headers));
}

void GetSchedule(ApiContext& api, Call& call) {
  ReplySchedule(api, call, 200, api.schedules.Get(call.ctx, call.Param("schedule_id")));
}

// With If-Match: "<version>", a schedule changed since is not replaced (409 state_changed).
void PutSchedule(ApiContext& api, Call& call) {
  if (!ParseScheduleBody(call)) return;
  Result<std::optional<int64_t>> if_match = IfMatchVersionOf(call, "a schedule version");
  if (!if_match.ok()) {
    call.Fail(if_match.status());
    return;
  }
  ReplySchedule(api, call, 200,
                api.schedules.Replace(call.ctx, call.Param("schedule_id"), call.body, *if_match));
}

void DeleteSchedule(ApiContext& api, Call& call) {
  if (Status s = api.schedules.Delete(call.ctx, call.Param("schedule_id")); !s.ok()) {
    call.Fail(s);
    return;
  }
  Response r;
  r.status = 204;
  r.headers = {{"X-Request-Id", call.request_id}};
  call.ex->Respond(std::move(r));
}

void PauseSchedule(ApiContext& api, Call& call) {
  if (!call.ParseObject({})) return;
  ReplySchedule(api, call, 200, api.schedules.SetPaused(call.ctx, call.Param("schedule_id"), true));
}

void ResumeSchedule(ApiContext& api, Call& call) {
  if (!call.ParseObject({})) return;
  ReplySchedule(api, call, 200,
                api.schedules.SetPaused(call.ctx, call.Param("schedule_id"), false));
}

}  // namespace sw::routes
