// The messages a delivery sends, written from a notification: the email (RFC 5322,
// headers that a title cannot forge, RFC 2047 subjects, 7bit or base64 bodies), the JSON
// webhook object and Slack's payload (text always, blocks with buttons, escaping).
#include "engine/notification_message.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

namespace sw {
namespace {

using nlohmann::json;

constexpr int64_t kAt = 1'751'364'000'123;  // 2025-07-01T10:00:00.123Z, a Tuesday

NotificationRecord Notification() {
  NotificationRecord n;
  n.id = "ntf_01A";
  n.workspace_id = "ws_1";
  n.kind = "approval_requested";
  n.title = "Approve charge for acme?";
  n.body = "Run run_1 waits.";
  n.link = "/default/monitoring/approvals";
  n.subject = json{{"approval_id", "apr_1"}};
  n.created_at = kAt;
  return n;
}

EmailEnvelope Envelope() { return {"stepwell@example.test", "ops@example.test", kAt, "dlv_1@sw"}; }

// The message's header block and body.
std::pair<std::string, std::string> Split(const std::string& message) {
  const size_t end = message.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos);
  return {message.substr(0, end + 2), message.substr(end + 4)};
}

std::string DecodeBase64(std::string text) {
  std::string compact;
  for (char c : text) {
    if (c != '\r' && c != '\n') compact += c;
  }
  std::string out(compact.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(compact.data()),
                                static_cast<int>(compact.size()));
  out.resize(n - std::count(compact.end() - 2, compact.end(), '='));
  return out;
}

TEST(NotificationMessageTest, AnEmailHasTheHeadersOfRfc5322AndAPlainTextBody) {
  const std::string m = BuildEmail(Notification(), Envelope(), "https://sw.example.test/",
                                   LinksForDecision("https://sw.example.test/approve/tok"));
  auto [headers, body] = Split(m);
  EXPECT_EQ(headers,
            "Date: Tue, 01 Jul 2025 10:00:00 +0000\r\n"
            "From: stepwell@example.test\r\n"
            "To: ops@example.test\r\n"
            "Subject: Approve charge for acme?\r\n"
            "Message-ID: <dlv_1@sw>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: 7bit\r\n");
  EXPECT_EQ(body,
            "Approve charge for acme?\r\n\r\n"
            "Run run_1 waits.\r\n\r\n"
            "Approve: https://sw.example.test/approve/tok?decision=approve\r\n"
            "Deny: https://sw.example.test/approve/tok?decision=deny\r\n\r\n"
            "Open in Stepwell: https://sw.example.test/default/monitoring/approvals\r\n");
  // Every line ends in CRLF.
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(m[i - 1], '\r') << i;
    }
  }
}

TEST(NotificationMessageTest, ATitleCannotAddAHeaderAndNonAsciiIsEncoded) {
  NotificationRecord n = Notification();
  n.title = "Zahlung freigeben? \xC3\xBC\r\nBcc: evil@example.test";
  n.body =
      "Gr\xC3\xBC\xC3\x9F"
      "e\nzweite Zeile";
  const std::string m = BuildEmail(n, Envelope(), "https://sw.example.test", std::nullopt);
  auto [headers, body] = Split(m);
  EXPECT_EQ(headers.find("\r\nBcc:"), std::string::npos);
  const size_t subject = headers.find("Subject: =?UTF-8?B?");
  ASSERT_NE(subject, std::string::npos);
  EXPECT_NE(headers.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos);
  // The body decodes to the text, with CRLF line ends (there a line break is harmless).
  const std::string text = DecodeBase64(body);
  EXPECT_EQ(text.rfind("Zahlung freigeben? \xC3\xBC\r\nBcc: evil@example.test\r\n\r\n", 0), 0u)
      << text;
  EXPECT_NE(text.find("Gr\xC3\xBC\xC3\x9F"
                      "e\r\nzweite Zeile\r\n"),
            std::string::npos);
  // No approval links without links.
  EXPECT_EQ(text.find("Approve:"), std::string::npos);
}

TEST(NotificationMessageTest, TheWebhookObjectCarriesTheNotificationAndItsAbsoluteLink) {
  const json body = BuildWebhookJson(Notification(), "https://sw.example.test");
  EXPECT_EQ(body, (json{{"id", "ntf_01A"},
                        {"kind", "approval_requested"},
                        {"title", "Approve charge for acme?"},
                        {"body", "Run run_1 waits."},
                        {"link", "/default/monitoring/approvals"},
                        {"url", "https://sw.example.test/default/monitoring/approvals"},
                        {"subject", {{"approval_id", "apr_1"}}},
                        {"created_at", "2025-07-01T10:00:00.123Z"}}));
}

TEST(NotificationMessageTest, SlackGetsTextAlwaysAndBlocksWithApproveAndDenyButtons) {
  NotificationRecord n = Notification();
  n.body = "Charge <5 & more> now";
  const json m = BuildSlackMessage(n, "https://sw.example.test",
                                   LinksForDecision("https://sw.example.test/approve/tok"));
  ASSERT_TRUE(m["text"].is_string());
  const std::string text = m["text"];
  EXPECT_NE(text.find("*Approve charge for acme?*"), std::string::npos);
  EXPECT_NE(text.find("Charge &lt;5 &amp; more&gt; now"), std::string::npos);
  EXPECT_NE(text.find("<https://sw.example.test/approve/tok?decision=approve|approve>"),
            std::string::npos);
  const json& blocks = m["blocks"];
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0]["type"], "section");
  EXPECT_EQ(blocks[0]["text"]["type"], "mrkdwn");
  EXPECT_EQ(blocks[0]["text"]["text"],
            "*Approve charge for acme?*\nCharge &lt;5 &amp; more&gt; now");
  EXPECT_EQ(blocks[1]["type"], "actions");
  const json& buttons = blocks[1]["elements"];
  ASSERT_EQ(buttons.size(), 3u);
  EXPECT_EQ(buttons[0], (json{{"type", "button"},
                              {"text", {{"type", "plain_text"}, {"text", "Approve"}}},
                              {"url", "https://sw.example.test/approve/tok?decision=approve"},
                              {"action_id", "approve"},
                              {"style", "primary"}}));
  EXPECT_EQ(buttons[1]["url"], "https://sw.example.test/approve/tok?decision=deny");
  EXPECT_EQ(buttons[1]["style"], "danger");
  EXPECT_EQ(buttons[2]["url"], "https://sw.example.test/default/monitoring/approvals");

  // Without links only the Open button.
  const json plain = BuildSlackMessage(n, "https://sw.example.test", std::nullopt);
  EXPECT_EQ(plain["blocks"][1]["elements"].size(), 1u);
  EXPECT_EQ(plain["text"].get<std::string>().find("approve"), std::string::npos);
}

TEST(NotificationMessageTest, AbsoluteUrlJoinsWithOneSlash) {
  EXPECT_EQ(AbsoluteUrl("http://127.0.0.1:8420", "/a/b"), "http://127.0.0.1:8420/a/b");
  EXPECT_EQ(AbsoluteUrl("http://h/", "/a"), "http://h/a");
  EXPECT_EQ(AbsoluteUrl("http://h", "a"), "http://h/a");
  EXPECT_EQ(AbsoluteUrl("http://h", ""), "http://h");
}

}  // namespace
}  // namespace sw
