// Store conformance: approvals and forms ("human tasks") and magic links. A task is
// written only with its run's transition, created or changed as a compare-and-set on
// its version; a run that ends closes its open tasks in the same commit; the inbox
// lists open tasks first; a link is used once. See store_conformance.h.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/approval.h"
#include "core/form.h"
#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

// A task of `run_id` in ws_1. An approval's body is a real approval's stored form, so
// core/approval.h can read what the store writes.
HumanTaskRecord MakeHumanTask(const std::string& id, const std::string& kind,
                              const std::string& run_id, const std::string& status,
                              const std::string& workspace_id = "ws_1") {
  HumanTaskRecord t;
  t.id = id;
  t.kind = kind;
  t.workspace_id = workspace_id;
  t.workflow_id = "charge";
  t.run_id = run_id;
  t.path = "gate";
  t.step_id = "gate";
  t.status = status;
  if (kind == "approval") {
    Result<ApprovalPolicy> p = ApprovalPolicy::Parse({{"message", "Refund?"}});
    EXPECT_TRUE(p.ok());
    t.body = Approval::Open(*p, kT0).ToJson();
  } else {
    Result<FormPolicy> p =
        FormPolicy::Parse({{"message", "How much?"}, {"schema", json::object()}});
    EXPECT_TRUE(p.ok());
    t.body = Form::Open(*p, kT0).ToJson();
  }
  t.expires_at = kT0 + 3'600'000;
  t.created_at = kT0;
  return t;
}

// The run's transition to waiting on `task`, which it creates.
RunTransition ParkOn(const RunRecord& run, const HumanTaskRecord& task, int64_t now = kT0 + 1) {
  RunTransition t;
  t.run_id = run.id;
  t.expected_version = run.version;
  t.expected_status = run.status;
  t.next_status = RunStatus::kWaiting;
  t.wait = json{{"kind", task.kind}, {"step_id", task.step_id}};
  t.now = now;
  t.human_task = HumanTaskWrite{task, 0};
  return t;
}

// Writes `task` (created when expected_version is 0) with a version-only transition of
// its run.
Result<int64_t> Write(Store& store, const HumanTaskRecord& task, int64_t expected_version,
                      int64_t now = kT0 + 2) {
  Result<RunRecord> run = store.GetRun(task.run_id, false);
  EXPECT_TRUE(run.ok()) << task.run_id;
  RunTransition t;
  t.run_id = task.run_id;
  t.expected_version = run.ok() ? run->version : 0;
  t.now = now;
  t.human_task = HumanTaskWrite{task, expected_version};
  return store.TransitionRun(std::move(t));
}

HumanTaskRecord Get(Store& store, const std::string& id) {
  Result<HumanTaskRecord> t = store.GetHumanTask(id);
  EXPECT_TRUE(t.ok()) << id << ": " << t.status().message();
  return t.ok() ? *t : HumanTaskRecord{};
}

// `task` as the commit that ended its run at `now` for `reason` left it: in `status`,
// at its second version, with a resolution that says so.
void ExpectClosedByTheRun(const HumanTaskRecord& task, const std::string& status, int64_t now,
                          const std::string& reason) {
  EXPECT_EQ(task.status, status);
  EXPECT_EQ(task.version, 2);
  EXPECT_EQ(task.updated_at, now);
  ASSERT_TRUE(task.resolution.is_object()) << task.resolution.dump();
  EXPECT_EQ(task.resolution.value("status", ""), status);
  EXPECT_EQ(task.resolution.value("at", int64_t{0}), now);
  EXPECT_EQ(task.resolution.value("reason", ""), reason);
}

RunRecord ReadRun(Store& store, const std::string& id) {
  Result<RunRecord> r = store.GetRun(id, true);
  EXPECT_TRUE(r.ok()) << id;
  return r.ok() ? *r : RunRecord{};
}

std::vector<std::string> Ids(Store& store, const std::string& workspace_id,
                             const HumanTaskFilter& filter) {
  Result<HumanTaskPage> page = store.ListHumanTasks(workspace_id, filter);
  EXPECT_TRUE(page.ok()) << page.status().message();
  std::vector<std::string> ids;
  if (page.ok()) {
    for (const HumanTaskRecord& t : page->items) {
      ids.push_back(t.id);
    }
  }
  return ids;
}

TEST_P(StoreConformanceTest, AHumanTaskIsCreatedWithItsRunsTransition) {
  RunRecord run = CreateRunning("run_1");
  HumanTaskRecord task = MakeHumanTask("apr_1", "approval", "run_1", "pending");
  task.version = 7;     // the store sets it
  task.updated_at = 3;  // and this
  Result<int64_t> v = store_->TransitionRun(ParkOn(run, task, kT0 + 5));
  ASSERT_TRUE(v.ok()) << v.status().message();

  Result<HumanTaskRecord> got = store_->GetHumanTask("apr_1");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->id, "apr_1");
  EXPECT_EQ(got->kind, "approval");
  EXPECT_EQ(got->workspace_id, "ws_1");
  EXPECT_EQ(got->workflow_id, "charge");
  EXPECT_EQ(got->run_id, "run_1");
  EXPECT_EQ(got->path, "gate");
  EXPECT_EQ(got->step_id, "gate");
  EXPECT_EQ(got->status, "pending");
  EXPECT_EQ(got->version, 1);
  EXPECT_EQ(got->body, task.body);
  EXPECT_TRUE(got->resolution.is_null());
  EXPECT_EQ(got->expires_at, kT0 + 3'600'000);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_EQ(got->updated_at, kT0 + 5);
  Result<RunRecord> parked = store_->GetRun("run_1", false);
  EXPECT_EQ(parked->status, RunStatus::kWaiting);
  EXPECT_EQ(parked->version, *v);

  Result<HumanTaskRecord> missing = store_->GetHumanTask("apr_404");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  // A transition that loses its run's compare-and-set creates no task.
  CreateRunning("run_2");
  RunRecord stale = *store_->GetRun("run_2", false);
  --stale.version;
  Result<int64_t> lost =
      store_->TransitionRun(ParkOn(stale, MakeHumanTask("frm_1", "form", "run_2", "open")));
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted);
  EXPECT_EQ(store_->GetHumanTask("frm_1").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, AHumanTaskChangeIsACompareAndSetOnItsVersion) {
  RunRecord run = CreateRunning("run_1");
  HumanTaskRecord task = MakeHumanTask("apr_1", "approval", "run_1", "pending");
  ASSERT_TRUE(store_->TransitionRun(ParkOn(run, task)).ok());
  run = *store_->GetRun("run_1", false);

  // An escalation: still pending, a new body and expiry.
  HumanTaskRecord escalated = Get(*store_, "apr_1");
  escalated.body["escalated"] = true;
  escalated.expires_at = kT0 + 7'200'000;
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = run.version;
  t.now = kT0 + 10;
  t.human_task = HumanTaskWrite{escalated, 1};
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  HumanTaskRecord got = Get(*store_, "apr_1");
  EXPECT_EQ(got.version, 2);
  EXPECT_EQ(got.status, "pending");
  EXPECT_EQ(got.body, escalated.body);
  EXPECT_EQ(got.expires_at, kT0 + 7'200'000);
  EXPECT_EQ(got.updated_at, kT0 + 10);
  EXPECT_EQ(got.created_at, kT0);
  run = *store_->GetRun("run_1", false);

  // A decision made on version 1 lost the race: neither it nor the run's change commits.
  HumanTaskRecord approved = task;
  approved.status = "approved";
  approved.resolution = json{{"status", "approved"}, {"at", kT0 + 20}, {"reason", "1 of 1"}};
  RunTransition wake = WakeWithStepResult(run, MakeStep("gate", StepStatus::kCompleted), kT0 + 20);
  wake.human_task = HumanTaskWrite{approved, 1};
  wake.audit = MakeAudit("aud_1", "ws_1", "approval.decide", "apr_1");
  Result<int64_t> lost = store_->TransitionRun(std::move(wake));
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted) << lost.status().message();
  EXPECT_EQ(lost.status().reason(), "state_changed");
  EXPECT_EQ(Get(*store_, "apr_1").version, 2);
  EXPECT_EQ(Get(*store_, "apr_1").status, "pending");
  EXPECT_TRUE(Get(*store_, "apr_1").resolution.is_null());
  RunRecord after = ReadRun(*store_, "run_1");
  EXPECT_EQ(after.version, run.version);
  EXPECT_EQ(after.status, RunStatus::kWaiting);
  EXPECT_EQ(FindStep(after, "gate"), nullptr);
  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "apr_1", "", 10);
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->empty());

  // The same decision on the current version commits with the run's change.
  wake = WakeWithStepResult(run, MakeStep("gate", StepStatus::kCompleted), kT0 + 30);
  wake.human_task = HumanTaskWrite{approved, 2};
  ASSERT_TRUE(store_->TransitionRun(std::move(wake)).ok());
  got = Get(*store_, "apr_1");
  EXPECT_EQ(got.version, 3);
  EXPECT_EQ(got.status, "approved");
  EXPECT_EQ(got.resolution, approved.resolution);
  EXPECT_EQ(got.updated_at, kT0 + 30);
  after = ReadRun(*store_, "run_1");
  EXPECT_EQ(after.status, RunStatus::kRunning);
  EXPECT_NE(FindStep(after, "gate"), nullptr);

  // A change of a task that does not exist is lost too.
  HumanTaskRecord ghost = MakeHumanTask("apr_404", "approval", "run_1", "approved");
  EXPECT_EQ(Write(*store_, ghost, 1).status().code(), StatusCode::kAborted);
  EXPECT_EQ(store_->GetHumanTask("apr_404").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, ARunThatEndsClosesItsOpenTasksAndLeavesDecidedOnes) {
  struct Ending {
    std::string run;
    RunStatus status;
    std::string reason;
  };
  const std::vector<Ending> endings = {{"run_c", RunStatus::kCancelled, "run cancelled"},
                                       {"run_f", RunStatus::kFailed, "run failed"},
                                       {"run_d", RunStatus::kCompleted, "run completed"}};
  // Each run waits with an open approval and form, and an approval decided earlier.
  for (const Ending& e : endings) {
    RunRecord run = CreateRunning(e.run);
    HumanTaskRecord decided = MakeHumanTask("apr_1" + e.run, "approval", e.run, "approved");
    decided.resolution = json{
        {"status", "approved"}, {"at", kT0 + 1}, {"reason", "1 of 1 approved"}, {"proceed", false}};
    ASSERT_TRUE(store_->TransitionRun(ParkOn(run, decided)).ok());
    ASSERT_TRUE(
        Write(*store_, MakeHumanTask("apr_2" + e.run, "approval", e.run, "pending"), 0).ok());
    ASSERT_TRUE(Write(*store_, MakeHumanTask("frm_1" + e.run, "form", e.run, "open"), 0).ok());
  }
  RunRecord bystander = CreateRunning("run_b");
  ASSERT_TRUE(
      store_
          ->TransitionRun(ParkOn(bystander, MakeHumanTask("apr_b", "approval", "run_b", "pending")))
          .ok());

  int64_t now = kT0 + 100;
  for (const Ending& e : endings) {
    SCOPED_TRACE(e.reason);
    now += 10;
    const HumanTaskRecord decided_before = Get(*store_, "apr_1" + e.run);
    RunRecord run = ReadRun(*store_, e.run);
    RunTransition t;
    if (e.status == RunStatus::kCancelled) {
      t = CancelTransition(run, json{{"reason", "no"}, {"by", "token:ops"}, {"at", now}}, now);
    } else {
      t.run_id = e.run;
      t.expected_version = run.version;
      t.expected_status = RunStatus::kWaiting;
      t.next_status = e.status;
      t.wait = json();
      t.finished_at = now;
      t.now = now;
    }
    ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());

    HumanTaskRecord approval = Get(*store_, "apr_2" + e.run);
    ExpectClosedByTheRun(approval, "expired", now, e.reason);
    // core/approval reads what the store wrote: closed by the run's end, it never proceeds.
    Result<Approval> read = Approval::FromJson(approval.body, approval.status, approval.resolution);
    ASSERT_TRUE(read.ok()) << read.status().message();
    EXPECT_EQ(read->status, ApprovalStatus::kExpired);
    EXPECT_EQ(read->resolution->reason, e.reason);
    EXPECT_EQ(StepResultOf(*read)->error.value("code", ""), "approval_expired");

    HumanTaskRecord form = Get(*store_, "frm_1" + e.run);
    ExpectClosedByTheRun(form, "closed", now, e.reason);
    Result<Form> read_form = Form::FromJson(form.body, form.status, form.resolution);
    ASSERT_TRUE(read_form.ok()) << read_form.status().message();
    EXPECT_EQ(read_form->status, FormStatus::kClosed);

    HumanTaskRecord decided = Get(*store_, "apr_1" + e.run);
    EXPECT_EQ(decided.status, "approved");
    EXPECT_EQ(decided.version, decided_before.version);
    EXPECT_EQ(decided.updated_at, decided_before.updated_at);
    EXPECT_EQ(decided.resolution, decided_before.resolution);
  }
  HumanTaskRecord untouched = Get(*store_, "apr_b");
  EXPECT_EQ(untouched.status, "pending");
  EXPECT_EQ(untouched.version, 1);
  EXPECT_TRUE(untouched.resolution.is_null());
}

TEST_P(StoreConformanceTest, ARunThatGoesOnLeavesItsTasksOpen) {
  RunRecord run = CreateRunning("run_1");
  ASSERT_TRUE(
      store_->TransitionRun(ParkOn(run, MakeHumanTask("apr_1", "approval", "run_1", "pending")))
          .ok());
  run = *store_->GetRun("run_1", false);
  RunTransition pause;
  pause.run_id = "run_1";
  pause.expected_version = run.version;
  pause.next_status = RunStatus::kPaused;
  pause.paused_from = RunStatus::kWaiting;
  pause.now = kT0 + 5;
  ASSERT_TRUE(store_->TransitionRun(std::move(pause)).ok());
  Result<HumanTaskRecord> task = store_->GetHumanTask("apr_1");
  ASSERT_TRUE(task.ok());
  EXPECT_EQ(task->status, "pending");
  EXPECT_EQ(task->version, 1);
  EXPECT_TRUE(task->resolution.is_null());
}

TEST_P(StoreConformanceTest, ListHumanTasksPutsOpenOnesFirstThenNewestFilteredAndScoped) {
  CreateRunning("run_1");
  CreateRunning("run_2");
  CreateRunning("run_9", "ws_2");
  // Ids grow with time, as the id source makes them.
  struct Row {
    const char* id;
    const char* kind;
    const char* run;
    const char* status;
  };
  for (const Row& r :
       {Row{"apr_01", "approval", "run_1", "approved"},
        Row{"apr_02", "approval", "run_1", "pending"}, Row{"apr_03", "approval", "run_2", "denied"},
        Row{"apr_04", "approval", "run_2", "pending"},
        Row{"apr_05", "approval", "run_1", "expired"},
        Row{"apr_06", "approval", "run_2", "pending"}, Row{"frm_01", "form", "run_1", "open"},
        Row{"frm_02", "form", "run_2", "submitted"}}) {
    ASSERT_TRUE(Write(*store_, MakeHumanTask(r.id, r.kind, r.run, r.status), 0).ok()) << r.id;
  }
  ASSERT_TRUE(
      Write(*store_, MakeHumanTask("apr_07", "approval", "run_9", "pending", "ws_2"), 0).ok());

  HumanTaskFilter approvals;
  approvals.kind = "approval";
  EXPECT_EQ(Ids(*store_, "ws_1", approvals),
            (std::vector<std::string>{"apr_06", "apr_04", "apr_02", "apr_05", "apr_03", "apr_01"}));
  HumanTaskFilter forms;
  forms.kind = "form";
  EXPECT_EQ(Ids(*store_, "ws_1", forms), (std::vector<std::string>{"frm_01", "frm_02"}));
  EXPECT_EQ(Ids(*store_, "ws_2", approvals), std::vector<std::string>{"apr_07"});
  EXPECT_TRUE(Ids(*store_, "ws_3", approvals).empty());

  HumanTaskFilter pending = approvals;
  pending.status = "pending";
  EXPECT_EQ(Ids(*store_, "ws_1", pending),
            (std::vector<std::string>{"apr_06", "apr_04", "apr_02"}));
  HumanTaskFilter of_run = approvals;
  of_run.run_id = "run_1";
  EXPECT_EQ(Ids(*store_, "ws_1", of_run), (std::vector<std::string>{"apr_02", "apr_05", "apr_01"}));
  of_run.status = "expired";
  EXPECT_EQ(Ids(*store_, "ws_1", of_run), std::vector<std::string>{"apr_05"});
  // A run of another workspace shows nothing here.
  HumanTaskFilter foreign_run = approvals;
  foreign_run.run_id = "run_9";
  EXPECT_TRUE(Ids(*store_, "ws_1", foreign_run).empty());

  // Pages of two, across the boundary between open and decided, lose and repeat nothing.
  HumanTaskFilter paged = approvals;
  paged.limit = 2;
  std::vector<std::string> seen;
  for (int page_no = 0; page_no < 10; ++page_no) {
    Result<HumanTaskPage> page = store_->ListHumanTasks("ws_1", paged);
    ASSERT_TRUE(page.ok()) << page.status().message();
    EXPECT_LE(page->items.size(), 2u);
    for (const HumanTaskRecord& t : page->items) {
      seen.push_back(t.id);
    }
    if (page->next_cursor.empty()) {
      break;
    }
    paged.cursor = page->next_cursor;
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"apr_06", "apr_04", "apr_02", "apr_05", "apr_03", "apr_01"}));
  // A page that ends exactly at the last item says there is no further page.
  HumanTaskFilter exact = approvals;
  exact.limit = 6;
  Result<HumanTaskPage> all = store_->ListHumanTasks("ws_1", exact);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items.size(), 6u);
  EXPECT_TRUE(all->next_cursor.empty());

  for (const char* bad : {"garbage", "2:apr_01", "1-apr_01", "1:"}) {
    HumanTaskFilter f = approvals;
    f.cursor = bad;
    Result<HumanTaskPage> page = store_->ListHumanTasks("ws_1", f);
    EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_P(StoreConformanceTest, ALinkIsCreatedFoundAndUsedOnceThroughATransition) {
  RunRecord run = CreateRunning("run_1");
  HumanTaskRecord task = MakeHumanTask("apr_1", "approval", "run_1", "pending");
  json body = task.body;
  body["required"] = 2;
  task.body = body;
  ASSERT_TRUE(store_->TransitionRun(ParkOn(run, task)).ok());
  ApprovalLinkRecord link{"hash_alice",    "apr_1", "ws_1", "alice@example.com",
                          kT0 + 3'600'000, 0,       kT0 + 2};
  ASSERT_TRUE(store_->CreateApprovalLink(link).ok());
  ASSERT_TRUE(store_
                  ->CreateApprovalLink(
                      {"hash_bob", "apr_1", "ws_1", "bob@example.com", kT0 + 3'600'000, 0, kT0 + 2})
                  .ok());

  Result<ApprovalLinkRecord> found = store_->FindApprovalLink("hash_alice");
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->token_hash, "hash_alice");
  EXPECT_EQ(found->approval_id, "apr_1");
  EXPECT_EQ(found->workspace_id, "ws_1");
  EXPECT_EQ(found->recipient, "alice@example.com");
  EXPECT_EQ(found->expires_at, kT0 + 3'600'000);
  EXPECT_EQ(found->used_at, 0);
  EXPECT_EQ(found->created_at, kT0 + 2);
  EXPECT_EQ(store_->FindApprovalLink("hash_nobody").status().code(), StatusCode::kNotFound);

  // Alice decides through her link: the decision and the link's use commit together.
  HumanTaskRecord decided = Get(*store_, "apr_1");
  decided.body["decisions"] = json::array({json{{"by", "alice@example.com"}}});
  ASSERT_TRUE(Write(*store_, decided, 1, kT0 + 50).ok());  // a version-only run change
  EXPECT_EQ(Get(*store_, "apr_1").version, 2);
  RunTransition use;
  use.run_id = "run_1";
  use.expected_version = ReadRun(*store_, "run_1").version;
  use.now = kT0 + 60;
  use.use_link_hash = "hash_alice";
  decided = Get(*store_, "apr_1");
  use.human_task = HumanTaskWrite{decided, 2};
  ASSERT_TRUE(store_->TransitionRun(use).ok());
  EXPECT_EQ(store_->FindApprovalLink("hash_alice")->used_at, kT0 + 60);
  EXPECT_EQ(store_->FindApprovalLink("hash_bob")->used_at, 0);
  EXPECT_EQ(Get(*store_, "apr_1").version, 3);

  // Used again, on the task's and the run's current versions: the link fails the whole
  // transition, and nothing of it commits.
  const RunRecord before = ReadRun(*store_, "run_1");
  RunTransition again;
  again.run_id = "run_1";
  again.expected_version = before.version;
  again.now = kT0 + 70;
  again.use_link_hash = "hash_alice";
  HumanTaskRecord second = Get(*store_, "apr_1");
  second.status = "approved";
  again.human_task = HumanTaskWrite{second, 3};
  again.upsert_steps.push_back(MakeStep("gate", StepStatus::kCompleted));
  Result<int64_t> lost = store_->TransitionRun(again);
  EXPECT_EQ(lost.status().code(), StatusCode::kAborted) << lost.status().message();
  EXPECT_EQ(store_->FindApprovalLink("hash_alice")->used_at, kT0 + 60);
  EXPECT_EQ(Get(*store_, "apr_1").version, 3);
  EXPECT_EQ(Get(*store_, "apr_1").status, "pending");
  RunRecord after = ReadRun(*store_, "run_1");
  EXPECT_EQ(after.version, before.version);
  EXPECT_EQ(FindStep(after, "gate"), nullptr);

  // A link that was never made is no link to use either.
  again.use_link_hash = "hash_nobody";
  EXPECT_EQ(store_->TransitionRun(again).status().code(), StatusCode::kAborted);
  EXPECT_EQ(Get(*store_, "apr_1").version, 3);

  // Bob's link is still good.
  again.use_link_hash = "hash_bob";
  ASSERT_TRUE(store_->TransitionRun(again).ok());
  EXPECT_EQ(store_->FindApprovalLink("hash_bob")->used_at, kT0 + 70);
  EXPECT_EQ(Get(*store_, "apr_1").status, "approved");
}

TEST_P(StoreConformanceTest, ACorruptHumanTaskIsDataCorruptionWhereverItIsRead) {
  RunRecord run = CreateRunning("run_1");
  ASSERT_TRUE(
      store_->TransitionRun(ParkOn(run, MakeHumanTask("apr_1", "approval", "run_1", "pending")))
          .ok());
  HumanTaskFilter approvals;
  approvals.kind = "approval";
  ASSERT_TRUE(backend_->ExecRaw("UPDATE human_tasks SET status = 'maybe' WHERE id = 'apr_1'").ok());
  ExpectCorruption(store_->GetHumanTask("apr_1").status(),
                   {"human_tasks", "apr_1", "status", "maybe"});
  ExpectCorruption(store_->ListHumanTasks("ws_1", approvals).status(),
                   {"human_tasks", "apr_1", "status", "maybe"});
  ASSERT_TRUE(backend_
                  ->ExecRaw("UPDATE human_tasks SET status = 'pending', body = '{not json' "
                            "WHERE id = 'apr_1'")
                  .ok());
  ExpectCorruption(store_->GetHumanTask("apr_1").status(), {"human_tasks", "apr_1", "body"});
  ExpectCorruption(store_->ListHumanTasks("ws_1", approvals).status(),
                   {"human_tasks", "apr_1", "body"});
}

}  // namespace
}  // namespace sw::store_test
