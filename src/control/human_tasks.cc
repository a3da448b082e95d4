#include "control/human_tasks.h"

#include <spdlog/spdlog.h>

#include "control/auth.h"
#include "core/json_schema.h"

namespace sw {

using nlohmann::json;

namespace {

Status Gone(const std::string& reason) {
  return Status(StatusCode::kFailedPrecondition, "This link can no longer be used: " + reason,
                "gone");
}

}  // namespace

AuditEntry HumanTasks::Audit(const std::string& workspace_id, const std::string& actor,
                             std::string action, std::string reason, const std::string& request_id,
                             const HumanTaskRecord& before, const HumanTaskRecord& after) const {
  AuditEntry e;
  e.id = ids_.Next("aud");
  e.workspace_id = workspace_id;
  e.at = clock_.NowMs();
  e.actor = actor;
  e.action = std::move(action);
  e.target = after.id;
  e.reason = std::move(reason);
  e.request_id = request_id;
  e.status_before = before.status;
  e.status_after = after.status;
  return e;
}

Result<HumanTaskPage> HumanTasks::List(const RequestContext& ctx, const HumanTaskFilter& filter) {
  return store_.ListHumanTasks(ctx.principal.workspace_id, filter);
}

Result<HumanTaskRecord> HumanTasks::Get(const RequestContext& ctx, const std::string& kind,
                                        const std::string& id) {
  Result<HumanTaskRecord> task = store_.GetHumanTask(id);
  if (!task.ok() || task->kind != kind || task->workspace_id != ctx.principal.workspace_id) {
    return task.ok() || task.status().code() == StatusCode::kNotFound
               ? NotFound(kind + " " + id + " not found")
               : task.status();
  }
  return task;
}

Result<HumanTaskRecord> HumanTasks::Decide(const RequestContext& ctx,
                                           const std::string& approval_id,
                                           const DecisionRequest& request) {
  Result<HumanTaskRecord> task = Get(ctx, kApprovalKind, approval_id);
  if (!task.ok()) {
    return task.status();
  }
  Result<Approval> approval = ApprovalOf(*task);
  if (!approval.ok()) {
    return approval.status();
  }
  const Principal& p = ctx.principal;
  if (!MayDecide(*approval, Decider{p.token_name, std::string(ToString(p.role))})) {
    return Status(StatusCode::kPermissionDenied, "You are not an approver of this approval",
                  "forbidden");
  }
  ApprovalDecision decision{p.token_name,    "token:" + p.token_id, request.approve,
                            request.comment, clock_.NowMs(),        request.via};
  return ApplyDecision(approval_id, std::move(decision), std::nullopt, p.workspace_id, p.actor(),
                       ctx.request_id);
}

Result<HumanTaskRecord> HumanTasks::ApplyDecision(
    const std::string& approval_id, ApprovalDecision decision, std::optional<std::string> link_hash,
    const std::string& workspace_id, const std::string& actor, const std::string& request_id) {
  HumanTaskChange c;
  c.task_id = approval_id;
  c.use_link_hash = std::move(link_hash);
  c.change = [&decision](const HumanTaskRecord& before) -> Result<std::optional<HumanTaskRecord>> {
    Result<Approval> a = ApprovalOf(before);
    if (!a.ok()) {
      return a.status();
    }
    if (Status s = sw::Decide(*a, decision); !s.ok()) {
      return s;
    }
    HumanTaskRecord after = before;
    StoreInto(*a, after);
    return std::optional(std::move(after));
  };
  c.audit = [&](const HumanTaskRecord& before, const HumanTaskRecord& after) {
    return Audit(workspace_id, actor, decision.approve ? "approval.approve" : "approval.deny",
                 decision.comment, request_id, before, after);
  };
  Result<HumanTaskRecord> after = engine_.ChangeHumanTask(c);
  if (after.ok()) {
    spdlog::info("event=approval.{} approval={} run={} by={} via={} status={}",
                 decision.approve ? "approve" : "deny", approval_id, after->run_id, decision.by,
                 decision.via, after->status);
  }
  return after;
}

Result<MagicLink> HumanTasks::CreateLink(const RequestContext& ctx, const std::string& approval_id,
                                         const std::string& recipient) {
  Result<HumanTaskRecord> task = Get(ctx, kApprovalKind, approval_id);
  if (!task.ok()) {
    return task.status();
  }
  return IssueLink(*task, recipient);
}

Result<std::string> HumanTasks::MintLinkPath(const std::string& approval_id,
                                             const std::string& recipient) {
  Result<HumanTaskRecord> task = store_.GetHumanTask(approval_id);
  if (!task.ok()) {
    return task.status();
  }
  if (task->kind != kApprovalKind) {
    return NotFound("approval " + approval_id + " not found");
  }
  Result<MagicLink> link = IssueLink(*task, recipient);
  if (!link.ok()) {
    return link.status();
  }
  return "/approve/" + link->token;
}

Result<MagicLink> HumanTasks::IssueLink(const HumanTaskRecord& approval,
                                        const std::string& recipient) {
  if (approval.status != ToString(ApprovalStatus::kPending)) {
    return Status(StatusCode::kFailedPrecondition,
                  "The approval is " + approval.status + ", not pending", "invalid_transition");
  }
  MagicLink link{NewTokenSecret(), approval.expires_at};
  ApprovalLinkRecord record;
  record.token_hash = HashToken(link.token);
  record.approval_id = approval.id;
  record.workspace_id = approval.workspace_id;
  record.recipient = recipient;
  record.expires_at = approval.expires_at;
  record.created_at = clock_.NowMs();
  if (Status s = store_.CreateApprovalLink(record); !s.ok()) {
    return s;
  }
  return link;
}

std::string HumanTasks::GoneReason(const ApprovalLinkRecord& link,
                                   const HumanTaskRecord& approval) const {
  if (link.used_at != 0) {
    return "it was used already";
  }
  if (approval.status != ToString(ApprovalStatus::kPending)) {
    return "the approval is " + approval.status;
  }
  if (link.expires_at <= clock_.NowMs()) {
    return "it expired";
  }
  return "";
}

Result<LinkView> HumanTasks::ViewLink(const std::string& token) {
  Result<ApprovalLinkRecord> link = store_.FindApprovalLink(HashToken(token));
  if (!link.ok()) {
    return link.status();
  }
  Result<HumanTaskRecord> approval = store_.GetHumanTask(link->approval_id);
  if (!approval.ok()) {
    return approval.status();
  }
  std::string reason = GoneReason(*link, *approval);
  return LinkView{std::move(link).value(), std::move(approval).value(), std::move(reason)};
}

Result<HumanTaskRecord> HumanTasks::DecideByLink(const std::string& token,
                                                 const DecisionRequest& request) {
  Result<LinkView> view = ViewLink(token);
  if (!view.ok()) {
    return view.status();
  }
  if (!view->gone_reason.empty()) {
    return Gone(view->gone_reason);
  }
  const ApprovalLinkRecord* link = &view->link;
  ApprovalDecision decision{link->recipient, "link:" + link->recipient,
                            request.approve, request.comment,
                            clock_.NowMs(),  "link"};
  Result<HumanTaskRecord> after =
      ApplyDecision(link->approval_id, std::move(decision), link->token_hash, link->workspace_id,
                    "link:" + link->recipient, "");
  if (!after.ok() && after.status().code() == StatusCode::kFailedPrecondition) {
    // Used meanwhile, or the approval closed meanwhile: the link is gone either way.
    return Gone(after.status().message());
  }
  return after;
}

Result<HumanTaskRecord> HumanTasks::SubmitForm(const RequestContext& ctx,
                                               const std::string& form_id, const json& data) {
  Result<HumanTaskRecord> task = Get(ctx, kFormKind, form_id);
  if (!task.ok()) {
    return task.status();
  }
  Result<Form> form = FormOf(*task);
  if (!form.ok()) {
    return form.status();
  }
  if (form->status != FormStatus::kOpen) {
    return Status(StatusCode::kFailedPrecondition,
                  "The form is " + std::string(ToString(form->status)) + ", not open",
                  "invalid_transition");
  }
  if (std::vector<SchemaError> errors = Validate(form->policy.schema, data); !errors.empty()) {
    return InvalidArgument("The data does not match the form's schema",
                           {.errors = std::move(errors)});
  }
  const Principal& p = ctx.principal;
  HumanTaskChange c;
  c.task_id = form_id;
  c.change = [&](const HumanTaskRecord& before) -> Result<std::optional<HumanTaskRecord>> {
    Result<Form> f = FormOf(before);
    if (!f.ok()) {
      return f.status();
    }
    if (Status s = sw::Submit(*f, data, clock_.NowMs(), p.token_name); !s.ok()) {
      return s;
    }
    HumanTaskRecord after = before;
    StoreInto(*f, after);
    return std::optional(std::move(after));
  };
  c.audit = [&](const HumanTaskRecord& before, const HumanTaskRecord& after) {
    return Audit(p.workspace_id, p.actor(), "form.submit", "", ctx.request_id, before, after);
  };
  return engine_.ChangeHumanTask(c);
}

}  // namespace sw
