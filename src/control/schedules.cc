#include "control/schedules.h"

#include <date/tz.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <optional>
#include <stdexcept>

#include "control/auth.h"
#include "core/cron.h"
#include "core/thread_name.h"
#include "core/time_format.h"

namespace sw {

using nlohmann::json;

namespace {

Status FieldInvalid(const std::string& field, std::string message) {
  return InvalidArgument(std::move(message), {.field = field});
}

// The zone named `name`, or null. date's tz database reads /usr/share/zoneinfo once.
const date::time_zone* FindZone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

AuditEntry ScheduleAudit(IdSource& ids, const Clock& clock, const RequestContext& ctx,
                         std::string action, const std::string& target) {
  AuditEntry a;
  a.id = ids.Next("aud");
  a.workspace_id = ctx.principal.workspace_id;
  a.at = clock.NowMs();
  a.actor = ctx.principal.actor();
  a.action = std::move(action);
  a.target = target;
  a.request_id = ctx.request_id;
  return a;
}

// A string field of `body`, if present: kInvalidArgument unless a string.
Result<std::optional<std::string>> OptionalString(const json& body, const std::string& name) {
  auto it = body.find(name);
  if (it == body.end()) {
    return std::optional<std::string>();
  }
  if (!it->is_string()) {
    return FieldInvalid(name, "'" + name + "' must be a string");
  }
  return std::optional<std::string>(it->get<std::string>());
}

Status OneOf(const std::string& field, const std::string& value,
             std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) {
      return Status::Ok();
    }
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  return FieldInvalid(field, "'" + field + "' must be one of " + list + ", not '" + value + "'");
}

}  // namespace

// Applies `body`'s fields to `s` and checks the whole: the workflow exists in the
// caller's workspace (and has runs), the cron parses and ever fires, the zone is known.
Result<ScheduleRecord> Schedules::Validate(const RequestContext& ctx, ScheduleRecord s,
                                           const json& body) {
  struct StringField {
    const char* name;
    std::string ScheduleRecord::*into;
  };
  static constexpr StringField kStringFields[] = {
      {"workflow_id", &ScheduleRecord::workflow_id}, {"cron", &ScheduleRecord::cron},
      {"timezone", &ScheduleRecord::timezone},       {"overlap", &ScheduleRecord::overlap},
      {"catch_up", &ScheduleRecord::catch_up},
  };
  for (const StringField& field : kStringFields) {
    Result<std::optional<std::string>> v = OptionalString(body, field.name);
    if (!v.ok()) {
      return v.status();
    }
    if (*v) {
      s.*field.into = **v;
    }
  }
  if (auto it = body.find("input"); it != body.end()) {
    if (!it->is_object()) {
      return FieldInvalid("input", "'input' must be a JSON object");
    }
    s.input = *it;
  }
  if (auto it = body.find("max_catch_up"); it != body.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 ||
        it->get<int64_t>() > kMaxCatchUpLimit) {
      return FieldInvalid("max_catch_up", "'max_catch_up' must be an integer from 1 to " +
                                              std::to_string(kMaxCatchUpLimit));
    }
    s.max_catch_up = it->get<int64_t>();
  }
  if (s.workflow_id.empty()) {
    return FieldInvalid("workflow_id", "'workflow_id' is required");
  }
  if (s.cron.empty()) {
    return FieldInvalid("cron", "'cron' is required");
  }
  if (Status st = OneOf("overlap", s.overlap, {"skip", "allow", "cancel_previous"}); !st.ok()) {
    return st;
  }
  if (Status st = OneOf("catch_up", s.catch_up, {"none", "latest", "all"}); !st.ok()) {
    return st;
  }
  Result<CronSpec> spec = ParseCron(s.cron);
  if (!spec.ok()) {
    return FieldInvalid("cron", spec.status().message());
  }
  const date::time_zone* zone = FindZone(s.timezone);
  if (zone == nullptr) {
    return FieldInvalid("timezone", "'timezone' '" + s.timezone +
                                        "' is not a known IANA time zone (e.g. Europe/Berlin)");
  }
  if (!NextFireTime(*spec, *zone, clock_.NowMs())) {
    return FieldInvalid("cron", "cron expression '" + s.cron + "' never fires");
  }
  Result<WorkflowRecord> wf = store_.GetWorkflow(ctx.principal.workspace_id, s.workflow_id);
  if (!wf.ok() && wf.status().code() == StatusCode::kNotFound) {
    return FieldInvalid("workflow_id", "workflow '" + s.workflow_id + "' not found");
  }
  if (!wf.ok()) {
    return wf.status();
  }
  if (wf->kind == "script") {
    return FieldInvalid("workflow_id",
                        "workflow '" + s.workflow_id + "' is kind 'script': it has no runs");
  }
  return s;
}

Result<CreatedSchedule> Schedules::Create(const RequestContext& ctx, const json& body,
                                          const std::optional<std::string>& idempotency_key) {
  ScheduleRecord s;
  s.id = ids_.Next("sch");
  s.workspace_id = ctx.principal.workspace_id;
  s.timezone = "UTC";
  Result<ScheduleRecord> valid = Validate(ctx, std::move(s), body);
  if (!valid.ok()) {
    return valid.status();
  }
  const int64_t now = clock_.NowMs();
  valid->created_at = valid->updated_at = now;
  std::vector<int64_t> next = NextFireTimes(*valid, 1);
  valid->next_fire_at = next.empty() ? 0 : next.front();
  std::optional<IdempotencyKey> key;
  if (idempotency_key) {
    // The prefix keeps a schedule's request apart from a run's or a connection's under
    // the same key (the workspace's keys are one table).
    key = IdempotencyKey{*idempotency_key, HashToken("schedule:" + body.dump()),
                         now - ControlService::kIdempotencyWindowMs};
  }
  Result<ScheduleRecord> created = store_.CreateSchedule(
      *valid, ScheduleAudit(ids_, clock_, ctx, "schedule.create", valid->id), key);
  if (!created.ok()) {
    return created.status();
  }
  const bool replayed = created->id != valid->id;
  if (!replayed) {
    Poke();
  }
  return CreatedSchedule{std::move(created).value(), replayed};
}

Result<SchedulePage> Schedules::List(const RequestContext& ctx, const std::string& workflow_id,
                                     const std::string& cursor, int limit) {
  return store_.ListSchedules(ctx.principal.workspace_id, workflow_id, cursor, limit);
}

Result<ScheduleRecord> Schedules::Get(const RequestContext& ctx, const std::string& id) {
  Result<ScheduleRecord> s = store_.GetSchedule(id);
  if (s.ok() && s->workspace_id != ctx.principal.workspace_id) {
    return NotFound("schedule " + id + " not found");
  }
  return s;
}

Result<ScheduleRecord> Schedules::Replace(const RequestContext& ctx, const std::string& id,
                                          const json& body, std::optional<int64_t> if_version) {
  Result<ScheduleRecord> stored = Get(ctx, id);
  if (!stored.ok()) {
    return stored.status();
  }
  if (if_version && *if_version != stored->version) {
    return Status(StatusCode::kAborted,
                  "Schedule " + id + " changed since version " + std::to_string(*if_version) +
                      " (it is at version " + std::to_string(stored->version) + "); please refresh",
                  ErrorDetail{.reason = "state_changed", .version = stored->version});
  }
  const int64_t expected_version = stored->version;
  Result<ScheduleRecord> valid = Validate(ctx, *stored, body);
  if (!valid.ok()) {
    return valid.status();
  }
  valid->updated_at = clock_.NowMs();
  // Ticks of the old expression before now are not this one's to catch up.
  std::vector<int64_t> next = NextFireTimes(*valid, 1);
  valid->next_fire_at = next.empty() ? 0 : next.front();
  Result<ScheduleRecord> written = store_.UpdateSchedule(
      *valid, expected_version, ScheduleAudit(ids_, clock_, ctx, "schedule.update", id));
  if (written.ok()) {
    Poke();
  }
  return written;
}

Status Schedules::Delete(const RequestContext& ctx, const std::string& id) {
  return store_.DeleteSchedule(ctx.principal.workspace_id, id,
                               ScheduleAudit(ids_, clock_, ctx, "schedule.delete", id));
}

Result<ScheduleRecord> Schedules::SetPaused(const RequestContext& ctx, const std::string& id,
                                            bool paused) {
  Result<ScheduleRecord> stored = Get(ctx, id);
  if (!stored.ok() || stored->paused == paused) {
    return stored;
  }
  ScheduleRecord s = *stored;
  s.paused = paused;
  s.updated_at = clock_.NowMs();
  if (!paused) {
    // Ticks that passed while paused never fire: start from the next one after now.
    s.paused = false;
    std::vector<int64_t> next = NextFireTimes(s, 1);
    s.next_fire_at = next.empty() ? 0 : next.front();
  }
  Result<ScheduleRecord> written = store_.UpdateSchedule(
      s, stored->version,
      ScheduleAudit(ids_, clock_, ctx, paused ? "schedule.pause" : "schedule.resume", id));
  if (written.ok()) {
    Poke();
  }
  return written;
}

std::vector<int64_t> Schedules::NextFireTimes(const ScheduleRecord& s, int count) const {
  if (s.paused) {
    return {};
  }
  Result<CronSpec> spec = ParseCron(s.cron);
  const date::time_zone* zone = FindZone(s.timezone);
  if (!spec.ok() || zone == nullptr) {
    return {};
  }
  return sw::NextFireTimes(*spec, *zone, clock_.NowMs(), count);
}

void Schedules::Start() {
  thread_ = std::thread([this] {
    NameThisThread("sw-schedules");
    Loop();
  });
}

void Schedules::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Schedules::Poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

void Schedules::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Real time: with a fake clock the sleep ends at kMaxSleepMs, or when an advance pokes.
    lock.unlock();
    std::chrono::milliseconds sleep = SleepUntilNextTick();
    lock.lock();
    cv_.wait_for(lock, sleep, [this] { return poked_ || stopping_; });
    if (stopping_) {
      return;
    }
    poked_ = false;
    lock.unlock();
    FireDue();
    lock.lock();
  }
}

std::chrono::milliseconds Schedules::SleepUntilNextTick() {
  Result<int64_t> earliest = store_.EarliestScheduleFire();
  int64_t ms = kMaxSleepMs;
  if (earliest.ok() && *earliest > 0) {
    ms = std::clamp<int64_t>(*earliest - clock_.NowMs(), 0, kMaxSleepMs);
  }
  return std::chrono::milliseconds(ms);
}

void Schedules::FireDue() {
  std::lock_guard look(look_mu_);
  const int64_t now = clock_.NowMs();
  Result<std::vector<ScheduleRecord>> due = store_.DueSchedules(now, kMaxDuePerLook);
  if (!due.ok()) {
    spdlog::warn("event=schedule.look_failed error={}", due.status().message());
    return;
  }
  // The fires are queued kFiresPerQueue at a time as they are planned, so the writer
  // commits the first while the next are planned, and the fires queued meanwhile share
  // its next transaction; the look ends when each has its outcome.
  struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
    // The new runs of the fires committed so far, started once no fire is left: on the
    // store's writer (their first commits then queue rather than commit one by one), after
    // the look's fires, so planning and committing the runs does not delay the next fires.
    std::vector<RunRecord> started;
    int starting = 0;  // completions starting runs
  };
  auto pending = std::make_shared<Pending>();
  std::vector<std::string> cancels(due->size());  // by schedule: the run to cancel
  // By schedule: the fire committed. Sized before the first fire is queued: completions
  // write it while later fires are planned.
  auto fired = std::make_shared<std::vector<bool>>(due->size(), false);
  WorkflowCache workflows;
  const std::span<const ScheduleRecord> schedules(*due);
  for (size_t first = 0; first < schedules.size(); first += kFiresPerQueue) {
    const std::span<const ScheduleRecord> part =
        schedules.subspan(first, std::min(kFiresPerQueue, schedules.size() - first));
    const LastRunStatuses last_runs = ReadLastRuns(part);
    std::vector<Store::QueuedFire> queued;
    for (size_t index = first; index < first + part.size(); ++index) {
      const ScheduleRecord& s = schedules[index];
      std::optional<Plan> plan = PlanFire(s, now, workflows, last_runs);
      if (!plan) {
        continue;
      }
      cancels[index] = std::move(plan->cancel_previous);
      {
        std::lock_guard lock(pending->mu);
        ++pending->left;
      }
      queued.push_back(Store::QueuedFire{
          std::move(plan->fire),
          [this, pending, fired, index, id = s.id](Result<std::vector<RunRecord>> created) {
            std::unique_lock lock(pending->mu);
            if (created.ok()) {
              for (const RunRecord& run : *created) {
                spdlog::debug("event=run.start run={} workflow={} schedule={}", run.id,
                              run.workflow_id, id);
                pending->started.push_back(run);
              }
            } else if (created.status().code() != StatusCode::kAborted) {
              // kAborted: another instance (or an API change) moved the schedule first.
              spdlog::warn("event=schedule.fire_failed schedule={} error={}", id,
                           created.status().message());
            }
            (*fired)[index] = created.ok();
            if (--pending->left == 0) {
              std::vector<RunRecord> started;
              started.swap(pending->started);
              ++pending->starting;
              lock.unlock();
              for (const RunRecord& run : started) {
                engine_.DriveNew(run);
              }
              lock.lock();
              --pending->starting;
              pending->cv.notify_all();
            }
          }});
    }
    store_.FireSchedulesAsync(std::move(queued));
  }
  {
    std::unique_lock lock(pending->mu);
    pending->cv.wait(lock, [&pending] { return pending->left == 0 && pending->starting == 0; });
  }
  // The fires' completions queued the new runs' first commits: the look ends once they
  // are committed too, so the next look sees these runs as they went on (a run of pure
  // steps has ended) rather than pending, when it decides on overlap.
  std::promise<void> drained;
  store_.WhenQueuedWritesCommitted([&drained] { drained.set_value(); });
  drained.get_future().wait();
  // Cancels commit and wait: not on the store's committing thread.
  for (size_t i = 0; i < cancels.size(); ++i) {
    if ((*fired)[i] && !cancels[i].empty()) {
      CancelPrevious((*due)[i], cancels[i]);
    }
  }
  if (static_cast<int>(due->size()) == kMaxDuePerLook) {
    Poke();  // more are due: look again at once
  }
}

namespace {

// The ticks of one look: those due at or before `now` (the missed ones bounded to the
// last `keep_missed`), and the first one after it.
struct DueTicks {
  std::deque<int64_t> missed;
  std::vector<int64_t> on_time;
  int64_t next = 0;  // 0: the expression never fires again
  int64_t dropped = 0;
};

DueTicks ListDueTicks(const CronSpec& spec, const date::time_zone& zone, int64_t from, int64_t now,
                      int64_t keep_missed) {
  DueTicks out;
  std::optional<int64_t> tick = from;
  if (from < now - Schedules::kMaxLookBackMs) {
    tick = NextFireTime(spec, zone, now - Schedules::kMaxLookBackMs - 1);
    ++out.dropped;
  }
  // Bounded: one tick a minute over kMaxLookBackMs is about 45,000 turns.
  while (tick && *tick <= now) {
    if (now - *tick <= Schedules::kOnTimeGraceMs) {
      out.on_time.push_back(*tick);
    } else {
      out.missed.push_back(*tick);
      if (static_cast<int64_t>(out.missed.size()) > keep_missed) {
        out.missed.pop_front();
        ++out.dropped;
      }
    }
    tick = NextFireTime(spec, zone, *tick);
  }
  out.next = tick.value_or(0);
  return out;
}

}  // namespace

Schedules::LastRunStatuses Schedules::ReadLastRuns(std::span<const ScheduleRecord> schedules) {
  std::vector<std::string> ids;
  for (const ScheduleRecord& s : schedules) {
    if (!s.last_run_id.empty() && s.overlap != "allow") {
      ids.push_back(s.last_run_id);
    }
  }
  LastRunStatuses out;
  if (ids.empty()) {
    return out;
  }
  Result<std::vector<std::pair<std::string, RunStatus>>> read = store_.GetRunStatuses(ids);
  if (!read.ok()) {
    // As when the previous run is gone: the tick fires.
    spdlog::warn("event=schedule.last_runs_unread error={}", read.status().message());
    return out;
  }
  out.insert(read->begin(), read->end());
  return out;
}

std::optional<Schedules::Plan> Schedules::PlanFire(const ScheduleRecord& s, int64_t now,
                                                   WorkflowCache& workflows,
                                                   const LastRunStatuses& last_runs) {
  Result<CronSpec> spec = ParseCron(s.cron);
  const date::time_zone* zone = FindZone(s.timezone);
  if (!spec.ok() || zone == nullptr) {
    spdlog::error("event=schedule.unreadable schedule={} cron='{}' timezone='{}'", s.id, s.cron,
                  s.timezone);
    return std::nullopt;
  }
  DueTicks ticks = ListDueTicks(*spec, *zone, s.next_fire_at, now, s.max_catch_up);
  std::vector<int64_t> fire;
  if (s.catch_up == "all") {
    fire.assign(ticks.missed.begin(), ticks.missed.end());
    fire.insert(fire.end(), ticks.on_time.begin(), ticks.on_time.end());
  } else if (s.catch_up == "latest") {
    if (!ticks.on_time.empty()) {
      fire.push_back(ticks.on_time.back());
    } else if (!ticks.missed.empty()) {
      fire.push_back(ticks.missed.back());
    }
  } else if (!ticks.on_time.empty()) {
    fire.push_back(ticks.on_time.back());
  }
  // cancel_previous: earlier ticks of this look would be cancelled at once.
  if (s.overlap == "cancel_previous" && fire.size() > 1) {
    fire.erase(fire.begin(), fire.end() - 1);
  }

  ScheduleFire f;
  f.schedule_id = s.id;
  f.expected_version = s.version;
  f.next_fire_at = ticks.next;
  f.last_fired_at = s.last_fired_at;
  f.last_run_id = s.last_run_id;
  f.now = now;
  std::string previous_to_cancel;
  auto key = std::make_pair(s.workspace_id, s.workflow_id);
  auto cached = workflows.find(key);
  if (cached == workflows.end()) {
    cached = workflows
                 .emplace(key, store_.GetWorkflow(s.workspace_id, s.workflow_id,
                                                  /*with_definition=*/false))
                 .first;
  }
  const Result<WorkflowRecord>& wf = cached->second;
  const char* held = !wf.ok()                   ? "workflow not found"
                     : !wf->safety.is_null()    ? "workflow held for safety"
                     : wf->status == "disabled" ? "workflow disabled"
                     : wf->kind == "script"     ? "workflow is a script"
                                                : nullptr;
  if (held != nullptr && !fire.empty()) {
    spdlog::info("event=schedule.held schedule={} workflow={} ticks={} why='{}'", s.id,
                 s.workflow_id, fire.size(), held);
    fire.clear();
  }
  bool previous_active = false;
  if (!fire.empty() && !s.last_run_id.empty() && s.overlap != "allow") {
    auto previous = last_runs.find(s.last_run_id);
    previous_active = previous != last_runs.end() && !IsTerminal(previous->second);
  }
  for (int64_t tick : fire) {
    if (previous_active && s.overlap == "skip") {
      spdlog::info("event=schedule.skip schedule={} scheduled_at={} previous_run={}", s.id,
                   FormatTime(tick), f.last_run_id);
      continue;
    }
    if (previous_active && s.overlap == "cancel_previous") {
      previous_to_cancel = f.last_run_id;
    }
    RunRecord run;
    run.id = ids_.Next("run");
    run.workspace_id = s.workspace_id;
    run.workflow_id = wf->id;
    run.workflow_version = wf->version;
    run.status = RunStatus::kPending;
    run.version = 1;
    run.input = s.input;
    run.trigger =
        json{{"kind", "schedule"}, {"schedule_id", s.id}, {"scheduled_at", FormatTime(tick)}};
    run.created_at = run.updated_at = now;
    f.runs.push_back(run);
    f.last_fired_at = tick;
    f.last_run_id = run.id;
    previous_active = true;  // the run just made is not terminal
  }
  if (ticks.dropped > 0 || fire.size() < ticks.missed.size() + ticks.on_time.size()) {
    spdlog::info("event=schedule.ticks schedule={} due={} started={} catch_up={} overlap={}", s.id,
                 ticks.missed.size() + ticks.on_time.size(), f.runs.size(), s.catch_up, s.overlap);
  }
  return Plan{std::move(f), std::move(previous_to_cancel)};
}

void Schedules::CancelPrevious(const ScheduleRecord& s, const std::string& run_id) {
  RequestContext system;
  system.principal.workspace_id = s.workspace_id;
  system.principal.token_name = "scheduler";
  system.principal.role = Role::kAdmin;
  ControlRequest cancel;
  cancel.action = RunAction::kCancel;
  cancel.reason =
      "Cancelled by schedule " + s.id + ": a newer run started (overlap: cancel_previous)";
  Result<RunRecord> cancelled = control_.Control(system, run_id, cancel);
  if (!cancelled.ok() && cancelled.status().code() != StatusCode::kFailedPrecondition) {
    spdlog::warn("event=schedule.cancel_previous_failed schedule={} run={} error={}", s.id, run_id,
                 cancelled.status().message());
  }
}

}  // namespace sw
