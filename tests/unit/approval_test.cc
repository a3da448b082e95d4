// The approval's rules (core/approval.h) against API.md "Approvals": the step's `with`,
// who may decide, N distinct approvers, one deny, each on_timeout policy, a run that
// ends, what the waiting step gets, and the stored form.
#include "core/approval.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sw {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'700'000'000'000;
constexpr int64_t kHour = 3600 * 1000;

ApprovalPolicy Policy(json with) {
  Result<ApprovalPolicy> p = ApprovalPolicy::Parse(with);
  EXPECT_TRUE(p.ok()) << with.dump() << ": " << p.status().message();
  return p.ok() ? *p : ApprovalPolicy{};
}

Approval OpenWith(json with) { return Approval::Open(Policy(std::move(with)), kNow); }

ApprovalDecision Approve(const std::string& name, int64_t at = kNow + 1) {
  return ApprovalDecision{name, "token:" + name, true, "", at, "api"};
}

ApprovalDecision Deny(const std::string& name, std::string comment = "", int64_t at = kNow + 1) {
  return ApprovalDecision{name, "token:" + name, false, std::move(comment), at, "api"};
}

// Expects Parse of `with` to be refused naming `field`.
void ExpectRefused(const json& with, const std::string& field) {
  Result<ApprovalPolicy> p = ApprovalPolicy::Parse(with);
  ASSERT_FALSE(p.ok()) << with.dump();
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << with.dump();
  EXPECT_EQ(p.status().reason(), "invalid_request");
  EXPECT_EQ(p.status().detail().field, field) << with.dump();
  EXPECT_EQ(p.status().message().rfind(field + ": ", 0), 0u) << p.status().message();
}

void ExpectInvalidTransition(const Status& s) {
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.message();
  EXPECT_EQ(s.reason(), "invalid_transition");
}

TEST(ApprovalPolicy, DefaultsFollowTheContract) {
  ApprovalPolicy p = Policy({{"message", "Refund ${{ input.amount }}?"}});
  EXPECT_EQ(p.message, "Refund ${{ input.amount }}?");
  EXPECT_EQ(p.approvers.role, "operator");
  EXPECT_TRUE(p.approvers.tokens.empty());
  EXPECT_EQ(p.required, 1);
  EXPECT_EQ(p.expires_in_ms, 24 * kHour);
  EXPECT_EQ(p.on_timeout, OnTimeout::kDeny);
  EXPECT_FALSE(p.escalate_to.has_value());
  EXPECT_EQ(p.reversibility, Reversibility::kRecoverable);
  EXPECT_EQ(p.on_deny, OnDeny::kFail);
}

TEST(ApprovalPolicy, ParsesEveryField) {
  ApprovalPolicy p = Policy({{"message", "Drop the table?"},
                             {"approvers", {{"tokens", {"bob", "alice", "bob"}}}},
                             {"required", 2},
                             {"expires_in", "30m"},
                             {"on_timeout", "escalate"},
                             {"escalate_to", {{"role", "admin"}}},
                             {"reversibility", "irreversible"},
                             {"on_deny", "continue"}});
  EXPECT_EQ(p.message, "Drop the table?");
  // Named approvers are a set: sorted, each once.
  EXPECT_EQ(p.approvers.tokens, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(p.required, 2);
  EXPECT_EQ(p.expires_in_ms, 30 * 60 * 1000);
  EXPECT_EQ(p.on_timeout, OnTimeout::kEscalate);
  ASSERT_TRUE(p.escalate_to.has_value());
  EXPECT_EQ(p.escalate_to->role, "admin");
  EXPECT_TRUE(p.escalate_to->tokens.empty());
  EXPECT_EQ(p.reversibility, Reversibility::kIrreversible);
  EXPECT_EQ(p.on_deny, OnDeny::kContinue);

  EXPECT_EQ(Policy({{"message", "m"}, {"on_timeout", "proceed"}}).on_timeout, OnTimeout::kProceed);
  EXPECT_EQ(Policy({{"message", "m"}, {"on_timeout", "deny"}}).on_timeout, OnTimeout::kDeny);
  EXPECT_EQ(Policy({{"message", "m"}, {"reversibility", "safe"}}).reversibility,
            Reversibility::kSafe);
  EXPECT_EQ(Policy({{"message", "m"}, {"on_deny", "fail"}}).on_deny, OnDeny::kFail);
  EXPECT_EQ(Policy({{"message", "m"}, {"required", 100}}).required, 100);
}

TEST(ApprovalPolicy, RefusesEachBadFieldNamingIt) {
  const json base = {{"message", "m"}};
  auto with = [&](const std::string& field, json value) {
    json w = base;
    w[field] = std::move(value);
    return w;
  };
  ExpectRefused(json::object(), "with.message");
  ExpectRefused({{"message", ""}}, "with.message");
  ExpectRefused({{"message", 7}}, "with.message");
  // More approvals required than there are named approvers: it could never approve.
  ExpectRefused({{"message", "m"}, {"approvers", {{"tokens", {"ada", "bob"}}}}, {"required", 3}},
                "with.required");
  ExpectRefused({{"message", "m"},
                 {"required", 2},
                 {"on_timeout", "escalate"},
                 {"escalate_to", {{"tokens", {"ada"}}}}},
                "with.required");
  ExpectRefused(with("approvers", "viewer"), "with.approvers");
  ExpectRefused(with("approvers", {{"role", "viewer"}}), "with.approvers");
  ExpectRefused(with("approvers", {{"tokens", json::array()}}), "with.approvers");
  ExpectRefused(with("approvers", {{"tokens", {"alice", 3}}}), "with.approvers");
  ExpectRefused(with("approvers", 5), "with.approvers");
  ExpectRefused(with("required", 0), "with.required");
  ExpectRefused(with("required", 101), "with.required");
  ExpectRefused(with("required", "2"), "with.required");
  ExpectRefused(with("required", 1.5), "with.required");
  ExpectRefused(with("expires_in", "soon"), "with.expires_in");
  ExpectRefused(with("expires_in", "0s"), "with.expires_in");
  ExpectRefused(with("expires_in", 3600), "with.expires_in");
  ExpectRefused(with("on_timeout", "ignore"), "with.on_timeout");
  ExpectRefused(with("on_timeout", 1), "with.on_timeout");
  ExpectRefused(with("on_deny", "retry"), "with.on_deny");
  ExpectRefused(with("reversibility", "maybe"), "with.reversibility");
  // escalate_to goes with on_timeout: escalate, and only with it.
  ExpectRefused(with("on_timeout", "escalate"), "with.escalate_to");
  ExpectRefused(with("escalate_to", "admin"), "with.escalate_to");
  json bad_escalation = with("on_timeout", "escalate");
  bad_escalation["escalate_to"] = {{"role", "owner"}};
  ExpectRefused(bad_escalation, "with.escalate_to");
}

TEST(Approvers, ParsesARoleOrNamedTokens) {
  Result<Approvers> a = Approvers::Parse("admin");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->role, "admin");
  EXPECT_TRUE(a->tokens.empty());
  EXPECT_EQ(a->ToJson(), json({{"role", "admin"}}));

  a = Approvers::Parse({{"role", "operator"}});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->role, "operator");

  a = Approvers::Parse({{"tokens", {"carol", "alice"}}});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->tokens, (std::vector<std::string>{"alice", "carol"}));
  EXPECT_EQ(a->ToJson(), json({{"tokens", {"alice", "carol"}}}));
}

TEST(Approvers, RefusesAnythingElse) {
  for (const json& value :
       {json("viewer"), json(""), json({{"role", "viewer"}}), json({{"role", 1}}),
        json({{"tokens", json::array()}}), json({{"tokens", {""}}}), json({{"tokens", "alice"}}),
        json({{"role", "admin"}, {"tokens", {"alice"}}}), json::object(), json(nullptr),
        json::array({"alice"})}) {
    Result<Approvers> a = Approvers::Parse(value);
    ASSERT_FALSE(a.ok()) << value.dump();
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << value.dump();
  }
}

TEST(Approval, OpensPendingUntilItsExpiry) {
  Approval a = OpenWith({{"message", "m"}, {"expires_in", "2h"}});
  EXPECT_EQ(a.status, ApprovalStatus::kPending);
  EXPECT_FALSE(a.escalated);
  EXPECT_EQ(a.expires_at, kNow + 2 * kHour);
  EXPECT_TRUE(a.decisions.empty());
  EXPECT_FALSE(a.resolution.has_value());
  EXPECT_TRUE(a.ResolutionJson().is_null());
  EXPECT_FALSE(StepResultOf(a).has_value());
}

TEST(MayDecide, OperatorRoleAdmitsOperatorsAndAdmins) {
  Approval a = OpenWith({{"message", "m"}});
  EXPECT_TRUE(MayDecide(a, {"ops", "operator"}));
  EXPECT_TRUE(MayDecide(a, {"root", "admin"}));
  EXPECT_FALSE(MayDecide(a, {"watcher", "viewer"}));
}

TEST(MayDecide, AdminRoleAdmitsAdminsOnly) {
  Approval a = OpenWith({{"message", "m"}, {"approvers", {{"role", "admin"}}}});
  EXPECT_TRUE(MayDecide(a, {"root", "admin"}));
  EXPECT_FALSE(MayDecide(a, {"ops", "operator"}));
  EXPECT_FALSE(MayDecide(a, {"watcher", "viewer"}));
}

TEST(MayDecide, NamedTokensAdmitOnlyThoseNames) {
  Approval a = OpenWith({{"message", "m"}, {"approvers", {{"tokens", {"alice", "bob"}}}}});
  EXPECT_TRUE(MayDecide(a, {"alice", "operator"}));
  EXPECT_TRUE(MayDecide(a, {"bob", "operator"}));
  EXPECT_FALSE(MayDecide(a, {"carol", "operator"}));
  EXPECT_FALSE(MayDecide(a, {"root", "admin"}));
}

TEST(MayDecide, AfterEscalationTheEscalateToApproversDecide) {
  Approval a = OpenWith({{"message", "m"},
                         {"approvers", {{"tokens", {"alice"}}}},
                         {"on_timeout", "escalate"},
                         {"escalate_to", {{"tokens", {"boss"}}}}});
  EXPECT_TRUE(MayDecide(a, {"alice", "operator"}));
  EXPECT_FALSE(MayDecide(a, {"boss", "operator"}));
  ASSERT_TRUE(Expire(a, a.expires_at).ok());
  ASSERT_TRUE(a.escalated);
  EXPECT_EQ(a.current_approvers().tokens, std::vector<std::string>{"boss"});
  EXPECT_TRUE(MayDecide(a, {"boss", "operator"}));
  EXPECT_FALSE(MayDecide(a, {"alice", "operator"}));
}

TEST(Decide, OneDenyDenies) {
  Approval a = OpenWith({{"message", "m"}, {"required", 2}});
  ASSERT_TRUE(Decide(a, Approve("alice")).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kPending);
  ASSERT_TRUE(Decide(a, Deny("bob", "not today", kNow + 5)).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kDenied);
  ASSERT_TRUE(a.resolution.has_value());
  EXPECT_EQ(a.resolution->status, ApprovalStatus::kDenied);
  EXPECT_EQ(a.resolution->at, kNow + 5);
  EXPECT_EQ(a.resolution->reason, "denied by bob");
  EXPECT_FALSE(a.resolution->proceed);
  ASSERT_EQ(a.decisions.size(), 2u);
  EXPECT_FALSE(a.decisions[1].approve);
  EXPECT_EQ(a.decisions[1].comment, "not today");
}

TEST(Decide, TheRequiredDistinctApprovalApproves) {
  Approval a = OpenWith({{"message", "m"}, {"required", 3}});
  ASSERT_TRUE(Decide(a, Approve("alice", kNow + 1)).ok());
  ASSERT_TRUE(Decide(a, Approve("bob", kNow + 2)).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kPending);
  EXPECT_FALSE(a.resolution.has_value());
  ASSERT_TRUE(Decide(a, Approve("carol", kNow + 3)).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kApproved);
  ASSERT_TRUE(a.resolution.has_value());
  EXPECT_EQ(a.resolution->status, ApprovalStatus::kApproved);
  EXPECT_EQ(a.resolution->at, kNow + 3);
  EXPECT_EQ(a.resolution->reason, "3 of 3 approved");
}

TEST(Decide, TheSamePrincipalTwiceIsRefusedAndChangesNothing) {
  Approval a = OpenWith({{"message", "m"}, {"required", 2}});
  ASSERT_TRUE(Decide(a, Approve("alice")).ok());
  ExpectInvalidTransition(Decide(a, Approve("alice", kNow + 2)));
  // A deny by the same principal does not count either.
  ExpectInvalidTransition(Decide(a, Deny("alice")));
  EXPECT_EQ(a.status, ApprovalStatus::kPending);
  EXPECT_EQ(a.decisions.size(), 1u);
  // Distinct is by principal, not by the name shown: a link recipient named like a token
  // is someone else.
  ASSERT_TRUE(Decide(a, ApprovalDecision{"alice", "link:alice", true, "", kNow + 3, "link"}).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kApproved);
}

TEST(Decide, ADecidedApprovalIsNotPending) {
  Approval approved = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Decide(approved, Approve("alice")).ok());
  ExpectInvalidTransition(Decide(approved, Deny("bob")));
  EXPECT_EQ(approved.status, ApprovalStatus::kApproved);
  EXPECT_EQ(approved.decisions.size(), 1u);

  Approval denied = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Decide(denied, Deny("alice")).ok());
  ExpectInvalidTransition(Decide(denied, Approve("bob")));

  Approval expired = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Expire(expired, expired.expires_at).ok());
  ExpectInvalidTransition(Decide(expired, Approve("bob")));
  EXPECT_TRUE(expired.decisions.empty());
}

TEST(Expire, DenyExpiresAndTheStepFails) {
  Approval a = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Expire(a, kNow + 24 * kHour).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kExpired);
  ASSERT_TRUE(a.resolution.has_value());
  EXPECT_EQ(a.resolution->status, ApprovalStatus::kExpired);
  EXPECT_EQ(a.resolution->at, kNow + 24 * kHour);
  EXPECT_EQ(a.resolution->reason, "expired");
  EXPECT_FALSE(a.resolution->proceed);
}

TEST(Expire, ProceedExpiresAndTheStepGoesOn) {
  Approval a = OpenWith({{"message", "m"}, {"on_timeout", "proceed"}});
  ASSERT_TRUE(Expire(a, kNow + 24 * kHour).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kExpired);
  ASSERT_TRUE(a.resolution.has_value());
  EXPECT_EQ(a.resolution->reason, "expired");
  EXPECT_TRUE(a.resolution->proceed);
}

TEST(Expire, EscalateOnceWithAFreshExpiryThenTheSecondExpiryDenies) {
  Approval a = OpenWith({{"message", "m"},
                         {"expires_in", "1h"},
                         {"on_timeout", "escalate"},
                         {"escalate_to", {{"role", "admin"}}}});
  const int64_t first = kNow + kHour + 10;
  ASSERT_TRUE(Expire(a, first).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kPending);
  EXPECT_TRUE(a.escalated);
  EXPECT_EQ(a.expires_at, first + kHour);
  EXPECT_FALSE(a.resolution.has_value());
  EXPECT_FALSE(StepResultOf(a).has_value());

  ASSERT_TRUE(Expire(a, a.expires_at).ok());
  EXPECT_EQ(a.status, ApprovalStatus::kExpired);
  ASSERT_TRUE(a.resolution.has_value());
  EXPECT_EQ(a.resolution->reason, "escalation expired");
  EXPECT_FALSE(a.resolution->proceed);
  std::optional<ApprovalStepResult> r = StepResultOf(a);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->completes);
  EXPECT_EQ(r->error.value("code", ""), "approval_expired");
}

TEST(Expire, ADecidedApprovalIsNotPending) {
  Approval a = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Decide(a, Approve("alice")).ok());
  ExpectInvalidTransition(Expire(a, a.expires_at));
  EXPECT_EQ(a.status, ApprovalStatus::kApproved);

  Approval expired = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Expire(expired, expired.expires_at).ok());
  ExpectInvalidTransition(Expire(expired, expired.expires_at + 1));
  EXPECT_EQ(expired.resolution->at, expired.expires_at);
}

TEST(Close, APendingApprovalExpiresWithTheReason) {
  Approval a = OpenWith({{"message", "m"}, {"on_timeout", "proceed"}});
  Close(a, kNow + 7, "run cancelled");
  EXPECT_EQ(a.status, ApprovalStatus::kExpired);
  ASSERT_TRUE(a.resolution.has_value());
  EXPECT_EQ(a.resolution->at, kNow + 7);
  EXPECT_EQ(a.resolution->reason, "run cancelled");
  // A run that ended is no expiry: on_timeout proceed does not apply.
  EXPECT_FALSE(a.resolution->proceed);
  EXPECT_EQ(a.ResolutionJson(), json({{"status", "expired"},
                                      {"at", kNow + 7},
                                      {"reason", "run cancelled"},
                                      {"proceed", false}}));
}

TEST(Close, ADecidedApprovalIsLeftAlone) {
  Approval a = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Decide(a, Approve("alice", kNow + 3)).ok());
  Close(a, kNow + 7, "run cancelled");
  EXPECT_EQ(a.status, ApprovalStatus::kApproved);
  EXPECT_EQ(a.resolution->reason, "1 of 1 approved");
  EXPECT_EQ(a.resolution->at, kNow + 3);
}

TEST(StepResultOf, ApprovedCompletesWithTheDecision) {
  Approval a = OpenWith({{"message", "m"}, {"required", 2}});
  ASSERT_TRUE(Decide(a, Approve("alice")).ok());
  ApprovalDecision last = Approve("bob");
  last.comment = "ship it";
  ASSERT_TRUE(Decide(a, last).ok());
  std::optional<ApprovalStepResult> r = StepResultOf(a);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->completes);
  EXPECT_EQ(
      r->output,
      json({{"decision", "approved"}, {"decided_by", {"alice", "bob"}}, {"comment", "ship it"}}));
  EXPECT_TRUE(r->error.is_null());
}

TEST(StepResultOf, ApprovedWithoutACommentHasANullComment) {
  Approval a = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Decide(a, Approve("alice")).ok());
  std::optional<ApprovalStepResult> r = StepResultOf(a);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->output.at("comment").is_null());
}

TEST(StepResultOf, DeniedFailsUnderOnDenyFail) {
  Approval a = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Decide(a, Deny("bob", "no")).ok());
  std::optional<ApprovalStepResult> r = StepResultOf(a);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->completes);
  EXPECT_TRUE(r->output.is_null());
  EXPECT_EQ(r->error.value("code", ""), "approval_denied");
  EXPECT_EQ(r->error.value("message", ""), "the approval was denied by bob");
}

TEST(StepResultOf, DeniedCompletesUnderOnDenyContinue) {
  Approval a = OpenWith({{"message", "m"}, {"on_deny", "continue"}, {"required", 2}});
  ASSERT_TRUE(Decide(a, Approve("alice")).ok());
  ASSERT_TRUE(Decide(a, Deny("bob", "too risky")).ok());
  std::optional<ApprovalStepResult> r = StepResultOf(a);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->completes);
  EXPECT_EQ(
      r->output,
      json({{"decision", "denied"}, {"decided_by", {"alice", "bob"}}, {"comment", "too risky"}}));
}

TEST(StepResultOf, ExpiredFailsUnderDenyAndCompletesUnderProceed) {
  Approval deny = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Expire(deny, deny.expires_at).ok());
  std::optional<ApprovalStepResult> r = StepResultOf(deny);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->completes);
  EXPECT_EQ(r->error, json({{"message", "the approval expired without a decision"},
                            {"code", "approval_expired"}}));

  Approval proceed = OpenWith({{"message", "m"}, {"on_timeout", "proceed"}});
  ASSERT_TRUE(Expire(proceed, proceed.expires_at).ok());
  r = StepResultOf(proceed);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->completes);
  EXPECT_EQ(r->output, json({{"decision", "proceeded"}}));
}

TEST(StepResultOf, ClosedByTheRunsEndIsApprovalExpired) {
  Approval a = OpenWith({{"message", "m"}, {"on_timeout", "proceed"}, {"on_deny", "continue"}});
  Close(a, kNow + 1, "run cancelled");
  std::optional<ApprovalStepResult> r = StepResultOf(a);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->completes);
  EXPECT_EQ(r->error.value("code", ""), "approval_expired");
}

// Stores `a` and reads it back as the store would hand it over.
Approval RoundTrip(const Approval& a) {
  const json body = json::parse(a.ToJson().dump());
  const json resolution = json::parse(a.ResolutionJson().dump());
  Result<Approval> back = Approval::FromJson(body, ToString(a.status), resolution);
  EXPECT_TRUE(back.ok()) << back.status().message();
  return back.ok() ? *back : Approval{};
}

void ExpectSameApproval(const Approval& a, const Approval& b) {
  EXPECT_EQ(a.ToJson(), b.ToJson());
  EXPECT_EQ(a.ResolutionJson(), b.ResolutionJson());
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.escalated, b.escalated);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.policy.message, b.policy.message);
  EXPECT_EQ(a.policy.approvers.role, b.policy.approvers.role);
  EXPECT_EQ(a.policy.approvers.tokens, b.policy.approvers.tokens);
  EXPECT_EQ(a.policy.required, b.policy.required);
  EXPECT_EQ(a.policy.expires_in_ms, b.policy.expires_in_ms);
  EXPECT_EQ(a.policy.on_timeout, b.policy.on_timeout);
  EXPECT_EQ(a.policy.escalate_to.has_value(), b.policy.escalate_to.has_value());
  EXPECT_EQ(a.policy.reversibility, b.policy.reversibility);
  EXPECT_EQ(a.policy.on_deny, b.policy.on_deny);
  ASSERT_EQ(a.decisions.size(), b.decisions.size());
  for (size_t i = 0; i < a.decisions.size(); ++i) {
    EXPECT_EQ(a.decisions[i].by, b.decisions[i].by);
    EXPECT_EQ(a.decisions[i].principal, b.decisions[i].principal);
    EXPECT_EQ(a.decisions[i].approve, b.decisions[i].approve);
    EXPECT_EQ(a.decisions[i].comment, b.decisions[i].comment);
    EXPECT_EQ(a.decisions[i].at, b.decisions[i].at);
    EXPECT_EQ(a.decisions[i].via, b.decisions[i].via);
  }
  ASSERT_EQ(a.resolution.has_value(), b.resolution.has_value());
  if (a.resolution) {
    EXPECT_EQ(a.resolution->proceed, b.resolution->proceed);
  }
}

TEST(ApprovalJson, RoundTripsEveryState) {
  const json escalating = {{"message", "Rotate the keys?"},
                           {"approvers", {{"tokens", {"alice", "bob"}}}},
                           {"required", 2},
                           {"expires_in", "90m"},
                           {"on_timeout", "escalate"},
                           {"escalate_to", {{"role", "admin"}}},
                           {"reversibility", "safe"},
                           {"on_deny", "continue"}};
  Approval pending = OpenWith(escalating);
  ExpectSameApproval(pending, RoundTrip(pending));

  Approval escalated = OpenWith(escalating);
  ASSERT_TRUE(Decide(escalated, ApprovalDecision{"alice", "link:alice@example.com", true,
                                                 "fine by me", kNow + 2, "link"})
                  .ok());
  ASSERT_TRUE(Expire(escalated, escalated.expires_at).ok());
  Approval back = RoundTrip(escalated);
  ExpectSameApproval(escalated, back);
  EXPECT_TRUE(MayDecide(back, {"root", "admin"}));
  EXPECT_FALSE(MayDecide(back, {"alice", "operator"}));

  Approval denied = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Decide(denied, Deny("bob", "", kNow + 4)).ok());
  ExpectSameApproval(denied, RoundTrip(denied));

  Approval proceeded = OpenWith({{"message", "m"}, {"on_timeout", "proceed"}});
  ASSERT_TRUE(Expire(proceeded, proceeded.expires_at).ok());
  back = RoundTrip(proceeded);
  ExpectSameApproval(proceeded, back);
  ASSERT_TRUE(StepResultOf(back).has_value());
  EXPECT_TRUE(StepResultOf(back)->completes);
}

TEST(ApprovalJson, ACorruptStoredFormIsDataCorruption) {
  Approval a = OpenWith({{"message", "m"}});
  ASSERT_TRUE(Decide(a, Approve("alice")).ok());
  const json body = a.ToJson();
  const json resolution = a.ResolutionJson();
  auto expect_corrupt = [](const json& b, std::string_view status, const json& r) {
    Result<Approval> back = Approval::FromJson(b, status, r);
    ASSERT_FALSE(back.ok()) << b.dump() << " " << status << " " << r.dump();
    EXPECT_EQ(back.status().code(), StatusCode::kInternal);
    EXPECT_EQ(back.status().reason(), "data_corruption") << back.status().message();
  };
  auto without = [&](const std::string& field) {
    json b = body;
    b.erase(field);
    return b;
  };
  auto with = [&](const std::string& field, json value) {
    json b = body;
    b[field] = std::move(value);
    return b;
  };
  expect_corrupt(json("not an object"), "approved", resolution);
  expect_corrupt(json::array(), "approved", resolution);
  for (const char* field :
       {"message", "approvers", "required", "expires_in_ms", "on_timeout", "escalate_to",
        "reversibility", "on_deny", "escalated", "expires_at", "decisions"}) {
    expect_corrupt(without(field), "approved", resolution);
  }
  expect_corrupt(with("required", 0), "approved", resolution);
  expect_corrupt(with("on_timeout", "sometimes"), "approved", resolution);
  expect_corrupt(with("escalated", "yes"), "approved", resolution);
  expect_corrupt(with("expires_at", "tomorrow"), "approved", resolution);
  expect_corrupt(with("decisions", json::array({json{{"by", "alice"}}})), "approved", resolution);
  expect_corrupt(body, "maybe", resolution);
  expect_corrupt(body, "", resolution);
  json bad_resolution = resolution;
  bad_resolution["status"] = "done";
  expect_corrupt(body, "approved", bad_resolution);
  bad_resolution = resolution;
  bad_resolution.erase("proceed");
  expect_corrupt(body, "approved", bad_resolution);
  expect_corrupt(body, "approved", json("approved"));
}

TEST(ApprovalStatusNames, RoundTripAndRefuseOthers) {
  for (ApprovalStatus s : {ApprovalStatus::kPending, ApprovalStatus::kApproved,
                           ApprovalStatus::kDenied, ApprovalStatus::kExpired}) {
    EXPECT_EQ(ParseApprovalStatus(ToString(s)), s);
  }
  EXPECT_EQ(ToString(ApprovalStatus::kPending), "pending");
  EXPECT_EQ(ToString(ApprovalStatus::kExpired), "expired");
  EXPECT_FALSE(ParseApprovalStatus("Pending").has_value());
  EXPECT_FALSE(ParseApprovalStatus("open").has_value());
  EXPECT_EQ(ToString(OnTimeout::kEscalate), "escalate");
  EXPECT_EQ(ToString(OnDeny::kContinue), "continue");
  EXPECT_EQ(ToString(Reversibility::kIrreversible), "irreversible");
}

}  // namespace
}  // namespace sw
