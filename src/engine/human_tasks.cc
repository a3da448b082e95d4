#include "engine/human_tasks.h"

#include <spdlog/spdlog.h>

#include "core/time_format.h"
#include "engine/active_run.h"
#include "engine/engine.h"
#include "engine/steps/step_executor.h"

namespace sw {

using nlohmann::json;

namespace {

// Bound on compare-and-set retries of one change.
constexpr int kMaxChangeRetries = 16;

// The run's wait field naming the task it waits for, by the task's kind.
const char* WaitField(const std::string& kind) {
  return kind == kApprovalKind ? "approval_id" : "form_id";
}

// True when `run` waits at `task`'s step, for it.
bool WaitsFor(const RunRecord& run, const HumanTaskRecord& task) {
  return run.status == RunStatus::kWaiting && run.wait.is_object() &&
         run.wait.value(WaitField(task.kind), "") == task.id;
}

// What a change tells people: an approval escalated (requested of others) or expired.
std::optional<std::string> NotificationOfChange(const HumanTaskRecord& before,
                                                const HumanTaskRecord& after) {
  if (after.kind != kApprovalKind) {
    return std::nullopt;
  }
  if (after.status == ToString(ApprovalStatus::kExpired) && before.status != after.status) {
    return "approval_expired";
  }
  if (after.body.value("escalated", false) && !before.body.value("escalated", false)) {
    return "approval_requested";
  }
  return std::nullopt;
}

// The waiting step's row with the resolved task's result.
StepRecord ResultRow(const HumanTaskRecord& task, const HumanTaskResult& r) {
  StepRecord row;
  row.path = task.path;
  row.step_id = task.step_id;
  row.type = task.kind;
  row.status = r.completes ? StepStatus::kCompleted : StepStatus::kFailed;
  row.output = r.output;
  if (!r.completes) {
    row.error = StepError(r.error.value("message", ""), r.error.value("code", ""), task.step_id);
  }
  return row;
}

}  // namespace

Result<Approval> ApprovalOf(const HumanTaskRecord& record) {
  return Approval::FromJson(record.body, record.status, record.resolution);
}

Result<Form> FormOf(const HumanTaskRecord& record) {
  return Form::FromJson(record.body, record.status, record.resolution);
}

void StoreInto(const Approval& approval, HumanTaskRecord& record) {
  record.status = ToString(approval.status);
  record.body = approval.ToJson();
  record.resolution = approval.ResolutionJson();
  record.expires_at = approval.expires_at;
}

void StoreInto(const Form& form, HumanTaskRecord& record) {
  record.status = ToString(form.status);
  record.body = form.ToJson();
  record.resolution = form.resolution;
  record.expires_at = form.expires_at;
}

Result<std::optional<HumanTaskResult>> ResultOf(const HumanTaskRecord& record) {
  if (record.kind == kApprovalKind) {
    Result<Approval> a = ApprovalOf(record);
    if (!a.ok()) {
      return a.status();
    }
    std::optional<ApprovalStepResult> r = StepResultOf(*a);
    return r ? std::optional(HumanTaskResult{r->completes, r->output, r->error}) : std::nullopt;
  }
  Result<Form> f = FormOf(record);
  if (!f.ok()) {
    return f.status();
  }
  std::optional<FormStepResult> r = StepResultOf(*f);
  return r ? std::optional(HumanTaskResult{r->completes, r->output, r->error}) : std::nullopt;
}

NotificationRecord TaskNotification(const HumanTaskRecord& task, std::string_view kind,
                                    const std::string& slug, std::string id, int64_t now) {
  NotificationRecord n;
  n.id = std::move(id);
  n.workspace_id = task.workspace_id;
  n.kind = kind;
  n.created_at = now;
  const std::string message = task.body.value("message", "");
  if (task.kind == kFormKind) {
    n.title = "Input needed: " + task.workflow_id;
    n.body = message;
    n.link = "/" + slug + "/monitoring/workflow-runs/" + task.run_id;
    n.subject = {{"form_id", task.id}, {"run_id", task.run_id}};
    return n;
  }
  n.link = "/" + slug + "/monitoring/approvals";
  const std::string reversibility = task.body.value("reversibility", "");
  if (kind == "approval_expired") {
    n.title = "Approval expired: " + task.workflow_id;
    n.body = message + " (" + task.resolution.value("reason", "expired") + ")";
    n.subject = {{"expired_approval_id", task.id}, {"run_id", task.run_id}};
    return n;
  }
  const bool escalated = task.body.value("escalated", false);
  n.title =
      std::string(escalated ? "Approval escalated: " : "Approval requested: ") + task.workflow_id;
  n.body = message + (reversibility == "irreversible" ? " (Irreversible)" : "");
  n.subject = {{"approval_id", task.id}, {"run_id", task.run_id}};
  return n;
}

Result<HumanTaskRecord> Engine::ChangeHumanTask(const HumanTaskChange& c) {
  for (int race = 0; race < kMaxChangeRetries; ++race) {
    Result<HumanTaskRecord> before = store_.GetHumanTask(c.task_id);
    if (!before.ok()) {
      return before.status();
    }
    Result<std::optional<HumanTaskRecord>> after = c.change(*before);
    if (!after.ok()) {
      return after.status();
    }
    if (!after->has_value()) {
      return before;
    }
    HumanTaskRecord& task = **after;
    Result<std::optional<HumanTaskResult>> result = ResultOf(task);
    if (!result.ok()) {
      return result.status();
    }
    const int64_t now = clock_.NowMs();
    std::optional<NotificationRecord> notification;
    if (std::optional<std::string> kind = NotificationOfChange(*before, task)) {
      Result<WorkspaceRecord> ws = store_.FindWorkspace(task.workspace_id);
      notification = TaskNotification(task, *kind, ws.ok() ? ws->slug : "", ids_.Next("ntf"), now);
    }
    std::optional<AuditEntry> audit;
    if (c.audit) {
      audit = c.audit(*before, task);
    }
    // Decided on the run as the write finds it, so only the task's compare-and-set can
    // be lost; a woken run comes back with its steps and goes on from here.
    bool woke = false;
    std::optional<TimerRecord> timer;
    auto decide = [&](const RunRecord& run) -> Result<std::optional<RunTransition>> {
      const bool waits = WaitsFor(run, task);
      woke = waits && result->has_value();
      timer.reset();
      RunTransition t;
      if (woke) {
        t = WakeWithStepResult(run, ResultRow(task, **result), now);
      } else {
        t.run_id = run.id;
        t.expected_version = run.version;
        t.now = now;
        if (waits && task.expires_at != before->expires_at) {
          json wait = run.wait;
          wait["until"] = task.expires_at > 0 ? json(FormatTime(task.expires_at)) : json();
          t.wait = std::move(wait);
          timer = TimerRecord{run.id, TimerKind::kExpiry, task.path, task.expires_at};
          t.add_timers.push_back(*timer);
        }
      }
      t.audit = audit;
      if (notification) {
        t.notify.push_back(*notification);
      }
      t.use_link_hash = c.use_link_hash;
      t.human_task = HumanTaskWrite{task, before->version};
      return std::optional(std::move(t));
    };
    Result<RunRecord> committed = store_.UpdateRun(
        task.run_id, decide, {.steps_to_decide = false, .steps_in_answer = result->has_value()});
    if (committed.ok()) {
      task.version = before->version + 1;
      task.updated_at = now;
      if (timer) {
        timers_.Add(*timer);
      }
      if (woke) {
        if (std::shared_ptr<ActiveRun> ar = Activate(committed->id)) {
          Begin(ar, std::move(committed).value());
        }
      }
      return task;
    }
    if (committed.status().code() != StatusCode::kAborted) {
      return committed.status();
    }
    if (c.use_link_hash) {
      // The link may be what changed: a used link is not used again.
      Result<ApprovalLinkRecord> link = store_.FindApprovalLink(*c.use_link_hash);
      if (link.ok() && link->used_at != 0) {
        return Status(StatusCode::kFailedPrecondition, "This link was used already",
                      "invalid_transition");
      }
    }
  }
  return Status(StatusCode::kAborted, "the task kept changing; try again", "state_changed");
}

void Engine::ExpireHumanTask(const TimerRecord& timer) {
  Result<RunRecord> run = store_.GetRun(timer.run_id, /*with_steps=*/false);
  if (!run.ok()) {
    return;
  }
  const bool same_step = run->wait.is_object() && run->wait.value("path", "") == timer.path;
  if (DecideTimer(TimerKind::kExpiry, run->status, WaitKindOf(*run), same_step) !=
      TimerEffect::kExpire) {
    return;  // stale: the run no longer waits for it
  }
  const std::string kind = WaitKindOf(*run) == WaitKind::kApproval ? kApprovalKind : kFormKind;
  HumanTaskChange c;
  c.task_id = run->wait.value(WaitField(kind), "");
  c.change = [this](const HumanTaskRecord& before) -> Result<std::optional<HumanTaskRecord>> {
    const int64_t now = clock_.NowMs();
    if (before.expires_at == 0 || before.expires_at > now) {
      return std::optional<HumanTaskRecord>();  // not due (an escalation moved it)
    }
    HumanTaskRecord after = before;
    Status expired;
    if (before.kind == kApprovalKind) {
      Result<Approval> a = ApprovalOf(before);
      if (!a.ok()) {
        return a.status();
      }
      expired = Expire(*a, now);
      StoreInto(*a, after);
    } else {
      Result<Form> f = FormOf(before);
      if (!f.ok()) {
        return f.status();
      }
      expired = Expire(*f, now);
      StoreInto(*f, after);
    }
    if (!expired.ok()) {
      return std::optional<HumanTaskRecord>();  // decided meanwhile
    }
    return std::optional(std::move(after));
  };
  c.audit = [this](const HumanTaskRecord& before, const HumanTaskRecord& after) {
    AuditEntry e;
    e.id = ids_.Next("aud");
    e.workspace_id = after.workspace_id;
    e.at = clock_.NowMs();
    e.actor = "system";
    e.action = after.kind + (after.status == before.status ? ".escalate" : ".expire");
    e.target = after.id;
    e.reason = after.resolution.is_object() ? after.resolution.value("reason", "") : "expired";
    e.status_before = before.status;
    e.status_after = after.status;
    return e;
  };
  Result<HumanTaskRecord> r = ChangeHumanTask(c);
  if (!r.ok()) {
    spdlog::warn("run {}: expiring {} {} failed: {}", timer.run_id, kind, c.task_id,
                 r.status().message());
  }
}

}  // namespace sw
