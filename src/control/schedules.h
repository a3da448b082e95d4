// Schedules (API.md "Schedules", docs/schedules.md): what the API calls to create, list,
// read, replace, delete, pause and resume a workspace's schedules, and the scheduler
// that fires them.
//
// A schedule's row keeps `next_fire_at`, its first tick not yet consumed. The
// scheduler thread looks for due schedules (next_fire_at <= the server clock's now)
// when the earliest tick comes due (at least once a second of real time) and whenever
// it is poked (a schedule written, the fake clock advanced). For each it lists the due
// ticks, decides by `catch_up` and `overlap` which start a run, and commits that
// decision with Store::FireSchedulesAsync: a compare-and-set on the schedule's version
// that consumes the ticks and creates the runs in one transaction (the fires of one
// look share the store's commits). Each (schedule, tick) therefore starts at most one run,
// across restarts and across instances sharing a PostgreSQL store.
//
// A tick is *on time* when the scheduler sees it at most kOnTimeGraceMs after it came
// due; an older one was *missed* (the server was down, or its clock jumped) and
// `catch_up` decides: none fires none of them, latest fires the latest due tick only,
// all fires the last `max_catch_up` missed ones. Ticks of a paused schedule are never
// due: resume starts from the next tick after now. While the workflow is held for
// safety (docs/safety.md), disabled or gone, its due ticks are consumed without a run.
//
// Thread-safe. Borrows the store, engine, control service and clock, which outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "control/service.h"
#include "core/result.h"
#include "store/store.h"

namespace sw {

// What Schedules::Create answers: the schedule, and whether it is the first one made
// under the request's Idempotency-Key (a repeat) rather than a new one.
struct CreatedSchedule {
  ScheduleRecord schedule;
  bool replayed = false;
};

class Schedules {
 public:
  // The workflows one look has read, by (workspace, workflow id).
  using WorkflowCache = std::map<std::pair<std::string, std::string>, Result<WorkflowRecord>>;
  // The statuses of the runs schedules started last, read for a part of a look; a run
  // not there (gone, or not read) does not count as active.
  using LastRunStatuses = std::map<std::string, RunStatus>;

  // A tick seen this late is still on time (not "missed").
  static constexpr int64_t kOnTimeGraceMs = 60 * 1000;
  // The first ticks of an old schedule that are further back than this are dropped
  // without a look (bounds the work of a look after a long downtime).
  static constexpr int64_t kMaxLookBackMs = 31LL * 24 * 3600 * 1000;
  static constexpr int64_t kMaxCatchUpLimit = 1000;
  static constexpr int kNextFireTimesShown = 5;
  // Due schedules one look handles (their fires share commits); the rest wait for the
  // next look, which follows at once.
  static constexpr int kMaxDuePerLook = 2000;
  // Fires planned and queued for the store's writer at a time during a look: the writer
  // commits the first while the next are planned.
  static constexpr size_t kFiresPerQueue = 64;
  // The longest the thread sleeps between looks (it notices another instance's new
  // schedule at the latest after this).
  static constexpr int64_t kMaxSleepMs = 1000;

  Schedules(Store& store, Engine& engine, ControlService& control, const Clock& clock,
            IdSource& ids)
      : store_(store), engine_(engine), control_(control), clock_(clock), ids_(ids) {}
  ~Schedules() { Stop(); }

  // `body` as API.md describes; kInvalidArgument naming the field. `idempotency_key`: a
  // repeat of the same body within 24 h answers the first schedule; another body under
  // the key is kAlreadyExists "idempotency_conflict".
  Result<CreatedSchedule> Create(const RequestContext& ctx, const nlohmann::json& body,
                                 const std::optional<std::string>& idempotency_key);
  // `workflow_id` empty: the schedules of every workflow.
  Result<SchedulePage> List(const RequestContext& ctx, const std::string& workflow_id,
                            const std::string& cursor, int limit);
  Result<ScheduleRecord> Get(const RequestContext& ctx, const std::string& id);
  // Replaces the fields `body` carries (the others are kept); the next tick is
  // computed again from now. `if_version` (a request's If-Match): kAborted
  // "state_changed" (with the version it is at) when the schedule is at another one.
  Result<ScheduleRecord> Replace(const RequestContext& ctx, const std::string& id,
                                 const nlohmann::json& body,
                                 std::optional<int64_t> if_version = std::nullopt);
  Status Delete(const RequestContext& ctx, const std::string& id);
  // Idempotent: pausing a paused schedule answers it unchanged.
  Result<ScheduleRecord> SetPaused(const RequestContext& ctx, const std::string& id, bool paused);

  // The next `count` fire times (ms) of `s` after now; empty while paused.
  std::vector<int64_t> NextFireTimes(const ScheduleRecord& s, int count) const;

  // The scheduler thread.
  void Start();
  void Stop();
  // Look now (a schedule changed, the clock moved).
  void Poke();
  // One look at every due schedule (what the thread does; tests call it directly).
  void FireDue();

 private:
  void Loop();
  // What one look decided for one schedule: the fire to commit and the run its
  // overlap policy cancels once the fire is committed.
  struct Plan {
    ScheduleFire fire;
    std::string cancel_previous;
  };
  std::optional<Plan> PlanFire(const ScheduleRecord& s, int64_t now, WorkflowCache& workflows,
                               const LastRunStatuses& last_runs);
  // The statuses of the last runs of `schedules` whose overlap policy looks at them.
  LastRunStatuses ReadLastRuns(std::span<const ScheduleRecord> schedules);
  void CancelPrevious(const ScheduleRecord& s, const std::string& run_id);
  // How long the thread may sleep before the next tick comes due (kMaxSleepMs at most).
  std::chrono::milliseconds SleepUntilNextTick();
  Result<ScheduleRecord> Validate(const RequestContext& ctx, ScheduleRecord s,
                                  const nlohmann::json& body);

  Store& store_;
  Engine& engine_;
  ControlService& control_;
  const Clock& clock_;
  IdSource& ids_;

  std::mutex look_mu_;  // one look at a time (the thread's, a test's)
  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;     // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;     // started and joined by the owner's thread
};

}  // namespace sw
