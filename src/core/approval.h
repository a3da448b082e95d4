// The rules of an approval (API.md "Approvals"): who may decide, what a decision does
// (N distinct approvers approve, one deny denies), what expiry does (on_timeout: deny,
// proceed, or escalate once to other approvers with a fresh expiry), and what the
// waiting step gets once it is resolved. The control layer (decisions, magic links)
// and the engine (expiry) both change approvals only through these functions.
//
// Pure value types and functions; thread-safe. Times are milliseconds since the epoch.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sw {

enum class ApprovalStatus { kPending, kApproved, kDenied, kExpired };
enum class OnTimeout { kDeny, kProceed, kEscalate };
enum class OnDeny { kFail, kContinue };
enum class Reversibility { kSafe, kRecoverable, kIrreversible };

std::string_view ToString(ApprovalStatus s);
std::string_view ToString(OnTimeout p);
std::string_view ToString(OnDeny p);
std::string_view ToString(Reversibility r);
std::optional<ApprovalStatus> ParseApprovalStatus(std::string_view s);

// Who may decide: tokens of at least `role` ("operator" or "admin"), or the tokens
// named in `tokens`.
struct Approvers {
  std::string role = "operator";
  std::vector<std::string> tokens;  // non-empty: only these token names

  nlohmann::json ToJson() const;
  // `value` as a definition writes it: "operator", {"role": "admin"} or
  // {"tokens": ["alice", "bob"]}. Errors name the problem (the caller prefixes the field).
  static Result<Approvers> Parse(const nlohmann::json& value);
};

// The step's `with`, checked: what the approval is created from.
struct ApprovalPolicy {
  std::string message;
  Approvers approvers;
  int required = 1;
  int64_t expires_in_ms = 24LL * 3600 * 1000;
  OnTimeout on_timeout = OnTimeout::kDeny;
  std::optional<Approvers> escalate_to;  // set when on_timeout is escalate
  Reversibility reversibility = Reversibility::kRecoverable;
  OnDeny on_deny = OnDeny::kFail;

  // The fields of the approval step's `with` (rendered, or as written: expressions
  // in `message` are not looked into). Errors are kInvalidArgument naming the field
  // ("with.required: ...").
  static Result<ApprovalPolicy> Parse(const nlohmann::json& with);
};

struct ApprovalDecision {
  std::string by;         // who, as shown: a token's name, or a link's recipient
  std::string principal;  // who, as counted for "distinct": "token:<id>" or "link:<recipient>"
  bool approve = false;
  std::string comment;
  int64_t at = 0;
  std::string via;  // "api", "ui" or "link"
};

struct ApprovalResolution {
  ApprovalStatus status = ApprovalStatus::kPending;
  int64_t at = 0;
  std::string reason;
  bool proceed = false;  // expired under on_timeout: proceed (the step completes)
};

// The state of one approval beside its ids (which its store record holds).
struct Approval {
  ApprovalPolicy policy;
  ApprovalStatus status = ApprovalStatus::kPending;
  bool escalated = false;
  int64_t expires_at = 0;
  std::vector<ApprovalDecision> decisions;
  std::optional<ApprovalResolution> resolution;

  // A new pending approval made `now` under `policy`.
  static Approval Open(ApprovalPolicy policy, int64_t now);

  // The stored form: the body (a JSON object: policy, decisions, escalation, expiry),
  // the status and the resolution (null while pending), and back. A stored form that
  // does not parse is kInternal "data_corruption".
  nlohmann::json ToJson() const;
  nlohmann::json ResolutionJson() const;
  static Result<Approval> FromJson(const nlohmann::json& body, std::string_view status,
                                   const nlohmann::json& resolution);
  // Approvers deciding now (escalate_to once escalated).
  const Approvers& current_approvers() const;
};

// The caller of a decision: its token's name and role ("viewer", "operator", "admin").
struct Decider {
  std::string token_name;
  std::string role;
};

// True when `who` may decide `approval` now (its current approvers).
bool MayDecide(const Approval& approval, const Decider& who);

// Records `decision` on a pending approval: a deny denies it; the `required`-th
// distinct approval approves it. kFailedPrecondition "invalid_transition" when it is
// not pending or the same principal decided already.
Status Decide(Approval& approval, ApprovalDecision decision);

// The approval's expiry at `now`: `on_timeout` applies (escalate only once; a second
// expiry denies: expired). kFailedPrecondition when it is not pending.
Status Expire(Approval& approval, int64_t now);

// Closes a pending approval because its run ended (`reason`, e.g. "run cancelled").
void Close(Approval& approval, int64_t now, std::string reason);

// What the waiting step gets from a resolved approval: its output (the step completes)
// or its error {message, code} (the step, and so the run, fails). Nothing while pending.
struct ApprovalStepResult {
  bool completes = false;
  nlohmann::json output;  // when it completes
  nlohmann::json error;   // when it fails
};
std::optional<ApprovalStepResult> StepResultOf(const Approval& approval);

}  // namespace sw
