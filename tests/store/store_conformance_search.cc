// Store conformance: run search (the filters of ListRuns by version, time, error code,
// actor, input/output fields and run ids, combined and paged) and retention (its
// settings, and DeleteExpiredRuns by age and count with every row of a deleted run,
// sparing unfinished runs and the runs tied to them). See store_conformance.h.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/operation_store.h"
#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

std::vector<std::string> Ids(Store& store, RunFilter f, const std::string& ws = "ws_1") {
  Result<RunPage> page = store.ListRuns(ws, f);
  EXPECT_TRUE(page.ok()) << page.status().message();
  std::vector<std::string> ids;
  for (const RunRecord& r : page.ok() ? page->items : std::vector<RunRecord>{}) {
    ids.push_back(r.id);
  }
  return ids;
}

RunJsonMatch Match(RunJsonMatch::Field field, std::vector<std::string> keys, json value) {
  return RunJsonMatch{field, std::move(keys), std::move(value)};
}

constexpr auto kInput = RunJsonMatch::Field::kInput;
constexpr auto kOutput = RunJsonMatch::Field::kOutput;

TEST_P(StoreConformanceTest, ListRunsFiltersByVersionTimesErrorCodeActorAndFields) {
  RunRecord r1 = NewRun("run_1");
  r1.input = json{{"customer", {{"id", 42}}}, {"tier", "gold"}, {"flag", 1}};
  r1.trigger = json{{"kind", "api"}, {"actor", "token:alice"}};
  r1.status = RunStatus::kCompleted;
  r1.output = json{{"ok", true}, {"n", 1.0}};
  r1.finished_at = kT0 + 100;
  RunRecord r2 = NewRun("run_2");
  r2.workflow_version = 2;
  r2.created_at = r2.updated_at = kT0 + 10;
  r2.input = json{{"customer", {{"id", "42"}}}, {"flag", true}};
  r2.trigger = json{{"kind", "api"}, {"actor", "token:bob"}};
  r2.status = RunStatus::kFailed;
  r2.error = json{{"message", "it broke"}, {"code", "boom"}};
  r2.finished_at = kT0 + 200;
  RunRecord r3 = NewRun("run_3");
  r3.workflow_version = 2;
  r3.created_at = r3.updated_at = kT0 + 20;
  r3.input = json{{"customer", {{"id", 43}}}};
  r3.trigger = json{{"kind", "api"}, {"actor", "token:alice"}};
  r3.status = RunStatus::kRunning;
  RunRecord other = r1;  // another workspace: never answered for ws_1
  other.id = "run_4";
  other.workspace_id = "ws_2";
  for (const RunRecord& r : {r1, r2, r3, other}) {
    ASSERT_TRUE(store_->CreateRun(r, std::nullopt).ok());
  }
  using V = std::vector<std::string>;
  RunFilter f;
  EXPECT_EQ(Ids(*store_, f), (V{"run_3", "run_2", "run_1"}));
  f.workflow_version = 2;
  EXPECT_EQ(Ids(*store_, f), (V{"run_3", "run_2"}));
  f = {};
  f.created_after = kT0 + 10;  // inclusive
  EXPECT_EQ(Ids(*store_, f), (V{"run_3", "run_2"}));
  f = {};
  f.created_before = kT0 + 10;  // exclusive
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f = {};
  f.finished_after = kT0 + 100;  // unfinished runs never match
  EXPECT_EQ(Ids(*store_, f), (V{"run_2", "run_1"}));
  f.finished_before = kT0 + 150;
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f = {};
  f.error_code = "boom";
  EXPECT_EQ(Ids(*store_, f), (V{"run_2"}));
  f.error_code = "other";
  EXPECT_EQ(Ids(*store_, f), V{});
  f = {};
  f.actor = "token:alice";
  EXPECT_EQ(Ids(*store_, f), (V{"run_3", "run_1"}));
  EXPECT_EQ(Ids(*store_, f, "ws_2"), (V{"run_4"}));

  // JSON fields match a scalar with its type.
  f = {};
  f.json_matches = {Match(kInput, {"customer", "id"}, 42)};
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f.json_matches = {Match(kInput, {"customer", "id"}, "42")};
  EXPECT_EQ(Ids(*store_, f), (V{"run_2"}));
  f.json_matches = {Match(kInput, {"flag"}, true)};
  EXPECT_EQ(Ids(*store_, f), (V{"run_2"}));
  f.json_matches = {Match(kInput, {"flag"}, 1)};
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f.json_matches = {Match(kInput, {"tier"}, "gold")};
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f.json_matches = {Match(kInput, {"customer"}, "gold")};
  EXPECT_EQ(Ids(*store_, f), V{});
  f.json_matches = {Match(kInput, {"missing"}, nullptr)};
  EXPECT_EQ(Ids(*store_, f), V{});
  f.json_matches = {Match(kOutput, {"ok"}, true)};
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f.json_matches = {Match(kOutput, {"n"}, 1)};  // 1 is 1.0
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f.json_matches = {Match(kOutput, {"n"}, "1")};
  EXPECT_EQ(Ids(*store_, f), V{});

  // Combined (AND) with each other and with the filters before them, and paged.
  f = {};
  f.actor = "token:alice";
  f.workflow_version = 2;
  EXPECT_EQ(Ids(*store_, f), (V{"run_3"}));
  f.statuses = std::vector<RunStatus>{RunStatus::kCompleted};
  EXPECT_EQ(Ids(*store_, f), V{});
  f = {};
  f.actor = "token:alice";
  f.json_matches = {Match(kInput, {"customer", "id"}, 42)};
  f.statuses = std::vector<RunStatus>{RunStatus::kCompleted};
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f = {};
  f.actor = "token:alice";
  f.limit = 1;
  Result<RunPage> first = store_->ListRuns("ws_1", f);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->items.size(), 1u);
  EXPECT_EQ(first->items[0].id, "run_3");
  EXPECT_EQ(first->next_cursor, "run_3");
  f.cursor = first->next_cursor;
  Result<RunPage> second = store_->ListRuns("ws_1", f);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].id, "run_1");
  EXPECT_EQ(second->next_cursor, "");
}

// The field index (store/sql/run_fields.h) answers as the runs' JSON would: for an
// output written by a later transition (and written again), for runs over its limits
// (searched by their JSON), and for several fields at once.
TEST_P(StoreConformanceTest, ListRunsFieldFiltersHoldForLaterOutputsAndRunsOverTheIndexLimits) {
  using V = std::vector<std::string>;
  CreateRunning("run_1");  // output written by the transition below
  RunTransition done;
  done.run_id = "run_1";
  done.expected_version = 2;
  done.now = kT0 + 1;
  done.next_status = RunStatus::kCompleted;
  done.finished_at = kT0 + 1;
  done.output = json{{"total", 12.5}, {"lines", {{"count", 3}}}, {"tags", {"a", "b"}}};
  ASSERT_TRUE(store_->TransitionRun(std::move(done)).ok());

  RunRecord wide = NewRun("run_2");  // more members than the index takes
  for (int i = 0; i < 40; ++i) {
    wide.input["k" + std::to_string(i)] = i;
  }
  wide.input["region"] = "eu";
  RunRecord deep = NewRun("run_3");  // a string longer than the index takes
  deep.input = json{{"note", std::string(1000, 'x')}, {"region", "eu"}, {"k1", 1}};
  RunRecord plain = NewRun("run_4");
  plain.input = json{{"region", "eu"}, {"k1", 2}, {"dotted.key", 1}, {"list", {1, 2}}};
  for (const RunRecord& r : {wide, deep, plain}) {
    ASSERT_TRUE(store_->CreateRun(r, std::nullopt).ok());
  }

  RunFilter f;
  f.json_matches = {Match(kOutput, {"total"}, 12.5)};
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f.json_matches = {Match(kOutput, {"lines", "count"}, 3.0)};  // 3.0 is 3
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f.json_matches = {Match(kOutput, {"tags"}, "a")};  // arrays hold no fields
  EXPECT_EQ(Ids(*store_, f), V{});
  f.json_matches = {Match(kInput, {"region"}, "eu")};
  EXPECT_EQ(Ids(*store_, f), (V{"run_4", "run_3", "run_2"}));
  f.json_matches = {Match(kInput, {"k1"}, 1)};
  EXPECT_EQ(Ids(*store_, f), (V{"run_3", "run_2"}));
  f.json_matches = {Match(kInput, {"note"}, std::string(1000, 'x'))};
  EXPECT_EQ(Ids(*store_, f), (V{"run_3"}));
  f.json_matches = {Match(kInput, {"k39"}, 39), Match(kInput, {"region"}, "eu")};
  EXPECT_EQ(Ids(*store_, f), (V{"run_2"}));
  f.json_matches = {Match(kInput, {"region"}, "eu"), Match(kInput, {"k1"}, 2)};
  EXPECT_EQ(Ids(*store_, f), (V{"run_4"}));
  f.json_matches = {Match(kInput, {"region"}, "eu"), Match(kInput, {"k1"}, 3)};
  EXPECT_EQ(Ids(*store_, f), V{});
  f.statuses = std::vector<RunStatus>{RunStatus::kPending};
  f.json_matches = {Match(kInput, {"k1"}, 1), Match(kInput, {"region"}, "eu")};
  EXPECT_EQ(Ids(*store_, f), (V{"run_3", "run_2"}));
  EXPECT_EQ(*dynamic_cast<OperationStore&>(*store_).CountRuns("ws_1", f), 2);
  f = {};
  f.json_matches = {Match(kInput, {"region"}, "eu")};
  EXPECT_EQ(Ids(*store_, f, "ws_2"), V{});

  // Paged: the cursor holds for indexed runs (run_4) and the others (run_3, run_2).
  f.limit = 1;
  V paged;
  do {
    Result<RunPage> page = store_->ListRuns("ws_1", f);
    ASSERT_TRUE(page.ok()) << page.status().message();
    ASSERT_EQ(page->items.size(), 1u);
    paged.push_back(page->items[0].id);
    f.cursor = page->next_cursor;
  } while (!f.cursor.empty() && paged.size() < 5);
  EXPECT_EQ(paged, (V{"run_4", "run_3", "run_2"}));
}

TEST_P(StoreConformanceTest, ListRunsByRunIdsAnswersExactlyThoseOfTheWorkspace) {
  for (const char* id : {"run_1", "run_2", "run_3"}) {
    ASSERT_TRUE(store_->CreateRun(NewRun(id), std::nullopt).ok());
  }
  ASSERT_TRUE(store_->CreateRun(NewRun("run_4", "ws_2"), std::nullopt).ok());
  using V = std::vector<std::string>;
  RunFilter f;
  // Another workspace's run and an id no run has are not answered; order is the list's.
  f.run_ids = V{"run_1", "run_4", "run_9", "run_3"};
  EXPECT_EQ(Ids(*store_, f), (V{"run_3", "run_1"}));
  EXPECT_EQ(Ids(*store_, f, "ws_2"), (V{"run_4"}));
  f.run_ids = V{"run_2"};
  EXPECT_EQ(Ids(*store_, f), (V{"run_2"}));
  f.run_ids = V{};
  EXPECT_EQ(Ids(*store_, f), V{});
  // Combined with the other filters and paged.
  f.run_ids = V{"run_1", "run_2", "run_3"};
  f.statuses = std::vector<RunStatus>{RunStatus::kPending};
  f.limit = 2;
  Result<RunPage> first = store_->ListRuns("ws_1", f);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->items.size(), 2u);
  EXPECT_EQ(first->next_cursor, "run_2");
  f.cursor = first->next_cursor;
  EXPECT_EQ(Ids(*store_, f), (V{"run_1"}));
  f = {};
  f.run_ids = V{"run_1"};
  f.statuses = std::vector<RunStatus>{RunStatus::kCompleted};
  EXPECT_EQ(Ids(*store_, f), V{});
  // A long list (the most the API takes), whose one match is its last id.
  f = {};
  f.run_ids = V{};
  for (int i = 0; i < 499; ++i) {
    f.run_ids->push_back("run_x" + std::to_string(i));
  }
  f.run_ids->push_back("run_2");
  EXPECT_EQ(Ids(*store_, f), (V{"run_2"}));
}

TEST_P(StoreConformanceTest, RetentionSettingsReadBackPerWorkspace) {
  Result<RetentionSettings> none = store_->GetRetention("ws_1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->max_age_ms);
  EXPECT_FALSE(none->max_count);
  ASSERT_TRUE(store_
                  ->PutRetention("ws_1", {86'400'000, 10},
                                 MakeAudit("aud_1", "ws_1", "retention.update", "retention"))
                  .ok());
  Result<RetentionSettings> set = store_->GetRetention("ws_1");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->max_age_ms, 86'400'000);
  EXPECT_EQ(set->max_count, 10);
  EXPECT_FALSE(store_->GetRetention("ws_2")->max_count);
  ASSERT_TRUE(store_
                  ->PutRetention("ws_1", {std::nullopt, 3},
                                 MakeAudit("aud_2", "ws_1", "retention.update", "retention"))
                  .ok());
  set = store_->GetRetention("ws_1");
  EXPECT_FALSE(set->max_age_ms);
  EXPECT_EQ(set->max_count, 3);
  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "retention", "", 10);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 2u);
}

// A run created at kT0 and finished (completed) at `finished_at`.
RunRecord Finished(RunRecord r, int64_t finished_at) {
  r.status = RunStatus::kCompleted;
  r.finished_at = finished_at;
  return r;
}

TEST_P(StoreConformanceTest, DeleteExpiredRunsByAgeDeletesTheRunAndEverythingItOwns) {
  // run_old: steps, a buffered event and an idempotency key, then completed at kT0 + 10.
  const IdempotencyKey key{"k-1", "hash-a", kT0 - 1000};
  RunRecord old = NewRun("run_old");
  old.input = json{{"tier", "gold"}};
  ASSERT_TRUE(store_->CreateRun(old, key).ok());
  RunTransition start;
  start.run_id = "run_old";
  start.expected_version = 1;
  start.next_status = RunStatus::kRunning;
  start.now = kT0;
  start.upsert_steps = {MakeStep("fetch", StepStatus::kCompleted)};
  ASSERT_TRUE(store_->TransitionRun(start).ok());
  ASSERT_TRUE(store_->BufferEvent("run_old", 2, {0, "run_old", "go", json{{"n", 1}}, kT0}).ok());
  RunTransition end;
  end.run_id = "run_old";
  end.expected_version = 3;
  end.next_status = RunStatus::kCompleted;
  end.finished_at = kT0 + 10;
  end.now = kT0 + 10;
  end.upsert_steps = {MakeStep("last", StepStatus::kCompleted)};
  ASSERT_TRUE(store_->TransitionRun(end).ok());
  ASSERT_EQ(store_->GetRun("run_old", true)->steps.size(), 2u);

  ASSERT_TRUE(store_->CreateRun(Finished(NewRun("run_recent"), kT0 + 10'000), std::nullopt).ok());
  CreateRunning("run_live");  // created at kT0, never finished
  ASSERT_TRUE(store_->CreateRun(Finished(NewRun("run_other_ws", "ws_2"), kT0), std::nullopt).ok());

  // Nothing without a retention.
  Result<RetentionBatch> none = store_->DeleteExpiredRuns(kT0 + 100'000, 10);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(none->deleted, 0);

  ASSERT_TRUE(store_
                  ->PutRetention("ws_1", {1000, std::nullopt},
                                 MakeAudit("aud_1", "ws_1", "retention.update", "retention"))
                  .ok());
  // At kT0 + 1010 run_old is exactly 1000 ms old: kept.
  EXPECT_EQ(store_->DeleteExpiredRuns(kT0 + 1010, 10)->deleted, 0);
  {
    std::lock_guard lock(changed_mu_);
    changed_.clear();
  }
  Result<RetentionBatch> swept = store_->DeleteExpiredRuns(kT0 + 5000, 10);
  ASSERT_TRUE(swept.ok()) << swept.status().message();
  EXPECT_EQ(swept->deleted, 1);
  EXPECT_FALSE(swept->more);
  EXPECT_EQ(Changed(), (std::set<std::string>{"run_old"}));
  EXPECT_EQ(store_->GetRun("run_old", false).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetRun("run_recent", false).ok());
  EXPECT_TRUE(store_->GetRun("run_live", false).ok());
  EXPECT_TRUE(store_->GetRun("run_other_ws", false).ok());
  // Its event, key and steps went with it: a new run under its id and key starts empty.
  EXPECT_FALSE(store_->FindBufferedEvent("run_old", "go")->has_value());
  Result<CreateRunResult> again = store_->CreateRun(NewRun("run_old"), key);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->replayed);
  EXPECT_TRUE(store_->GetRun("run_old", true)->steps.empty());
  // And so did its input's search fields.
  RunFilter gold;
  gold.json_matches = {Match(kInput, {"tier"}, "gold")};
  EXPECT_EQ(Ids(*store_, gold), std::vector<std::string>{});
}

TEST_P(StoreConformanceTest, DeleteExpiredRunsByCountKeepsTheNewestFinishedInBatches) {
  for (int i = 1; i <= 5; ++i) {
    RunRecord r = Finished(NewRun("run_" + std::to_string(i)), kT0 + i);
    r.status = i == 2 ? RunStatus::kFailed : i == 3 ? RunStatus::kCancelled : r.status;
    ASSERT_TRUE(store_->CreateRun(r, std::nullopt).ok());
  }
  CreateRunning("run_0");  // unfinished: not counted, never deleted
  ASSERT_TRUE(store_
                  ->PutRetention("ws_1", {std::nullopt, 2},
                                 MakeAudit("aud_1", "ws_1", "retention.update", "retention"))
                  .ok());
  Result<RetentionBatch> first = store_->DeleteExpiredRuns(kT0, 2);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->deleted, 2);
  EXPECT_TRUE(first->more);
  Result<RetentionBatch> second = store_->DeleteExpiredRuns(kT0, 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->deleted, 1);
  EXPECT_FALSE(second->more);
  EXPECT_EQ(Ids(*store_, RunFilter{}), (std::vector<std::string>{"run_5", "run_4", "run_0"}));
  EXPECT_EQ(store_->DeleteExpiredRuns(kT0, 2)->deleted, 0);
}

TEST_P(StoreConformanceTest, DeleteExpiredRunsKeepsRunsWhoseParentOrChildIsUnfinished) {
  // parent_a finished, its child still running; child_b finished, its parent running.
  ASSERT_TRUE(store_->CreateRun(Finished(NewRun("run_parent_a"), kT0), std::nullopt).ok());
  RunRecord child_a = NewRun("run_child_a");
  child_a.parent_run_id = "run_parent_a";
  child_a.status = RunStatus::kRunning;
  ASSERT_TRUE(store_->CreateRun(child_a, std::nullopt).ok());
  RunRecord parent_b = NewRun("run_parent_b");
  parent_b.status = RunStatus::kWaiting;
  ASSERT_TRUE(store_->CreateRun(parent_b, std::nullopt).ok());
  RunRecord child_b = Finished(NewRun("run_child_b"), kT0);
  child_b.parent_run_id = "run_parent_b";
  ASSERT_TRUE(store_->CreateRun(child_b, std::nullopt).ok());
  ASSERT_TRUE(store_
                  ->PutRetention("ws_1", {1, 0},
                                 MakeAudit("aud_1", "ws_1", "retention.update", "retention"))
                  .ok());
  EXPECT_EQ(store_->DeleteExpiredRuns(kT0 + 1000, 10)->deleted, 0);

  // Once the child ends, both go (the child at once: its parent is finished).
  RunTransition end;
  end.run_id = "run_child_a";
  end.expected_version = 1;
  end.next_status = RunStatus::kCompleted;
  end.finished_at = kT0 + 1;
  end.now = kT0 + 1;
  ASSERT_TRUE(store_->TransitionRun(end).ok());
  EXPECT_EQ(store_->DeleteExpiredRuns(kT0 + 1000, 10)->deleted, 2);
  EXPECT_EQ(store_->GetRun("run_parent_a", false).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->GetRun("run_child_b", false).ok());
  EXPECT_TRUE(store_->GetRun("run_parent_b", false).ok());
}

}  // namespace
}  // namespace sw::store_test
