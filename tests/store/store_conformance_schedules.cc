// Store conformance: schedules (store/schedule_records.h): create (once per
// idempotency key), read, list newest first by workspace (and by workflow), replace and
// delete as compare-and-sets, the due query, and FireSchedule, which consumes a
// schedule's ticks and creates its runs in one compare-and-set, so each tick starts at
// most one run even when two writers race and across a reopen. See store_conformance.h.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

constexpr int64_t kMinute = 60'000;

ScheduleRecord MakeSchedule(const std::string& id, const std::string& workspace_id = "ws_1",
                            int64_t next_fire_at = kT0 + kMinute) {
  ScheduleRecord s;
  s.id = id;
  s.workspace_id = workspace_id;
  s.workflow_id = "charge";
  s.cron = "* * * * *";
  s.timezone = "Europe/Berlin";
  s.input = json{{"customer", 42}};
  s.overlap = "allow";
  s.catch_up = "all";
  s.max_catch_up = 7;
  s.next_fire_at = next_fire_at;
  s.created_at = s.updated_at = kT0;
  return s;
}

ScheduleFire FireOf(const ScheduleRecord& s, std::vector<RunRecord> runs, int64_t next) {
  ScheduleFire f;
  f.schedule_id = s.id;
  f.expected_version = s.version;
  f.next_fire_at = next;
  f.last_fired_at = s.next_fire_at;
  f.last_run_id = runs.empty() ? s.last_run_id : runs.back().id;
  f.runs = std::move(runs);
  f.now = next - 1;
  return f;
}

TEST_P(StoreConformanceTest, SchedulesAreKeptWholeAndListedNewestFirstPerWorkspace) {
  ASSERT_TRUE(store_
                  ->CreateSchedule(MakeSchedule("sch_1"),
                                   MakeAudit("aud_1", "ws_1", "schedule.create", "sch_1"),
                                   std::nullopt)
                  .ok());
  ASSERT_TRUE(store_
                  ->CreateSchedule(MakeSchedule("sch_2"),
                                   MakeAudit("aud_2", "ws_1", "schedule.create", "sch_2"),
                                   std::nullopt)
                  .ok());
  ASSERT_TRUE(store_
                  ->CreateSchedule(MakeSchedule("sch_3", "ws_2"),
                                   MakeAudit("aud_3", "ws_2", "schedule.create", "sch_3"),
                                   std::nullopt)
                  .ok());
  Result<ScheduleRecord> got = store_->GetSchedule("sch_1");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->workspace_id, "ws_1");
  EXPECT_EQ(got->workflow_id, "charge");
  EXPECT_EQ(got->cron, "* * * * *");
  EXPECT_EQ(got->timezone, "Europe/Berlin");
  EXPECT_EQ(got->input, (json{{"customer", 42}}));
  EXPECT_EQ(got->overlap, "allow");
  EXPECT_EQ(got->catch_up, "all");
  EXPECT_EQ(got->max_catch_up, 7);
  EXPECT_FALSE(got->paused);
  EXPECT_EQ(got->next_fire_at, kT0 + kMinute);
  EXPECT_EQ(got->last_fired_at, 0);
  EXPECT_EQ(got->last_run_id, "");
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(store_->GetSchedule("sch_9").status().code(), StatusCode::kNotFound);

  Result<SchedulePage> page = store_->ListSchedules("ws_1", "", "", 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "sch_2");
  EXPECT_EQ(page->next_cursor, "sch_2");
  page = store_->ListSchedules("ws_1", "", page->next_cursor, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "sch_1");
  page = store_->ListSchedules("ws_1", "", "sch_1", 10);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_EQ(page->next_cursor, "");

  Reopen();
  got = store_->GetSchedule("sch_3");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->workspace_id, "ws_2");
}

TEST_P(StoreConformanceTest, SchedulesAreListedForOneWorkflowWhenAsked) {
  for (const auto& [id, workflow] : {std::pair{"sch_1", "charge"}, std::pair{"sch_2", "refund"},
                                     std::pair{"sch_3", "charge"}, std::pair{"sch_4", "charge"}}) {
    ScheduleRecord s = MakeSchedule(id);
    s.workflow_id = workflow;
    ASSERT_TRUE(
        store_
            ->CreateSchedule(s, MakeAudit(std::string("aud_") + id, "ws_1", "c", id), std::nullopt)
            .ok());
  }
  ScheduleRecord elsewhere = MakeSchedule("sch_5", "ws_2");  // workflow "charge" of ws_2
  ASSERT_TRUE(
      store_->CreateSchedule(elsewhere, MakeAudit("aud_5", "ws_2", "c", "sch_5"), std::nullopt)
          .ok());
  auto ids = [](const SchedulePage& page) {
    std::vector<std::string> out;
    for (const ScheduleRecord& s : page.items) out.push_back(s.id);
    return out;
  };
  using V = std::vector<std::string>;
  Result<SchedulePage> page = store_->ListSchedules("ws_1", "charge", "", 10);
  ASSERT_TRUE(page.ok()) << page.status().message();
  EXPECT_EQ(ids(*page), (V{"sch_4", "sch_3", "sch_1"}));
  EXPECT_EQ(page->next_cursor, "");
  // Paged: the cursor and the workflow together.
  page = store_->ListSchedules("ws_1", "charge", "", 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(ids(*page), (V{"sch_4", "sch_3"}));
  EXPECT_EQ(page->next_cursor, "sch_3");
  page = store_->ListSchedules("ws_1", "charge", page->next_cursor, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(ids(*page), (V{"sch_1"}));
  EXPECT_EQ(page->next_cursor, "");
  page = store_->ListSchedules("ws_1", "refund", "", 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(ids(*page), (V{"sch_2"}));
  page = store_->ListSchedules("ws_1", "nightly", "", 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(ids(*page), V{});
  page = store_->ListSchedules("ws_1", "", "", 10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(ids(*page), (V{"sch_4", "sch_3", "sch_2", "sch_1"}));
}

TEST_P(StoreConformanceTest, AnIdempotencyKeyAnswersTheFirstSchedule) {
  IdempotencyKey key{"k1", "hash-a", kT0 - 1};
  Result<ScheduleRecord> first =
      store_->CreateSchedule(MakeSchedule("sch_1"), MakeAudit("aud_1", "ws_1", "c", "sch_1"), key);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->id, "sch_1");
  ScheduleRecord again = MakeSchedule("sch_2");
  again.cron = "0 * * * *";
  Result<ScheduleRecord> repeat =
      store_->CreateSchedule(again, MakeAudit("aud_2", "ws_1", "c", "sch_2"), key);
  ASSERT_TRUE(repeat.ok()) << repeat.status().message();
  EXPECT_EQ(repeat->id, "sch_1");
  EXPECT_EQ(repeat->cron, "* * * * *");  // the first schedule, as stored
  EXPECT_EQ(store_->GetSchedule("sch_2").status().code(), StatusCode::kNotFound);
  // Another request under the key: a conflict, and nothing written.
  key.request_hash = "hash-b";
  Result<ScheduleRecord> other =
      store_->CreateSchedule(MakeSchedule("sch_3"), MakeAudit("aud_3", "ws_1", "c", "sch_3"), key);
  EXPECT_EQ(other.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(other.status().reason(), "idempotency_conflict");
  EXPECT_EQ(store_->GetSchedule("sch_3").status().code(), StatusCode::kNotFound);
  // The same key in another workspace is another key.
  Result<ScheduleRecord> elsewhere = store_->CreateSchedule(
      MakeSchedule("sch_4", "ws_2"), MakeAudit("aud_4", "ws_2", "c", "sch_4"), key);
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().message();
  EXPECT_EQ(elsewhere->id, "sch_4");
  // Once the first schedule is deleted, a repeat is not found (not a second schedule).
  ASSERT_TRUE(
      store_->DeleteSchedule("ws_1", "sch_1", MakeAudit("aud_5", "ws_1", "d", "sch_1")).ok());
  key.request_hash = "hash-a";
  Result<ScheduleRecord> gone =
      store_->CreateSchedule(MakeSchedule("sch_6"), MakeAudit("aud_6", "ws_1", "c", "sch_6"), key);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetSchedule("sch_6").status().code(), StatusCode::kNotFound);
  // A key past its window is forgotten: the request makes a schedule of its own.
  key.expires_before = kT0 + 1;
  Result<ScheduleRecord> fresh =
      store_->CreateSchedule(MakeSchedule("sch_7"), MakeAudit("aud_7", "ws_1", "c", "sch_7"), key);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ(fresh->id, "sch_7");
}

TEST_P(StoreConformanceTest, ScheduleUpdateIsACompareAndSetOnItsVersion) {
  ScheduleRecord s = MakeSchedule("sch_1");
  ASSERT_TRUE(
      store_
          ->CreateSchedule(s, MakeAudit("aud_1", "ws_1", "schedule.create", "sch_1"), std::nullopt)
          .ok());
  s.paused = true;
  s.cron = "0 9 * * MON";
  s.updated_at = kT0 + 5;
  Result<ScheduleRecord> written =
      store_->UpdateSchedule(s, 1, MakeAudit("aud_2", "ws_1", "schedule.pause", "sch_1"));
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written->version, 2);
  Result<ScheduleRecord> got = store_->GetSchedule("sch_1");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->paused);
  EXPECT_EQ(got->cron, "0 9 * * MON");
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_EQ(got->updated_at, kT0 + 5);

  s.paused = false;
  EXPECT_EQ(store_->UpdateSchedule(s, 1, MakeAudit("aud_3", "ws_1", "schedule.resume", "sch_1"))
                .status()
                .code(),
            StatusCode::kAborted);
  ScheduleRecord other = s;
  other.workspace_id = "ws_2";
  EXPECT_EQ(store_->UpdateSchedule(other, 2, MakeAudit("aud_4", "ws_2", "schedule.resume", "sch_1"))
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetSchedule("sch_1")->paused);

  EXPECT_EQ(
      store_->DeleteSchedule("ws_2", "sch_1", MakeAudit("aud_5", "ws_2", "d", "sch_1")).code(),
      StatusCode::kNotFound);
  ASSERT_TRUE(
      store_->DeleteSchedule("ws_1", "sch_1", MakeAudit("aud_6", "ws_1", "d", "sch_1")).ok());
  EXPECT_EQ(store_->GetSchedule("sch_1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      store_->DeleteSchedule("ws_1", "sch_1", MakeAudit("aud_7", "ws_1", "d", "sch_1")).code(),
      StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, DueSchedulesAreTheUnpausedOnesWithATickAtOrBeforeNow) {
  ScheduleRecord early = MakeSchedule("sch_1", "ws_1", kT0 + 1 * kMinute);
  ScheduleRecord later = MakeSchedule("sch_2", "ws_2", kT0 + 2 * kMinute);
  ScheduleRecord paused = MakeSchedule("sch_3", "ws_1", kT0);
  paused.paused = true;
  ScheduleRecord never = MakeSchedule("sch_4", "ws_1", 0);
  ScheduleRecord future = MakeSchedule("sch_5", "ws_1", kT0 + 10 * kMinute);
  for (const ScheduleRecord& s : {later, early, paused, never, future}) {
    ASSERT_TRUE(
        store_->CreateSchedule(s, MakeAudit("aud_" + s.id, s.workspace_id, "c", s.id), std::nullopt)
            .ok());
  }
  Result<std::vector<ScheduleRecord>> due = store_->DueSchedules(kT0 + 2 * kMinute, 10);
  ASSERT_TRUE(due.ok()) << due.status().message();
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, "sch_1");
  EXPECT_EQ((*due)[1].id, "sch_2");
  due = store_->DueSchedules(kT0 + 2 * kMinute, 1);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  due = store_->DueSchedules(kT0 + kMinute - 1, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
}

TEST_P(StoreConformanceTest, FireScheduleConsumesTicksAndCreatesItsRunsInOneCommit) {
  ScheduleRecord s = MakeSchedule("sch_1");
  ASSERT_TRUE(
      store_->CreateSchedule(s, MakeAudit("aud_1", "ws_1", "c", "sch_1"), std::nullopt).ok());
  RunRecord a = NewRun("run_a");
  a.trigger = json{{"kind", "schedule"}, {"schedule_id", "sch_1"}, {"scheduled_at", "x"}};
  RunRecord b = NewRun("run_b");
  Result<std::vector<RunRecord>> fired = store_->FireSchedule(FireOf(s, {a, b}, kT0 + 3 * kMinute));
  ASSERT_TRUE(fired.ok()) << fired.status().message();
  EXPECT_EQ(fired->size(), 2u);
  EXPECT_TRUE(Changed().count("run_a"));
  Result<RunRecord> run = store_->GetRun("run_a", false);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->trigger["kind"], "schedule");
  EXPECT_EQ(run->status, RunStatus::kPending);
  Result<ScheduleRecord> got = store_->GetSchedule("sch_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->next_fire_at, kT0 + 3 * kMinute);
  EXPECT_EQ(got->last_fired_at, kT0 + kMinute);
  EXPECT_EQ(got->last_run_id, "run_b");
  EXPECT_EQ(got->version, 2);

  // The same look again (a second instance, or a retry after a crash): refused whole.
  RunRecord c = NewRun("run_c");
  EXPECT_EQ(store_->FireSchedule(FireOf(s, {c}, kT0 + 3 * kMinute)).status().code(),
            StatusCode::kAborted);
  EXPECT_EQ(store_->GetRun("run_c", false).status().code(), StatusCode::kNotFound);
  Reopen();
  EXPECT_EQ(store_->GetSchedule("sch_1")->version, 2);
  EXPECT_TRUE(store_->GetRun("run_b", false).ok());
}

TEST_P(StoreConformanceTest, FireOfAPausedScheduleWritesNothing) {
  ScheduleRecord s = MakeSchedule("sch_1");
  ASSERT_TRUE(
      store_->CreateSchedule(s, MakeAudit("aud_1", "ws_1", "c", "sch_1"), std::nullopt).ok());
  ScheduleRecord paused = s;
  paused.paused = true;
  ASSERT_TRUE(store_->UpdateSchedule(paused, 1, MakeAudit("aud_2", "ws_1", "p", "sch_1")).ok());
  s.version = 2;  // even at its current version
  EXPECT_EQ(store_->FireSchedule(FireOf(s, {NewRun("run_a")}, kT0 + 2 * kMinute)).status().code(),
            StatusCode::kAborted);
  EXPECT_EQ(store_->GetRun("run_a", false).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RacingFiresOfOneTickStartOneRun) {
  ScheduleRecord s = MakeSchedule("sch_1");
  ASSERT_TRUE(
      store_->CreateSchedule(s, MakeAudit("aud_1", "ws_1", "c", "sch_1"), std::nullopt).ok());
  constexpr int kRacers = 8;
  std::atomic<int> won{0};
  std::atomic<int> lost{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < kRacers; ++i) {
    racers.emplace_back([&, i] {
      Result<std::vector<RunRecord>> fired =
          store_->FireSchedule(FireOf(s, {NewRun("run_" + std::to_string(i))}, kT0 + 2 * kMinute));
      if (fired.ok()) {
        ++won;
      } else if (fired.status().code() == StatusCode::kAborted) {
        ++lost;
      }
    });
  }
  for (std::thread& t : racers) {
    t.join();
  }
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), kRacers - 1);
  int runs = 0;
  for (int i = 0; i < kRacers; ++i) {
    runs += store_->GetRun("run_" + std::to_string(i), false).ok() ? 1 : 0;
  }
  EXPECT_EQ(runs, 1);
}

TEST_P(StoreConformanceTest, EarliestScheduleFireIsTheFirstTickOfAnUnpausedSchedule) {
  Result<int64_t> none = store_->EarliestScheduleFire();
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(*none, 0);
  ScheduleRecord paused = MakeSchedule("sch_1", "ws_1", kT0);
  paused.paused = true;
  ScheduleRecord never = MakeSchedule("sch_2", "ws_1", 0);
  ScheduleRecord later = MakeSchedule("sch_3", "ws_2", kT0 + 5 * kMinute);
  ScheduleRecord early = MakeSchedule("sch_4", "ws_1", kT0 + 2 * kMinute);
  for (const ScheduleRecord& s : {paused, never, later, early}) {
    ASSERT_TRUE(
        store_->CreateSchedule(s, MakeAudit("aud_" + s.id, s.workspace_id, "c", s.id), std::nullopt)
            .ok());
  }
  EXPECT_EQ(*store_->EarliestScheduleFire(), kT0 + 2 * kMinute);
}

TEST_P(StoreConformanceTest, FiresQueuedTogetherEachCommitOrLoseAlone) {
  constexpr int kSchedules = 20;
  std::vector<ScheduleRecord> schedules;
  for (int i = 0; i < kSchedules; ++i) {
    schedules.push_back(MakeSchedule("sch_" + std::to_string(i)));
    ASSERT_TRUE(store_
                    ->CreateSchedule(
                        schedules.back(),
                        MakeAudit("aud_" + std::to_string(i), "ws_1", "c", schedules.back().id),
                        std::nullopt)
                    .ok());
  }
  // Every other fire is stale (a version another look already moved): it alone loses.
  std::mutex mu;
  std::condition_variable cv;
  int left = kSchedules;
  std::vector<StatusCode> outcomes(kSchedules, StatusCode::kInternal);
  std::vector<Store::QueuedFire> fires;
  for (int i = 0; i < kSchedules; ++i) {
    ScheduleRecord s = schedules[i];
    s.version = i % 2 == 0 ? 1 : 7;
    fires.push_back(
        Store::QueuedFire{FireOf(s, {NewRun("run_" + std::to_string(i))}, kT0 + 2 * kMinute),
                          [&, i](Result<std::vector<RunRecord>> fired) {
                            std::lock_guard lock(mu);
                            outcomes[i] = fired.ok() ? StatusCode::kOk : fired.status().code();
                            if (--left == 0) {
                              cv.notify_all();
                            }
                          }});
  }
  store_->FireSchedulesAsync(std::move(fires));
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return left == 0; });
  }
  for (int i = 0; i < kSchedules; ++i) {
    const bool fresh = i % 2 == 0;
    EXPECT_EQ(outcomes[i], fresh ? StatusCode::kOk : StatusCode::kAborted) << i;
    EXPECT_EQ(store_->GetRun("run_" + std::to_string(i), false).ok(), fresh) << i;
    EXPECT_EQ(store_->GetSchedule(schedules[i].id)->version, fresh ? 2 : 1) << i;
  }
}

}  // namespace
}  // namespace sw::store_test
