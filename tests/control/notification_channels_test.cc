// A workspace's notification channels as PUT /api/v1/notification-channels takes them:
// what is accepted, and every refusal naming its field.
#include <gtest/gtest.h>

#include <string>

#include "control/notifications.h"

namespace sw {
namespace {

using nlohmann::json;

// The field a refusal of `body` names, or "" when it is accepted.
std::string RefusedField(const json& body) {
  Result<NotificationChannels> parsed = ParseNotificationChannels(body);
  if (parsed.ok()) {
    return "";
  }
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  const std::string field = parsed.status().detail().field;  // status() answers a copy
  return field.empty() ? "?" : field;
}

TEST(NotificationChannelsTest, AcceptsEmailAndWebhooksAndWritesThemBack) {
  const json body = {{"email", {{"to", {"ops@example.test", "a.b+c@sub.example-x.test"}}}},
                     {"webhooks",
                      {{{"url", "https://hooks.slack.com/services/T/B/x"}, {"format", "slack"}},
                       {{"url", "http://127.0.0.1:9000/hook"}}}}};
  Result<NotificationChannels> parsed = ParseNotificationChannels(body);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->email_to.size(), 2u);
  ASSERT_EQ(parsed->webhooks.size(), 2u);
  EXPECT_EQ(parsed->webhooks[0].format, DeliveryFormat::kSlack);
  EXPECT_EQ(parsed->webhooks[1].format, DeliveryFormat::kJson);  // the default
  json written = body;
  written["webhooks"][1]["format"] = "json";
  EXPECT_EQ(NotificationChannelsJson(*parsed), written);
  EXPECT_EQ(NotificationChannelsJson(*ParseNotificationChannels(json::object())),
            (json{{"email", {{"to", json::array()}}}, {"webhooks", json::array()}}));
}

TEST(NotificationChannelsTest, RefusesWhatIsNotAChannelNamingTheField) {
  EXPECT_EQ(RefusedField({{"sms", true}}), "sms");
  EXPECT_EQ(RefusedField({{"email", {{"to", {"ops@example.test"}}, {"cc", {}}}}}), "email.cc");
  EXPECT_EQ(RefusedField({{"email", "ops@example.test"}}), "email");
  EXPECT_EQ(RefusedField({{"email", {{"to", "ops@example.test"}}}}), "email.to");
  for (const char* bad :
       {"ops", "@example.test", "ops@", "ops@@example.test", "o ps@example.test",
        "ops@exa mple.test", "ops@-example.test", "ops@example..test", ".ops@example.test",
        "ops.@example.test", "ops@example.test\r\nBcc: x", "Ops <ops@example.test>"}) {
    EXPECT_EQ(RefusedField({{"email", {{"to", {bad}}}}}), "email.to[0]") << bad;
  }
  EXPECT_EQ(RefusedField({{"email", {{"to", {"a@example.test", "a@example.test"}}}}}),
            "email.to[1]");
  EXPECT_EQ(RefusedField({{"webhooks", {{"url", "http://x.test"}}}}), "webhooks");  // an object
  EXPECT_EQ(RefusedField({{"webhooks", json::array({"http://x.test"})}}), "webhooks[0]");
  EXPECT_EQ(RefusedField({{"webhooks", json::array({{{"url", "ftp://x.test/h"}}})}}),
            "webhooks[0].url");
  EXPECT_EQ(RefusedField({{"webhooks", json::array({{{"url", "not a url"}}})}}), "webhooks[0].url");
  EXPECT_EQ(RefusedField({{"webhooks", json::array({json::object()})}}), "webhooks[0].url");
  EXPECT_EQ(RefusedField(
                {{"webhooks", json::array({{{"url", "https://x.test/h"}, {"format", "text"}}})}}),
            "webhooks[0].format");
  EXPECT_EQ(
      RefusedField({{"webhooks", json::array({{{"url", "https://x.test/h"}, {"secret", "s"}}})}}),
      "webhooks[0].secret");
  json many = json::array();
  for (size_t i = 0; i <= kMaxWebhooks; ++i) {
    many.push_back({{"url", "https://x.test/" + std::to_string(i)}});
  }
  EXPECT_EQ(RefusedField({{"webhooks", many}}), "webhooks");
  EXPECT_EQ(RefusedField(json::array()), "?");
}

}  // namespace
}  // namespace sw
