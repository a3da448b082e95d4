// The records of schedules (API.md "Schedules"): a cron expression in a time zone that
// starts runs of one workflow. Times are milliseconds since the Unix epoch; 0 means
// "not set". Value types.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/records.h"

namespace sw {

struct ScheduleRecord {
  std::string id;  // "sch_…"
  std::string workspace_id;
  std::string workflow_id;
  std::string cron;
  std::string timezone;  // IANA name
  nlohmann::json input = nlohmann::json::object();
  std::string overlap = "skip";     // skip | allow | cancel_previous
  std::string catch_up = "latest";  // none | latest | all
  int64_t max_catch_up = 100;
  bool paused = false;
  // The first tick not yet considered; 0 when the expression never fires. Ticks are
  // consumed by FireSchedule, a compare-and-set on `version`.
  int64_t next_fire_at = 0;
  int64_t last_fired_at = 0;  // the scheduled time of the last run started
  std::string last_run_id;
  int64_t version = 1;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct SchedulePage {
  std::vector<ScheduleRecord> items;  // newest first
  std::string next_cursor;            // empty when there is no further page
};

// What one look at a due schedule decided, committed as one transaction: the schedule's
// ticks up to `next_fire_at` are consumed (a compare-and-set on `expected_version`; a
// lost one writes nothing and is kAborted) and `runs` are created with it. So each tick
// starts at most one run, whichever instance looks, however often.
struct ScheduleFire {
  std::string schedule_id;
  int64_t expected_version = 0;
  int64_t next_fire_at = 0;
  int64_t last_fired_at = 0;  // unchanged when no run is started
  std::string last_run_id;
  std::vector<RunRecord> runs;
  int64_t now = 0;
};

}  // namespace sw
