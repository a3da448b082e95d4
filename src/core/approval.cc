#include "core/approval.h"

#include <algorithm>

#include "core/with_fields.h"

namespace sw {

using nlohmann::json;

namespace {

constexpr int kMaxRequired = 100;

Status NotPending(const Approval& a) {
  return Status(StatusCode::kFailedPrecondition,
                "The approval is " + std::string(ToString(a.status)) + ", not pending",
                "invalid_transition");
}

// One of `names` spelled as `value`, as its index; nullopt otherwise.
template <typename E, size_t N>
std::optional<E> ParseEnum(std::string_view value, const std::string_view (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == value) {
      return static_cast<E>(i);
    }
  }
  return std::nullopt;
}

constexpr std::string_view kStatusNames[] = {"pending", "approved", "denied", "expired"};
constexpr std::string_view kOnTimeoutNames[] = {"deny", "proceed", "escalate"};
constexpr std::string_view kOnDenyNames[] = {"fail", "continue"};
constexpr std::string_view kReversibilityNames[] = {"safe", "recoverable", "irreversible"};

// `with.<field>`, when present, is one of `names`.
template <typename E, size_t N>
Status ParseEnumField(const json& with, std::string_view field, const std::string_view (&names)[N],
                      E& out) {
  if (!with.contains(field)) {
    return Status::Ok();
  }
  const json& v = with[std::string(field)];
  std::optional<E> parsed =
      v.is_string() ? ParseEnum<E>(v.get<std::string>(), names) : std::nullopt;
  if (!parsed) {
    std::string allowed;
    for (std::string_view n : names) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(n);
    }
    return WithFieldError(field, "must be one of " + allowed);
  }
  out = *parsed;
  return Status::Ok();
}

json DecisionJson(const ApprovalDecision& d) {
  return json{{"by", d.by},
              {"principal", d.principal},
              {"decision", d.approve ? "approve" : "deny"},
              {"comment", d.comment.empty() ? json() : json(d.comment)},
              {"at", d.at},
              {"via", d.via}};
}

std::vector<std::string> DecidersOf(const Approval& a) {
  std::vector<std::string> by;
  for (const ApprovalDecision& d : a.decisions) {
    by.push_back(d.by);
  }
  return by;
}

// The comment of the decision that resolved the approval (the last one), or null.
json LastComment(const Approval& a) {
  if (a.decisions.empty() || a.decisions.back().comment.empty()) {
    return json();
  }
  return a.decisions.back().comment;
}

Status Corrupt(const std::string& what) {
  return Status(StatusCode::kInternal, "stored approval does not parse: " + what,
                "data_corruption");
}

}  // namespace

std::string_view ToString(ApprovalStatus s) { return kStatusNames[static_cast<int>(s)]; }
std::string_view ToString(OnTimeout p) { return kOnTimeoutNames[static_cast<int>(p)]; }
std::string_view ToString(OnDeny p) { return kOnDenyNames[static_cast<int>(p)]; }
std::string_view ToString(Reversibility r) { return kReversibilityNames[static_cast<int>(r)]; }

std::optional<ApprovalStatus> ParseApprovalStatus(std::string_view s) {
  return ParseEnum<ApprovalStatus>(s, kStatusNames);
}

json Approvers::ToJson() const {
  return tokens.empty() ? json{{"role", role}} : json{{"tokens", tokens}};
}

Result<Approvers> Approvers::Parse(const json& value) {
  Approvers a;
  if (value.is_string()) {
    a.role = value.get<std::string>();
  } else if (value.is_object() && value.size() == 1 && value.contains("role") &&
             value["role"].is_string()) {
    a.role = value["role"].get<std::string>();
  } else if (value.is_object() && value.size() == 1 && value.contains("tokens") &&
             value["tokens"].is_array() && !value["tokens"].empty()) {
    for (const json& name : value["tokens"]) {
      if (!name.is_string() || name.get<std::string>().empty()) {
        return InvalidArgument("tokens must be a list of token names");
      }
      a.tokens.push_back(name.get<std::string>());
    }
    std::sort(a.tokens.begin(), a.tokens.end());
    a.tokens.erase(std::unique(a.tokens.begin(), a.tokens.end()), a.tokens.end());
    return a;
  } else {
    return InvalidArgument(
        R"(must be "operator", "admin", {"role": "operator"|"admin"} or {"tokens": [names]})");
  }
  if (a.role != "operator" && a.role != "admin") {
    return InvalidArgument("role must be \"operator\" or \"admin\"");
  }
  return a;
}

Result<ApprovalPolicy> ApprovalPolicy::Parse(const json& with) {
  ApprovalPolicy p;
  Result<std::string> message = WithMessage(with, "message");
  if (!message.ok()) {
    return message.status();
  }
  p.message = std::move(message).value();
  for (const char* field : {"approvers", "escalate_to"}) {
    if (!with.contains(field)) {
      continue;
    }
    Result<Approvers> a = Approvers::Parse(with[field]);
    if (!a.ok()) {
      return WithFieldError(field, a.status().message());
    }
    (std::string_view(field) == "approvers" ? p.approvers : p.escalate_to.emplace()) = *a;
  }
  if (with.contains("required")) {
    const json& r = with["required"];
    if (!r.is_number_integer() || r.get<int64_t>() < 1 || r.get<int64_t>() > kMaxRequired) {
      return WithFieldError("required",
                            "must be an integer from 1 to " + std::to_string(kMaxRequired));
    }
    p.required = r.get<int>();
  }
  Result<std::optional<int64_t>> expires_in = WithDurationMs(with, "expires_in");
  if (!expires_in.ok()) {
    return expires_in.status();
  }
  p.expires_in_ms = expires_in->value_or(p.expires_in_ms);
  if (Status s = ParseEnumField(with, "on_timeout", kOnTimeoutNames, p.on_timeout); !s.ok()) {
    return s;
  }
  if (Status s = ParseEnumField(with, "on_deny", kOnDenyNames, p.on_deny); !s.ok()) {
    return s;
  }
  if (Status s = ParseEnumField(with, "reversibility", kReversibilityNames, p.reversibility);
      !s.ok()) {
    return s;
  }
  for (const Approvers* a : {&p.approvers, p.escalate_to ? &*p.escalate_to : nullptr}) {
    if (a != nullptr && !a->tokens.empty() && static_cast<int>(a->tokens.size()) < p.required) {
      return WithFieldError(
          "required", "is more than the " + std::to_string(a->tokens.size()) + " named approvers");
    }
  }
  if (p.on_timeout == OnTimeout::kEscalate && !p.escalate_to) {
    return WithFieldError("escalate_to", "is required when on_timeout is escalate");
  }
  if (p.on_timeout != OnTimeout::kEscalate && p.escalate_to) {
    return WithFieldError("escalate_to", "applies only when on_timeout is escalate");
  }
  return p;
}

Approval Approval::Open(ApprovalPolicy policy, int64_t now) {
  Approval a;
  a.expires_at = now + policy.expires_in_ms;
  a.policy = std::move(policy);
  return a;
}

const Approvers& Approval::current_approvers() const {
  return escalated && policy.escalate_to ? *policy.escalate_to : policy.approvers;
}

json Approval::ToJson() const {
  json decisions_json = json::array();
  for (const ApprovalDecision& d : decisions) {
    decisions_json.push_back(DecisionJson(d));
  }
  json body{{"message", policy.message},
            {"approvers", policy.approvers.ToJson()},
            {"required", policy.required},
            {"expires_in_ms", policy.expires_in_ms},
            {"on_timeout", ToString(policy.on_timeout)},
            {"escalate_to", policy.escalate_to ? policy.escalate_to->ToJson() : json()},
            {"reversibility", ToString(policy.reversibility)},
            {"on_deny", ToString(policy.on_deny)},
            {"escalated", escalated},
            {"expires_at", expires_at},
            {"decisions", std::move(decisions_json)}};
  return body;
}

json Approval::ResolutionJson() const {
  if (!resolution) {
    return json();
  }
  return json{{"status", ToString(resolution->status)},
              {"at", resolution->at},
              {"reason", resolution->reason},
              {"proceed", resolution->proceed}};
}

Result<Approval> Approval::FromJson(const json& body, std::string_view status_text,
                                    const json& resolution_json) {
  try {
    Approval a;
    json with = {{"message", body.at("message")},
                 {"approvers", body.at("approvers")},
                 {"required", body.at("required")},
                 {"on_timeout", body.at("on_timeout")},
                 {"reversibility", body.at("reversibility")},
                 {"on_deny", body.at("on_deny")}};
    if (!body.at("escalate_to").is_null()) {
      with["escalate_to"] = body["escalate_to"];
    }
    Result<ApprovalPolicy> policy = ApprovalPolicy::Parse(with);
    if (!policy.ok()) {
      return Corrupt(policy.status().message());
    }
    a.policy = std::move(policy).value();
    a.policy.expires_in_ms = body.at("expires_in_ms").get<int64_t>();
    std::optional<ApprovalStatus> status = ParseApprovalStatus(status_text);
    if (!status) {
      return Corrupt("status " + std::string(status_text));
    }
    a.status = *status;
    a.escalated = body.at("escalated").get<bool>();
    a.expires_at = body.at("expires_at").get<int64_t>();
    for (const json& d : body.at("decisions")) {
      a.decisions.push_back(
          ApprovalDecision{d.at("by").get<std::string>(), d.at("principal").get<std::string>(),
                           d.at("decision").get<std::string>() == "approve",
                           d.at("comment").is_string() ? d["comment"].get<std::string>() : "",
                           d.at("at").get<int64_t>(), d.at("via").get<std::string>()});
    }
    if (const json& r = resolution_json; !r.is_null()) {
      std::optional<ApprovalStatus> rs = ParseApprovalStatus(r.at("status").get<std::string>());
      if (!rs) {
        return Corrupt("resolution status " + r["status"].dump());
      }
      a.resolution =
          ApprovalResolution{*rs, r.at("at").get<int64_t>(), r.at("reason").get<std::string>(),
                             r.at("proceed").get<bool>()};
    }
    return a;
  } catch (const json::exception& e) {
    return Corrupt(e.what());
  }
}

bool MayDecide(const Approval& approval, const Decider& who) {
  const Approvers& approvers = approval.current_approvers();
  if (!approvers.tokens.empty()) {
    return std::binary_search(approvers.tokens.begin(), approvers.tokens.end(), who.token_name);
  }
  return who.role == "admin" || (approvers.role == "operator" && who.role == "operator");
}

Status Decide(Approval& approval, ApprovalDecision decision) {
  if (approval.status != ApprovalStatus::kPending) {
    return NotPending(approval);
  }
  for (const ApprovalDecision& earlier : approval.decisions) {
    if (earlier.principal == decision.principal) {
      return Status(StatusCode::kFailedPrecondition, decision.by + " has already decided",
                    "invalid_transition");
    }
  }
  const bool approve = decision.approve;
  const int64_t at = decision.at;
  const std::string by = decision.by;
  approval.decisions.push_back(std::move(decision));
  if (!approve) {
    approval.status = ApprovalStatus::kDenied;
    approval.resolution = ApprovalResolution{approval.status, at, "denied by " + by};
    return Status::Ok();
  }
  const auto approvals = std::count_if(approval.decisions.begin(), approval.decisions.end(),
                                       [](const ApprovalDecision& d) { return d.approve; });
  if (approvals >= approval.policy.required) {
    approval.status = ApprovalStatus::kApproved;
    approval.resolution =
        ApprovalResolution{approval.status, at,
                           std::to_string(approvals) + " of " +
                               std::to_string(approval.policy.required) + " approved"};
  }
  return Status::Ok();
}

Status Expire(Approval& approval, int64_t now) {
  if (approval.status != ApprovalStatus::kPending) {
    return NotPending(approval);
  }
  if (approval.policy.on_timeout == OnTimeout::kEscalate && !approval.escalated) {
    approval.escalated = true;
    approval.expires_at = now + approval.policy.expires_in_ms;
    return Status::Ok();
  }
  approval.status = ApprovalStatus::kExpired;
  std::string reason = approval.escalated ? "escalation expired" : "expired";
  approval.resolution = ApprovalResolution{approval.status, now, std::move(reason),
                                           approval.policy.on_timeout == OnTimeout::kProceed};
  return Status::Ok();
}

void Close(Approval& approval, int64_t now, std::string reason) {
  if (approval.status == ApprovalStatus::kPending) {
    approval.status = ApprovalStatus::kExpired;
    approval.resolution = ApprovalResolution{approval.status, now, std::move(reason)};
  }
}

std::optional<ApprovalStepResult> StepResultOf(const Approval& approval) {
  switch (approval.status) {
    case ApprovalStatus::kPending:
      return std::nullopt;
    case ApprovalStatus::kApproved:
      return ApprovalStepResult{true,
                                json{{"decision", "approved"},
                                     {"decided_by", DecidersOf(approval)},
                                     {"comment", LastComment(approval)}},
                                json()};
    case ApprovalStatus::kDenied:
      if (approval.policy.on_deny == OnDeny::kContinue) {
        return ApprovalStepResult{true,
                                  json{{"decision", "denied"},
                                       {"decided_by", DecidersOf(approval)},
                                       {"comment", LastComment(approval)}},
                                  json()};
      }
      return ApprovalStepResult{
          false, json(),
          json{{"message", "the approval was denied by " + approval.decisions.back().by},
               {"code", "approval_denied"}}};
    case ApprovalStatus::kExpired:
      if (approval.resolution && approval.resolution->proceed) {
        return ApprovalStepResult{true, json{{"decision", "proceeded"}}, json()};
      }
      return ApprovalStepResult{false, json(),
                                json{{"message", "the approval expired without a decision"},
                                     {"code", "approval_expired"}}};
  }
  return std::nullopt;
}

}  // namespace sw
