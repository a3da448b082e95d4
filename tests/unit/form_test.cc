// The form's rules (core/form.h) against API.md "Forms": the step's `with`, a submit,
// expiry, what the waiting step gets, and the stored form.
#include "core/form.h"

#include <gtest/gtest.h>

#include <string>

namespace sw {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'700'000'000'000;

const json kSchema = {{"type", "object"},
                      {"required", {"amount"}},
                      {"properties", {{"amount", {{"type", "integer"}}}}}};

FormPolicy Policy(json with) {
  Result<FormPolicy> p = FormPolicy::Parse(with);
  EXPECT_TRUE(p.ok()) << with.dump() << ": " << p.status().message();
  return p.ok() ? *p : FormPolicy{};
}

void ExpectRefused(const json& with, const std::string& field) {
  Result<FormPolicy> p = FormPolicy::Parse(with);
  ASSERT_FALSE(p.ok()) << with.dump();
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << with.dump();
  EXPECT_EQ(p.status().detail().field, field) << with.dump();
  EXPECT_EQ(p.status().message().rfind(field + ": ", 0), 0u) << p.status().message();
}

void ExpectInvalidTransition(const Status& s) {
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.message();
  EXPECT_EQ(s.reason(), "invalid_transition");
}

TEST(FormPolicy, ParsesMessageSchemaAndExpiry) {
  FormPolicy p = Policy({{"message", "How much?"}, {"schema", kSchema}, {"expires_in", "2h"}});
  EXPECT_EQ(p.message, "How much?");
  EXPECT_EQ(p.schema, kSchema);
  ASSERT_TRUE(p.expires_in_ms.has_value());
  EXPECT_EQ(*p.expires_in_ms, 2 * 3600 * 1000);

  // Without expires_in a form waits for ever.
  EXPECT_FALSE(Policy({{"message", "m"}, {"schema", json::object()}}).expires_in_ms.has_value());
}

TEST(FormPolicy, RefusesEachBadFieldNamingIt) {
  ExpectRefused({{"schema", kSchema}}, "with.message");
  ExpectRefused({{"message", ""}, {"schema", kSchema}}, "with.message");
  ExpectRefused({{"message", 1}, {"schema", kSchema}}, "with.message");
  ExpectRefused({{"message", "m"}}, "with.schema");
  ExpectRefused({{"message", "m"}, {"schema", "object"}}, "with.schema");
  ExpectRefused({{"message", "m"}, {"schema", true}}, "with.schema");
  ExpectRefused({{"message", "m"}, {"schema", kSchema}, {"expires_in", "later"}},
                "with.expires_in");
  ExpectRefused({{"message", "m"}, {"schema", kSchema}, {"expires_in", "0m"}}, "with.expires_in");
  ExpectRefused({{"message", "m"}, {"schema", kSchema}, {"expires_in", 60}}, "with.expires_in");
}

TEST(Form, OpensOpenWithItsExpiry) {
  Form f = Form::Open(Policy({{"message", "m"}, {"schema", kSchema}, {"expires_in", "1h"}}), kNow);
  EXPECT_EQ(f.status, FormStatus::kOpen);
  EXPECT_EQ(f.expires_at, kNow + 3600 * 1000);
  EXPECT_TRUE(f.data.is_null());
  EXPECT_TRUE(f.resolution.is_null());
  EXPECT_FALSE(StepResultOf(f).has_value());

  Form forever = Form::Open(Policy({{"message", "m"}, {"schema", kSchema}}), kNow);
  EXPECT_EQ(forever.expires_at, 0);
}

TEST(Submit, AnOpenFormTakesTheDataOnce) {
  Form f = Form::Open(Policy({{"message", "m"}, {"schema", kSchema}}), kNow);
  ASSERT_TRUE(Submit(f, {{"amount", 5}}, kNow + 9, "ops").ok());
  EXPECT_EQ(f.status, FormStatus::kSubmitted);
  EXPECT_EQ(f.data, json({{"amount", 5}}));
  EXPECT_EQ(f.resolution,
            json({{"status", "submitted"}, {"at", kNow + 9}, {"reason", "submitted by ops"}}));

  ExpectInvalidTransition(Submit(f, {{"amount", 6}}, kNow + 10, "other"));
  EXPECT_EQ(f.data, json({{"amount", 5}}));
  ExpectInvalidTransition(Expire(f, kNow + 11));
  EXPECT_EQ(f.status, FormStatus::kSubmitted);
}

TEST(Expire, AnOpenFormClosesAndThenRefusesASubmit) {
  Form f = Form::Open(Policy({{"message", "m"}, {"schema", kSchema}, {"expires_in", "1m"}}), kNow);
  ASSERT_TRUE(Expire(f, f.expires_at).ok());
  EXPECT_EQ(f.status, FormStatus::kClosed);
  EXPECT_EQ(f.resolution,
            json({{"status", "closed"}, {"at", f.expires_at}, {"reason", "expired"}}));
  ExpectInvalidTransition(Submit(f, {{"amount", 1}}, f.expires_at + 1, "ops"));
  EXPECT_TRUE(f.data.is_null());
  ExpectInvalidTransition(Expire(f, f.expires_at + 2));
}

TEST(StepResultOf, SubmittedCompletesWithTheDataAndClosedFails) {
  Form submitted = Form::Open(Policy({{"message", "m"}, {"schema", kSchema}}), kNow);
  ASSERT_TRUE(Submit(submitted, {{"amount", 7}, {"note", "ok"}}, kNow + 1, "ops").ok());
  std::optional<FormStepResult> r = StepResultOf(submitted);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->completes);
  EXPECT_EQ(r->output, json({{"amount", 7}, {"note", "ok"}}));
  EXPECT_TRUE(r->error.is_null());

  Form expired = Form::Open(Policy({{"message", "m"}, {"schema", kSchema}}), kNow);
  ASSERT_TRUE(Expire(expired, kNow + 1).ok());
  r = StepResultOf(expired);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->completes);
  EXPECT_TRUE(r->output.is_null());
  EXPECT_EQ(r->error, json({{"message", "the form expired before it was submitted"},
                            {"code", "form_expired"}}));
}

Form RoundTrip(const Form& f) {
  Result<Form> back =
      Form::FromJson(json::parse(f.ToJson().dump()), ToString(f.status), f.resolution);
  EXPECT_TRUE(back.ok()) << back.status().message();
  return back.ok() ? *back : Form{};
}

void ExpectSameForm(const Form& a, const Form& b) {
  EXPECT_EQ(a.ToJson(), b.ToJson());
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.policy.message, b.policy.message);
  EXPECT_EQ(a.policy.schema, b.policy.schema);
  EXPECT_EQ(a.policy.expires_in_ms, b.policy.expires_in_ms);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.resolution, b.resolution);
}

TEST(FormJson, RoundTripsEveryState) {
  Form open =
      Form::Open(Policy({{"message", "m"}, {"schema", kSchema}, {"expires_in", "5m"}}), kNow);
  ExpectSameForm(open, RoundTrip(open));

  Form forever = Form::Open(Policy({{"message", "m"}, {"schema", kSchema}}), kNow);
  Form back = RoundTrip(forever);
  ExpectSameForm(forever, back);
  EXPECT_FALSE(back.policy.expires_in_ms.has_value());

  Form submitted = open;
  ASSERT_TRUE(Submit(submitted, {{"amount", 3}}, kNow + 2, "ops").ok());
  ExpectSameForm(submitted, RoundTrip(submitted));

  Form closed = open;
  ASSERT_TRUE(Expire(closed, closed.expires_at).ok());
  back = RoundTrip(closed);
  ExpectSameForm(closed, back);
  ExpectInvalidTransition(Submit(back, {{"amount", 3}}, kNow + 3, "ops"));
}

TEST(FormJson, ACorruptStoredFormIsDataCorruption) {
  Form f = Form::Open(Policy({{"message", "m"}, {"schema", kSchema}, {"expires_in", "5m"}}), kNow);
  const json body = f.ToJson();
  auto expect_corrupt = [](const json& b, std::string_view status) {
    Result<Form> back = Form::FromJson(b, status, json());
    ASSERT_FALSE(back.ok()) << b.dump() << " " << status;
    EXPECT_EQ(back.status().code(), StatusCode::kInternal);
    EXPECT_EQ(back.status().reason(), "data_corruption") << back.status().message();
  };
  expect_corrupt(json("form"), "open");
  expect_corrupt(json::array(), "open");
  for (const char* field : {"message", "schema", "expires_in_ms", "expires_at", "data"}) {
    json b = body;
    b.erase(field);
    expect_corrupt(b, "open");
  }
  json b = body;
  b["message"] = 5;
  expect_corrupt(b, "open");
  b = body;
  b["expires_in_ms"] = "5m";
  expect_corrupt(b, "open");
  b = body;
  b["expires_at"] = json::object();
  expect_corrupt(b, "open");
  expect_corrupt(body, "pending");
  expect_corrupt(body, "");
}

TEST(FormStatusNames, RoundTripAndRefuseOthers) {
  for (FormStatus s : {FormStatus::kOpen, FormStatus::kSubmitted, FormStatus::kClosed}) {
    EXPECT_EQ(ParseFormStatus(ToString(s)), s);
  }
  EXPECT_EQ(ToString(FormStatus::kSubmitted), "submitted");
  EXPECT_FALSE(ParseFormStatus("expired").has_value());
  EXPECT_FALSE(ParseFormStatus("Open").has_value());
}

}  // namespace
}  // namespace sw
