#include "powerloss_script.h"

#include "core/approval.h"
#include "core/lifecycle.h"

namespace sw::powerloss {

namespace {

using nlohmann::json;

constexpr int64_t kT0 = 1'700'000'000'000;
// The versions whose transition dispatches a priced attempt, and its price.
constexpr struct {
  int64_t version;
  int64_t micros;
} kCharges[] = {{2, 1'000}, {3, 2'000}, {6, 4'000}, {kFinalVersion, 8'000}};

int64_t At(int64_t version) { return kT0 + version * 1'000; }

StepRecord Step(const std::string& path, const std::string& type, StepStatus status,
                int64_t version) {
  StepRecord s;
  s.path = path;
  s.step_id = path;
  s.type = type;
  s.status = status;
  s.attempt = 1;
  s.started_at = At(version);
  if (status == StepStatus::kCompleted) {
    s.finished_at = At(version);
    s.output = json{{"path", path}};
  }
  return s;
}

HumanTaskRecord Approval(const std::string& run_id, const std::string& workspace_id,
                         const std::string& status) {
  HumanTaskRecord t;
  t.id = ApprovalId(run_id);
  t.kind = "approval";
  t.workspace_id = workspace_id;
  t.workflow_id = "powerloss";
  t.run_id = run_id;
  t.path = "s5";
  t.step_id = "s5";
  t.status = status;
  Result<ApprovalPolicy> policy = ApprovalPolicy::Parse({{"message", "Go on?"}});
  t.body = policy.ok() ? Approval::Open(*policy, At(8)).ToJson() : json::object();
  if (status != "pending") {
    t.resolution = json{{"decision", status}, {"by", "token:admin"}};
  }
  t.created_at = At(8);
  return t;
}

// What changes at `version` besides the status: the steps, timers and tasks.
void AddEffects(RunTransition& t, const std::string& workspace_id, int64_t version) {
  const std::string& id = t.run_id;
  switch (version) {
    case 2:
      t.upsert_steps.push_back(Step("s1", "http", StepStatus::kRunning, version));
      t.add_timers.push_back({"", TimerKind::kRunTimeout, "", At(version) + 3'600'000});
      break;
    case 3:
      t.upsert_steps.push_back(Step("s1", "http", StepStatus::kCompleted, version));
      t.upsert_steps.push_back(Step("s2", "http", StepStatus::kRunning, version));
      break;
    case 4:
      t.upsert_steps.push_back(Step("s2", "http", StepStatus::kCompleted, version));
      t.upsert_steps.push_back(Step("s3", "sleep", StepStatus::kWaiting, version));
      t.add_timers.push_back({"", TimerKind::kWake, "s3", At(version) + 60'000});
      break;
    case 5:
      t.upsert_steps.push_back(Step("s3", "sleep", StepStatus::kCompleted, version));
      break;
    case 6: {
      StepRecord s = Step("s4", "agent_task", StepStatus::kWaiting, version);
      s.detail = json{{"task_id", TaskId(id)}};
      t.upsert_steps.push_back(std::move(s));
      AgentTaskRecord task;
      task.id = TaskId(id);
      task.workspace_id = workspace_id;
      task.run_id = id;
      task.path = task.step_id = "s4";
      task.queue = "powerloss";
      task.input = json{{"run", id}};
      task.available_at = task.created_at = task.updated_at = At(version);
      t.enqueue_task = std::move(task);
      break;
    }
    case 7:
      t.upsert_steps.push_back(Step("s4", "agent_task", StepStatus::kCompleted, version));
      t.update_task = AgentTaskUpdate{TaskId(id), "queued", 0, "completed", 0, -1};
      break;
    case 8: {
      t.upsert_steps.push_back(Step("s5", "approval", StepStatus::kWaiting, version));
      t.human_task = HumanTaskWrite{Approval(id, workspace_id, "pending"), 0};
      NotificationRecord n;
      n.id = NotificationId(id);
      n.workspace_id = workspace_id;
      n.kind = "approval_requested";
      n.title = "Go on?";
      n.link = "/approvals";
      n.subject = json{{"approval_id", ApprovalId(id)}};
      n.created_at = At(version);
      t.notify.push_back(std::move(n));
      break;
    }
    case 9: {
      t.upsert_steps.push_back(Step("s5", "approval", StepStatus::kCompleted, version));
      t.human_task = HumanTaskWrite{Approval(id, workspace_id, "approved"), 1};
      AuditEntry a;
      a.id = AuditId(id);
      a.workspace_id = workspace_id;
      a.at = At(version);
      a.actor = "token:admin";
      a.action = "approval.approve";
      a.target = ApprovalId(id);
      t.audit = std::move(a);
      break;
    }
    case kFinalVersion:
      t.upsert_steps.push_back(Step("s6", "http", StepStatus::kCompleted, version));
      break;
  }
}

}  // namespace

std::string TaskId(const std::string& run_id) { return "tsk_" + run_id; }
std::string ApprovalId(const std::string& run_id) { return "apr_" + run_id; }
std::string NotificationId(const std::string& run_id) { return "ntf_" + run_id; }
std::string AuditId(const std::string& run_id) { return "aud_" + run_id; }

Expected ExpectedAt(int64_t version) {
  static constexpr RunStatus kStatus[] = {
      RunStatus::kPending, RunStatus::kRunning,  RunStatus::kRunning, RunStatus::kWaiting,
      RunStatus::kRunning, RunStatus::kWaiting,  RunStatus::kRunning, RunStatus::kWaiting,
      RunStatus::kRunning, RunStatus::kCompleted};
  Expected e;
  e.status = kStatus[version - 1];
  // Each step: the version that starts it, the one that completes it.
  static constexpr struct {
    const char* path;
    int64_t starts, completes;
  } kSteps[] = {{"s1", 2, 3}, {"s2", 3, 4}, {"s3", 4, 5},
                {"s4", 6, 7}, {"s5", 8, 9}, {"s6", 10, 10}};
  for (const auto& s : kSteps) {
    if (version >= s.completes) {
      e.steps[s.path] = StepStatus::kCompleted;
    } else if (version >= s.starts) {
      e.steps[s.path] = s.path == std::string("s1") || s.path == std::string("s2")
                            ? StepStatus::kRunning
                            : StepStatus::kWaiting;
    }
  }
  if (version >= 2 && version < kFinalVersion) {
    e.timers.insert(std::string(ToString(TimerKind::kRunTimeout)));
  }
  if (version == 4) {
    e.timers.insert(std::string(ToString(TimerKind::kWake)));
  }
  e.agent_task = version >= 7 ? "completed" : version == 6 ? "queued" : "";
  e.human_task = version >= 9 ? "approved" : version == 8 ? "pending" : "";
  e.notified = version >= 8;
  e.audited = version >= 9;
  for (const auto& c : kCharges) {
    e.spend += version >= c.version ? c.micros : 0;
  }
  return e;
}

RunRecord NewRun(const std::string& run_id, const std::string& workspace_id) {
  RunRecord r;
  r.id = run_id;
  r.workspace_id = workspace_id;
  r.workflow_id = "powerloss";
  r.workflow_version = 1;
  r.input = json{{"run", run_id}};
  r.trigger = json{{"kind", "api"}};
  r.created_at = r.updated_at = At(1);
  return r;
}

RunTransition TransitionTo(const std::string& run_id, const std::string& workspace_id,
                           int64_t version) {
  const Expected before = ExpectedAt(version - 1);
  const Expected after = ExpectedAt(version);
  RunTransition t;
  t.run_id = run_id;
  t.expected_version = version - 1;
  t.expected_status = before.status;
  if (after.status != before.status) {
    t.next_status = after.status;
  }
  t.now = At(version);
  if (version == 2) {
    t.started_at = At(version);
  }
  if (after.status == RunStatus::kWaiting) {
    const WaitKind kind = version == 4   ? WaitKind::kTimer
                          : version == 6 ? WaitKind::kAgent
                                         : WaitKind::kApproval;
    t.wait = json{{"kind", ToString(kind)}};
  } else if (before.status == RunStatus::kWaiting) {
    t.wait = json();
    t.clear_timers = true;  // keeps the run timeout
  }
  if (version == kFinalVersion) {
    t.output = json{{"done", true}};
    t.finished_at = At(version);
  }
  for (const auto& c : kCharges) {
    if (c.version == version) {
      t.charge = SpendCharge{workspace_id, c.micros, 1};
    }
  }
  AddEffects(t, workspace_id, version);
  return t;
}

}  // namespace sw::powerloss
