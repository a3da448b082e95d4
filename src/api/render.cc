#include "api/render.h"

#include <algorithm>
#include <set>

#include "control/human_tasks.h"
#include "core/time_format.h"
#include "core/workflow_safety.h"

namespace sw {

using nlohmann::json;

namespace {

json StepJson(const StepRecord& s) {
  // A stored pending step (held before its call) records the attempt it waits to make;
  // what a reader sees is the attempts made.
  const bool pending = s.status == StepStatus::kPending;
  json j = {{"id", s.step_id},
            {"path", s.path},
            {"type", s.type},
            {"status", ToString(s.status)},
            {"attempt", pending ? std::max(0, s.attempt - 1) : s.attempt},
            {"started_at", pending ? json() : TimeOrNull(s.started_at)},
            {"finished_at", TimeOrNull(s.finished_at)},
            {"output", s.output},
            {"error", s.error},
            {"result_discarded", s.result_discarded},
            {"copied", s.copied},
            {"attempts", json::array()}};
  // Earlier attempts (each with its error and duration), and the step's child run or
  // agent task.
  if (s.detail.is_object()) {
    for (const char* key : {"attempts", "child_run_id", "task_id"}) {
      if (s.detail.contains(key)) {
        j[key] = s.detail[key];
      }
    }
  }
  return j;
}

// Removes the internal `path` of a wait object.
json PublicWait(const json& wait) {
  if (!wait.is_object()) {
    return wait;
  }
  json out = wait;
  out.erase("path");
  return out;
}

}  // namespace

json RunJson(const RunRecord& run, bool detail, const Definition* definition,
             const json& workflow_safety) {
  json actions = json::array();
  for (RunAction a : AllowedActions(run.status, InRetryBackoff(run))) {
    actions.push_back(ToString(a));
  }
  json j = {
      {"id", run.id},
      {"workflow_id", run.workflow_id},
      {"workflow_version", run.workflow_version},
      {"status", ToString(run.status)},
      {"version", run.version},
      {"allowed_actions", actions},
      {"pause", run.pause},
      {"wait", PublicWait(run.wait)},
      {"cancel", run.cancel},
      {"error", run.error},
      {"trigger", run.trigger},
      {"replay_of", run.replay_of.empty() ? json() : json(run.replay_of)},
      {"replay_from_step", run.replay_from_step.empty() ? json() : json(run.replay_from_step)},
      {"parent_run_id", run.parent_run_id.empty() ? json() : json(run.parent_run_id)},
      {"workflow_safety", workflow_safety},
      {"created_at", TimeOrNull(run.created_at)},
      {"started_at", TimeOrNull(run.started_at)},
      {"updated_at", TimeOrNull(run.updated_at)},
      {"finished_at", TimeOrNull(run.finished_at)}};
  if (!detail) {
    return j;
  }
  j["input"] = run.input;
  j["output"] = run.output;
  json steps = json::array();
  std::set<std::string> seen;
  for (const StepRecord& s : run.steps) {
    steps.push_back(StepJson(s));
    seen.insert(s.path);
  }
  if (definition != nullptr) {
    for (const StepDef& def : definition->steps) {
      if (seen.contains(def.id)) {
        continue;
      }
      StepRecord pending;
      pending.step_id = pending.path = def.id;
      pending.type = std::string(def.type());
      pending.status = StepStatus::kPending;
      steps.push_back(StepJson(pending));
    }
  }
  j["steps"] = std::move(steps);
  return j;
}

json WorkflowJson(const WorkflowRecord& wf, bool detail) {
  json j = {{"id", wf.id},
            {"kind", wf.kind},
            {"mode", wf.mode},
            {"status", ShownWorkflowStatus(wf.status, wf.safety)},
            {"safety", wf.safety.is_object() ? wf.safety : json()},
            {"version", wf.version},
            {"created_at", TimeOrNull(wf.created_at)},
            {"updated_at", TimeOrNull(wf.updated_at)}};
  if (detail) {
    j["definition"] = wf.definition;
  }
  return j;
}

json TokenJson(const TokenRecord& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"role", ToString(t.role)},
          {"created_at", TimeOrNull(t.created_at)},
          {"revoked_at", TimeOrNull(t.revoked_at)}};
}

json AuditJson(const AuditEntry& a) {
  return {{"id", a.id},
          {"at", TimeOrNull(a.at)},
          {"actor", a.actor},
          {"action", a.action},
          {"target", a.target},
          {"reason", a.reason.empty() ? json() : json(a.reason)},
          {"request_id", a.request_id},
          {"status_before", a.status_before.empty() ? json() : json(a.status_before)},
          {"status_after", a.status_after.empty() ? json() : json(a.status_after)}};
}

Result<json> ApprovalJson(const HumanTaskRecord& task) {
  Result<Approval> a = ApprovalOf(task);
  if (!a.ok()) {
    return a.status();
  }
  json decisions = json::array();
  for (const ApprovalDecision& d : a->decisions) {
    decisions.push_back({{"by", d.by},
                         {"decision", d.approve ? "approve" : "deny"},
                         {"comment", d.comment.empty() ? json() : json(d.comment)},
                         {"at", FormatTime(d.at)},
                         {"via", d.via}});
  }
  json resolution;
  if (a->resolution) {
    resolution = {{"status", ToString(a->resolution->status)},
                  {"at", FormatTime(a->resolution->at)},
                  {"reason", a->resolution->reason}};
  }
  return json{{"id", task.id},
              {"run_id", task.run_id},
              {"step_id", task.step_id},
              {"workflow_id", task.workflow_id},
              {"message", a->policy.message},
              {"status", ToString(a->status)},
              {"reversibility", ToString(a->policy.reversibility)},
              {"required", a->policy.required},
              {"approvers", a->current_approvers().ToJson()},
              {"on_timeout", ToString(a->policy.on_timeout)},
              {"on_deny", ToString(a->policy.on_deny)},
              {"escalated", a->escalated},
              {"expires_at", TimeOrNull(a->expires_at)},
              {"decisions", std::move(decisions)},
              {"resolution", std::move(resolution)},
              {"created_at", FormatTime(task.created_at)},
              {"updated_at", FormatTime(task.updated_at)}};
}

Result<json> FormJson(const HumanTaskRecord& task) {
  Result<Form> f = FormOf(task);
  if (!f.ok()) {
    return f.status();
  }
  return json{{"id", task.id},
              {"run_id", task.run_id},
              {"step_id", task.step_id},
              {"workflow_id", task.workflow_id},
              {"message", f->policy.message},
              {"schema", f->policy.schema},
              {"status", ToString(f->status)},
              {"expires_at", TimeOrNull(f->expires_at)},
              {"data", f->data},
              {"created_at", FormatTime(task.created_at)},
              {"updated_at", FormatTime(task.updated_at)}};
}

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kFailedPrecondition:
      return s.reason() == "gone" ? 410 : 409;
    case StatusCode::kAborted:
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kResourceExhausted:
      return s.reason() == "rate_limited" ? 429 : 413;
    case StatusCode::kUnavailable:
      return s.reason() == "refresh_failed" ? 502 : 503;  // the token endpoint failed
    case StatusCode::kCancelled:
      return 409;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

constexpr char kRunChangedSentence[] = "State changed; please refresh";

json ErrorJson(const Status& s) {
  std::string code = s.reason();
  if (code.empty()) {
    switch (s.code()) {
      case StatusCode::kInvalidArgument:
        code = "invalid_request";
        break;
      case StatusCode::kNotFound:
        code = "not_found";
        break;
      case StatusCode::kFailedPrecondition:
        code = "invalid_transition";
        break;
      case StatusCode::kAborted:
        code = "state_changed";
        break;
      case StatusCode::kPermissionDenied:
        code = "forbidden";
        break;
      case StatusCode::kUnauthenticated:
        code = "unauthorized";
        break;
      case StatusCode::kUnavailable:
        code = "unavailable";
        break;
      default:
        code = "internal";
    }
  }
  const ErrorDetail& d = s.detail();
  // A run that changed behind its caller is answered with the contract's sentence.
  json error = {{"code", code}, {"message", d.run_changed ? kRunChangedSentence : s.message()}};
  if (!d.step_id.empty()) error["step_id"] = d.step_id;
  if (!d.field.empty()) error["field"] = d.field;
  if (!d.connection_id.empty()) error["connection_id"] = d.connection_id;
  if (d.current_status) error["current_status"] = ToString(*d.current_status);
  if (d.version) error["version"] = *d.version;
  if (!d.errors.empty()) {
    json& errors = error["errors"] = json::array();
    for (const FieldError& e : d.errors) {
      errors.push_back({{"path", e.path}, {"message", e.message}});
    }
  }
  return json{{"error", error}};
}

json TimeOrNull(int64_t unix_ms) { return unix_ms == 0 ? json() : json(FormatTime(unix_ms)); }

json CursorJson(const std::string& cursor) { return cursor.empty() ? json(nullptr) : json(cursor); }

}  // namespace sw
