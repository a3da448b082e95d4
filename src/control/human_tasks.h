// HumanTasks is what the API calls for approvals and forms: the inbox, decisions (by
// token or by magic link), links, and form submits. It checks the caller's workspace
// (another workspace's task is "not found") and who may decide (core/approval.h's
// MayDecide), and changes a task only through Engine::ChangeHumanTask, so a decision,
// an expiry and a cancel racing each other commit exactly one outcome.
//
// Thread-safe; blocks on commits.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "control/service.h"
#include "core/result.h"
#include "engine/engine.h"
#include "store/store.h"

namespace sw {

struct DecisionRequest {
  bool approve = false;
  std::string comment;
  std::string via = "api";  // "api" or "ui"
};

struct MagicLink {
  std::string token;  // the secret; only its hash is stored
  int64_t expires_at = 0;
};

// A magic link as its page shows it: the approval, and why the link no longer decides
// (empty while it does).
struct LinkView {
  ApprovalLinkRecord link;
  HumanTaskRecord approval;
  std::string gone_reason;
};

class HumanTasks {
 public:
  HumanTasks(Store& store, Engine& engine, const Clock& clock, IdSource& ids)
      : store_(store), engine_(engine), clock_(clock), ids_(ids) {}

  Result<HumanTaskPage> List(const RequestContext& ctx, const HumanTaskFilter& filter);
  // A task of `kind` ("approval", "form") in the caller's workspace.
  Result<HumanTaskRecord> Get(const RequestContext& ctx, const std::string& kind,
                              const std::string& id);

  // kPermissionDenied when the caller is not among the approvers; kFailedPrecondition
  // "invalid_transition" when the approval is not pending or the caller decided it.
  Result<HumanTaskRecord> Decide(const RequestContext& ctx, const std::string& approval_id,
                                 const DecisionRequest& request);
  // A one-use link for `recipient` that decides the pending approval until it expires.
  Result<MagicLink> CreateLink(const RequestContext& ctx, const std::string& approval_id,
                               const std::string& recipient);
  // A link for a notification's recipient (the outbox's LinkMinter): the path
  // "/approve/<token>". No caller: the notification already went to the workspace.
  Result<std::string> MintLinkPath(const std::string& approval_id, const std::string& recipient);
  // The link's approval; kNotFound for a token no link has.
  Result<LinkView> ViewLink(const std::string& token);
  // Decides by the link (via "link", by its recipient): kFailedPrecondition with
  // reason "gone" when it is used, expired or its approval closed.
  Result<HumanTaskRecord> DecideByLink(const std::string& token, const DecisionRequest& request);

  // Validates `data` with the form's schema: kInvalidArgument with each
  // error (path, message) in the detail's `errors` and nothing changes; a form not open is
  // kFailedPrecondition "invalid_transition".
  Result<HumanTaskRecord> SubmitForm(const RequestContext& ctx, const std::string& form_id,
                                     const nlohmann::json& data);

 private:
  // A link to the pending `approval` for `recipient`.
  Result<MagicLink> IssueLink(const HumanTaskRecord& approval, const std::string& recipient);
  // The audit entry of a change of `before` into `after`.
  AuditEntry Audit(const std::string& workspace_id, const std::string& actor, std::string action,
                   std::string reason, const std::string& request_id, const HumanTaskRecord& before,
                   const HumanTaskRecord& after) const;
  // Why `link` no longer decides its approval now ("" while it does).
  std::string GoneReason(const ApprovalLinkRecord& link, const HumanTaskRecord& approval) const;
  Result<HumanTaskRecord> ApplyDecision(const std::string& approval_id, ApprovalDecision decision,
                                        std::optional<std::string> link_hash,
                                        const std::string& workspace_id, const std::string& actor,
                                        const std::string& request_id);

  Store& store_;
  Engine& engine_;
  const Clock& clock_;
  IdSource& ids_;
};

}  // namespace sw
