// Store conformance: runs: creation with every field, idempotency keys, ListRuns filters
// and pages, many runs read at once, and durability across a reopen. See
// store_conformance.h.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

TEST_P(StoreConformanceTest, CreatedRunReadsBackWithAllFields) {
  RunRecord r = NewRun("run_1");
  r.replay_of = "run_0";
  Result<CreateRunResult> created = store_->CreateRun(r, std::nullopt);
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(created->replayed);
  Result<RunRecord> got = store_->GetRun("run_1", true);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->workspace_id, "ws_1");
  EXPECT_EQ(got->workflow_id, "charge");
  EXPECT_EQ(got->workflow_version, 1);
  EXPECT_EQ(got->status, RunStatus::kPending);
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->input, (json{{"user", 42}}));
  EXPECT_EQ(got->trigger, (json{{"kind", "api"}}));
  EXPECT_EQ(got->replay_of, "run_0");
  EXPECT_TRUE(got->pause.is_null());
  EXPECT_TRUE(got->output.is_null());
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_TRUE(got->steps.empty());
  EXPECT_EQ(store_->GetRun("run_9", false).status().code(), StatusCode::kNotFound);
}

// A rerun (control/rerun.h) is created with the steps it copies from the run it reruns,
// in the run's own commit; `copied` is the insert's and later upserts keep it.
TEST_P(StoreConformanceTest, ARerunIsCreatedWithItsCopiedStepsInOneCommit) {
  RunRecord r = NewRun("run_2");
  r.replay_of = "run_1";
  r.replay_from_step = "l[1].c";
  auto row = [](std::string path, std::string type, StepStatus status, bool copied) {
    StepRecord s;
    s.path = path;
    s.step_id = path.substr(path.rfind('.') + 1);
    s.type = std::move(type);
    s.status = status;
    s.attempt = 1;
    s.started_at = kT0 - 10;
    s.finished_at = status == StepStatus::kCompleted ? kT0 - 5 : 0;
    s.output = status == StepStatus::kCompleted ? json{{"from", path}} : json();
    s.detail = json{{"attempts", json::array()}};
    s.copied = copied;
    return s;
  };
  r.steps = {row("a", "noop", StepStatus::kCompleted, true),
             row("l", "loop", StepStatus::kRunning, false),
             row("l[0].c", "http", StepStatus::kCompleted, true)};
  const uint64_t commits_before = store_->GetStats().commits;
  Result<CreateRunResult> created = store_->CreateRun(r, std::nullopt);
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ(store_->GetStats().commits, commits_before + 1);
  Result<RunRecord> got = store_->GetRun("run_2", true);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, RunStatus::kPending);
  EXPECT_EQ(got->replay_of, "run_1");
  EXPECT_EQ(got->replay_from_step, "l[1].c");
  ASSERT_EQ(got->steps.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const StepRecord& s = got->steps[i];
    EXPECT_EQ(s.seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(s.path, r.steps[i].path);
    EXPECT_EQ(s.type, r.steps[i].type);
    EXPECT_EQ(s.status, r.steps[i].status);
    EXPECT_EQ(s.output, r.steps[i].output);
    EXPECT_EQ(s.started_at, kT0 - 10);
    EXPECT_EQ(s.copied, r.steps[i].copied) << s.path;
  }
  // A run made without steps has none, and nothing copied.
  ASSERT_TRUE(store_->CreateRun(NewRun("run_3"), std::nullopt).ok());
  EXPECT_TRUE(store_->GetRun("run_3", true)->steps.empty());
  EXPECT_EQ(store_->GetRun("run_3", false)->replay_from_step, "");

  // The driver goes on: it finishes the loop row and adds a step; `copied` stays as
  // inserted, and a new row is not copied.
  RunTransition t;
  t.run_id = "run_2";
  t.expected_version = 1;
  t.expected_status = RunStatus::kPending;
  t.next_status = RunStatus::kRunning;
  t.started_at = t.now = kT0 + 1;
  t.from_driver = true;
  StepRecord loop_done = row("l", "loop", StepStatus::kCompleted, true);
  t.upsert_steps = {loop_done, row("l[1].c", "http", StepStatus::kCompleted, false)};
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  got = store_->GetRun("run_2", true);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->steps.size(), 4u);
  EXPECT_EQ(got->steps[1].path, "l");
  EXPECT_EQ(got->steps[1].status, StepStatus::kCompleted);
  EXPECT_FALSE(got->steps[1].copied);
  EXPECT_EQ(got->steps[3].path, "l[1].c");
  EXPECT_EQ(got->steps[3].seq, 4);
  EXPECT_FALSE(got->steps[3].copied);
  EXPECT_TRUE(got->steps[0].copied);
}

// CreateRunAsync, waited for (its answer may come on the writer thread).
Result<CreateRunResult> CreateAndWait(Store& store, RunRecord run,
                                      std::optional<IdempotencyKey> key,
                                      std::shared_ptr<RunTransition> first) {
  auto promise = std::make_shared<std::promise<Result<CreateRunResult>>>();
  std::future<Result<CreateRunResult>> answer = promise->get_future();
  store.CreateRunAsync(std::move(run), std::move(key), std::move(first),
                       [promise](Result<CreateRunResult> r) { promise->set_value(std::move(r)); });
  if (answer.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    return Internal("no answer within 10 s");
  }
  return answer.get();
}

TEST_P(StoreConformanceTest, ACreateCarriesTheRunsFirstChangeInItsOwnCommit) {
  // The driver's first change of a run of pure steps: one step and the completion.
  auto first = std::make_shared<RunTransition>();
  first->run_id = "run_1";
  first->expected_version = 1;
  first->expected_status = RunStatus::kPending;
  first->next_status = RunStatus::kCompleted;
  first->output = json{{"ok", true}};
  first->started_at = kT0 + 1;
  first->finished_at = kT0 + 1;
  first->now = kT0 + 1;
  first->from_driver = true;
  StepRecord step;
  step.path = step.step_id = "s0";
  step.type = "noop";
  step.status = StepStatus::kCompleted;
  step.attempt = 1;
  step.started_at = step.finished_at = kT0 + 1;
  step.output = json{{"ok", true}};
  first->upsert_steps.push_back(step);
  const uint64_t commits_before = store_->GetStats().commits;
  Result<CreateRunResult> answer = CreateAndWait(*store_, NewRun("run_1"), std::nullopt, first);
  ASSERT_TRUE(answer.ok()) << answer.status().message();
  EXPECT_EQ(store_->GetStats().commits, commits_before + 1);
  // The answer is the run as created; the store has it as the change left it.
  const RunRecord& answered = answer->run;
  EXPECT_EQ(answered.status, RunStatus::kPending);
  EXPECT_EQ(answered.version, 1);
  EXPECT_TRUE(answered.steps.empty());
  Result<RunRecord> stored = store_->GetRun("run_1", true);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, RunStatus::kCompleted);
  EXPECT_EQ(stored->version, 2);
  EXPECT_EQ(stored->output, (json{{"ok", true}}));
  EXPECT_EQ(stored->started_at, kT0 + 1);
  EXPECT_EQ(stored->finished_at, kT0 + 1);
  EXPECT_EQ(stored->input, (json{{"user", 42}}));
  ASSERT_EQ(stored->steps.size(), 1u);
  EXPECT_EQ(stored->steps[0].path, "s0");
  EXPECT_EQ(stored->steps[0].status, StepStatus::kCompleted);
  EXPECT_EQ(stored->steps[0].output, (json{{"ok", true}}));

  // A repeat of a keyed start answers the first run and applies nothing of its own.
  IdempotencyKey key{"k-1", "hash-a", kT0 - 1000};
  ASSERT_TRUE(store_->CreateRun(NewRun("run_2"), key).ok());
  auto repeat_first = std::make_shared<RunTransition>(*first);
  repeat_first->run_id = "run_3";
  Result<CreateRunResult> repeat = CreateAndWait(*store_, NewRun("run_3"), key, repeat_first);
  ASSERT_TRUE(repeat.ok());
  EXPECT_TRUE(repeat->replayed);
  EXPECT_EQ(repeat->run.id, "run_2");
  EXPECT_EQ(store_->GetRun("run_2", true)->status, RunStatus::kPending);
  EXPECT_EQ(store_->GetRun("run_3", false).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, IdempotencyKeyReplaysConflictsAndExpires) {
  IdempotencyKey key{"k-1", "hash-a", kT0 - 1000};
  Result<CreateRunResult> first = store_->CreateRun(NewRun("run_1"), key);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->replayed);
  EXPECT_EQ(first->run.id, "run_1");

  // Same key, same request: the first run, and no second run is made.
  Result<CreateRunResult> again = store_->CreateRun(NewRun("run_2"), key);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->run.id, "run_1");
  EXPECT_EQ(again->run.status, RunStatus::kPending);
  EXPECT_EQ(store_->GetRun("run_2", false).status().code(), StatusCode::kNotFound);

  // Same key, another request.
  Result<CreateRunResult> conflict =
      store_->CreateRun(NewRun("run_3"), IdempotencyKey{"k-1", "hash-b", kT0 - 1000});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(conflict.status().reason(), "idempotency_conflict");
  EXPECT_EQ(store_->GetRun("run_3", false).status().code(), StatusCode::kNotFound);

  // The same key in another workspace is another key.
  Result<CreateRunResult> other_ws = store_->CreateRun(NewRun("run_4", "ws_2"), key);
  ASSERT_TRUE(other_ws.ok());
  EXPECT_FALSE(other_ws->replayed);

  // Once the key is older than the window it is forgotten: a new run, even for a
  // different request, and the key now names the new run.
  IdempotencyKey later{"k-1", "hash-b", kT0 + 1};
  RunRecord run_5 = NewRun("run_5");
  run_5.created_at = run_5.updated_at = kT0 + 10;
  Result<CreateRunResult> fresh = store_->CreateRun(run_5, later);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_FALSE(fresh->replayed);
  EXPECT_EQ(fresh->run.id, "run_5");
  EXPECT_TRUE(store_->GetRun("run_5", false).ok());
  Result<CreateRunResult> replay_new = store_->CreateRun(NewRun("run_6"), later);
  ASSERT_TRUE(replay_new.ok());
  EXPECT_TRUE(replay_new->replayed);
  EXPECT_EQ(replay_new->run.id, "run_5");
}

TEST_P(StoreConformanceTest, ListRunsFiltersByStatusWorkflowPauseReasonWaitKindAndId) {
  CreateRunning("run_a1", "ws_1", "alpha");  // running
  ASSERT_TRUE(store_->CreateRun(NewRun("run_a2", "ws_1", "alpha"), std::nullopt).ok());
  CreateRunning("run_b1", "ws_1", "beta");
  CreateRunning("run_b2", "ws_1", "beta");
  CreateRunning("run_x1", "ws_2", "alpha");  // another workspace

  RunTransition pause;
  pause.run_id = "run_a1";
  pause.expected_version = 2;
  pause.next_status = RunStatus::kPaused;
  pause.pause = json{{"reason", "operator"}};
  pause.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(pause)).ok());
  RunTransition wait;
  wait.run_id = "run_b1";
  wait.expected_version = 2;
  wait.next_status = RunStatus::kWaiting;
  wait.wait = json{{"kind", "timer"}, {"path", "s"}};
  wait.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(wait)).ok());
  RunTransition wait_event;
  wait_event.run_id = "run_b2";
  wait_event.expected_version = 2;
  wait_event.next_status = RunStatus::kWaiting;
  wait_event.wait = json{{"kind", "event"}, {"path", "w"}};
  wait_event.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(wait_event)).ok());

  auto ids = [&](RunFilter f) {
    Result<RunPage> page = store_->ListRuns("ws_1", f);
    EXPECT_TRUE(page.ok());
    std::vector<std::string> out;
    for (const RunRecord& r : page->items) {
      out.push_back(r.id);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({}), (V{"run_b2", "run_b1", "run_a2", "run_a1"}));
  RunFilter f;
  f.statuses = std::vector<RunStatus>{RunStatus::kWaiting, RunStatus::kPending};
  EXPECT_EQ(ids(f), (V{"run_b2", "run_b1", "run_a2"}));
  f = {};
  f.statuses = std::vector<RunStatus>{RunStatus::kCompleted};
  EXPECT_EQ(ids(f), V{});
  f = {};
  f.workflow_id = "alpha";
  EXPECT_EQ(ids(f), (V{"run_a2", "run_a1"}));
  f = {};
  f.pause_reason = "operator";
  EXPECT_EQ(ids(f), (V{"run_a1"}));
  f = {};
  f.wait_kind = "timer";
  EXPECT_EQ(ids(f), (V{"run_b1"}));
  f = {};
  f.wait_kind = "event";
  f.workflow_id = "beta";
  EXPECT_EQ(ids(f), (V{"run_b2"}));
  f = {};
  f.id_contains = "b";
  EXPECT_EQ(ids(f), (V{"run_b2", "run_b1"}));
  f = {};
  f.id_contains = "A1";  // a substring, case-sensitive
  EXPECT_EQ(ids(f), V{});
  f.id_contains = "a1";
  EXPECT_EQ(ids(f), (V{"run_a1"}));

  // Resuming clears the pause, so the run leaves the pause_reason filter.
  RunTransition resume;
  resume.run_id = "run_a1";
  resume.expected_version = 3;
  resume.next_status = RunStatus::kRunning;
  resume.pause = json();
  resume.now = kT0;
  ASSERT_TRUE(store_->TransitionRun(std::move(resume)).ok());
  f = {};
  f.pause_reason = "operator";
  EXPECT_EQ(ids(f), V{});
}

TEST_P(StoreConformanceTest, ListRunsPagesNewestFirstWithoutDuplicates) {
  constexpr int kRuns = 25;
  std::vector<std::string> all;
  for (int i = 0; i < kRuns; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "run_%03d", i);
    all.push_back(id);
    ASSERT_TRUE(store_->CreateRun(NewRun(id), std::nullopt).ok());
  }
  std::vector<std::string> seen;
  RunFilter f;
  f.limit = 10;
  std::vector<size_t> page_sizes;
  for (int page_no = 0; page_no < 10; ++page_no) {
    Result<RunPage> page = store_->ListRuns("ws_1", f);
    ASSERT_TRUE(page.ok());
    page_sizes.push_back(page->items.size());
    for (const RunRecord& r : page->items) {
      seen.push_back(r.id);
    }
    if (page->next_cursor.empty()) {
      break;
    }
    EXPECT_EQ(page->next_cursor, page->items.back().id);
    f.cursor = page->next_cursor;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5}));
  std::vector<std::string> expected(all.rbegin(), all.rend());
  EXPECT_EQ(seen, expected);

  // A last page that is exactly full has no next cursor.
  f = {};
  f.limit = 5;
  f.cursor = "run_005";
  Result<RunPage> last = store_->ListRuns("ws_1", f);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->items.size(), 5u);
  EXPECT_EQ(last->items.front().id, "run_004");
  EXPECT_EQ(last->items.back().id, "run_000");
  EXPECT_TRUE(last->next_cursor.empty());
}

TEST_P(StoreConformanceTest, ManyRunsAreReadAtOnceWithoutTheMissingOnes) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    RunRecord run = NewRun("run_" + std::to_string(i));
    run.input = json{{"n", i}};
    ASSERT_TRUE(store_->CreateRun(run, std::nullopt).ok());
    ids.push_back(run.id);
  }
  RunTransition started;
  started.run_id = "run_3";
  started.expected_version = 1;
  started.next_status = RunStatus::kRunning;
  started.now = kT0 + 1;
  ASSERT_TRUE(store_->TransitionRun(started).ok());  // running, version 2
  // Five of them (not a power of two), one twice, one that does not exist.
  std::vector<std::string> asked = ids;
  asked.push_back("run_1");
  asked.push_back("run_nope");
  Result<std::vector<RunRecord>> runs = store_->GetRuns(asked);
  ASSERT_TRUE(runs.ok()) << runs.status().message();
  std::map<std::string, RunRecord> by_id;
  for (const RunRecord& run : *runs) {
    by_id[run.id] = run;
  }
  EXPECT_EQ(runs->size(), 5u);
  ASSERT_EQ(by_id.size(), 5u);
  EXPECT_EQ(by_id["run_2"].input, (json{{"n", 2}}));
  EXPECT_EQ(by_id["run_3"].status, RunStatus::kRunning);
  EXPECT_EQ(by_id["run_3"].version, 2);
  EXPECT_EQ(by_id["run_0"].status, RunStatus::kPending);

  Result<std::vector<std::pair<std::string, RunStatus>>> statuses = store_->GetRunStatuses(asked);
  ASSERT_TRUE(statuses.ok()) << statuses.status().message();
  std::map<std::string, RunStatus> status_of(statuses->begin(), statuses->end());
  EXPECT_EQ(statuses->size(), 5u);
  EXPECT_EQ(status_of, (std::map<std::string, RunStatus>{{"run_0", RunStatus::kPending},
                                                         {"run_1", RunStatus::kPending},
                                                         {"run_2", RunStatus::kPending},
                                                         {"run_3", RunStatus::kRunning},
                                                         {"run_4", RunStatus::kPending}}));
  EXPECT_TRUE(store_->GetRuns({})->empty());
  EXPECT_TRUE(store_->GetRunStatuses({"run_nope"})->empty());
}

TEST_P(StoreConformanceTest, EverythingSurvivesReopen) {
  ASSERT_TRUE(store_->CreateWorkspace({"ws_1", "acme", kT0}).ok());
  ASSERT_TRUE(
      store_->CreateToken({"tok_1", "ws_1", "admin", Role::kAdmin, "h1", kT0, 0}, std::nullopt)
          .ok());
  ASSERT_TRUE(store_->CreateSession("s-1", "tok_1", kT0 + 1000).ok());
  WorkflowRecord wf;
  wf.workspace_id = "ws_1";
  wf.id = "charge";
  wf.kind = "workflow";
  wf.mode = "standard";
  wf.definition = json{{"v", 1}};
  ASSERT_TRUE(store_->PutWorkflow(wf, MakeAudit("aud_1", "ws_1", "workflow.apply", "charge")).ok());
  wf.definition = json{{"v", 2}};
  ASSERT_TRUE(store_->PutWorkflow(wf, MakeAudit("aud_2", "ws_1", "workflow.apply", "charge")).ok());
  ASSERT_TRUE(store_->CreateRun(NewRun("run_1"), IdempotencyKey{"k", "h", 0}).ok());
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 1;
  t.next_status = RunStatus::kWaiting;
  t.wait = json{{"kind", "timer"}, {"path", "s"}};
  StepRecord a = MakeStep("a", StepStatus::kCompleted, 1, kT0);
  a.output = json{{"body", "ok"}};
  t.upsert_steps = {a, MakeStep("s", StepStatus::kWaiting, 1, kT0 + 1)};
  t.add_timers = {{"run_1", TimerKind::kWake, "s", kT0 + 60'000}};
  t.audit = MakeAudit("aud_3", "ws_1", "run.start", "run_1");
  t.now = kT0 + 1;
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  ASSERT_TRUE(store_->BufferEvent("run_1", 2, {0, "run_1", "go", json{{"n", 1}}, kT0 + 2}).ok());

  Reopen();
  Reopen();  // migrations run again on an up-to-date database: a no-op

  EXPECT_EQ(store_->FindWorkspaceBySlug("acme")->id, "ws_1");
  EXPECT_EQ(store_->FindTokenByHash("h1")->id, "tok_1");
  EXPECT_EQ(store_->FindSessionToken("s-1", kT0)->id, "tok_1");
  Result<WorkflowRecord> got_wf = store_->GetWorkflow("ws_1", "charge");
  ASSERT_TRUE(got_wf.ok());
  EXPECT_EQ(got_wf->version, 2);
  EXPECT_EQ(got_wf->definition, (json{{"v", 2}}));
  EXPECT_EQ(*store_->GetDefinition("ws_1", "charge", 1), (json{{"v", 1}}));
  Result<RunRecord> run = store_->GetRun("run_1", true);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kWaiting);
  EXPECT_EQ(run->version, 3);
  EXPECT_EQ(run->wait["kind"], "timer");
  ASSERT_EQ(run->steps.size(), 2u);
  EXPECT_EQ(run->steps[0].output, (json{{"body", "ok"}}));
  EXPECT_EQ(run->steps[1].status, StepStatus::kWaiting);
  RunFilter f;
  f.wait_kind = "timer";
  EXPECT_EQ(store_->ListRuns("ws_1", f)->items.size(), 1u);
  Result<std::vector<TimerRecord>> timers = store_->DueTimers(kT0 + 1'000'000, 10);
  ASSERT_EQ(timers->size(), 1u);
  EXPECT_EQ((*timers)[0].due_at, kT0 + 60'000);
  EXPECT_EQ((*store_->FindBufferedEvent("run_1", "go"))->payload, (json{{"n", 1}}));
  EXPECT_EQ(store_->ListAudit("ws_1", "", "", 10)->size(), 3u);
  Result<CreateRunResult> replay = store_->CreateRun(NewRun("run_2"), IdempotencyKey{"k", "h", 0});
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->run.id, "run_1");
}

}  // namespace
}  // namespace sw::store_test
