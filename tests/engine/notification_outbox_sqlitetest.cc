// NotificationOutbox over a real SqliteStore in a temporary directory, with a
// ManualClock and fake clients that hold every send until the test completes it.
// Notifications are added through the store (AddNotification), which queues their
// deliveries and pokes the outbox as serve wires it.
//
// No test waits for time to pass: back-offs end when the test moves the clock and
// pokes the outbox. That something was not sent is checked behind a barrier: a new
// delivery, due now, is sent on the outbox's next look at the store, and that look
// would have sent anything else due by then.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "engine/clock.h"
#include "engine/notification_outbox.h"
#include "fake_http_client.h"
#include "fake_smtp_client.h"
#include "store/sqlite/sqlite_store.h"
#include "wait_until.h"

namespace sw {
namespace {

using nlohmann::json;
using test::WaitUntil;

constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr char kHook[] = "https://hooks.example.test/json";
constexpr char kSlack[] = "https://hooks.example.test/slack";
constexpr char kPublicUrl[] = "https://stepwell.example.test";

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stepwell-outbox-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    OpenStore();
  }

  void TearDown() override {
    StopOutbox();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void OpenStore() {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
    store_->SetOutboxListener([this] {
      if (NotificationOutbox* outbox = outbox_ptr_.load()) {
        outbox->Poke();
      }
    });
  }

  void StartOutbox(LinkMinter mint = {}, bool with_smtp = true, int max_attempts = 10) {
    OutboxOptions options;
    options.public_url = kPublicUrl;
    options.smtp_from = "stepwell@example.test";
    options.max_attempts = max_attempts;
    outbox_ = std::make_unique<NotificationOutbox>(
        *store_, clock_, http_, with_smtp ? &smtp_ : nullptr, std::move(mint), options);
    outbox_->Start();
    outbox_ptr_.store(outbox_.get());
  }

  void StopOutbox() {
    outbox_ptr_.store(nullptr);
    if (outbox_) {
      outbox_->Stop();
      outbox_.reset();
    }
  }

  void PutChannels(std::vector<std::string> email_to,
                   std::vector<NotificationChannels::Webhook> webhooks) {
    NotificationChannels c;
    c.email_to = std::move(email_to);
    c.webhooks = std::move(webhooks);
    AuditEntry audit;
    audit.id = "aud_" + std::to_string(++audits_);
    audit.workspace_id = "ws_1";
    ASSERT_TRUE(store_->PutNotificationChannels("ws_1", c, audit).ok());
  }

  // Adds notification "ntf_<suffix>"; its deliveries are "dlv_<suffix>-<position>".
  void Add(const std::string& suffix, json subject = nullptr) {
    NotificationRecord n;
    n.id = "ntf_" + suffix;
    n.workspace_id = "ws_1";
    n.kind = "approval_requested";
    n.title = "Approve charge for acme?";
    n.body = "Run run_1 of charge-customer waits for a decision.";
    n.link = "/default/monitoring/approvals";
    n.subject = std::move(subject);
    n.created_at = clock_.NowMs();
    ASSERT_TRUE(store_->AddNotification(n).ok());
  }

  DeliveryRecord Delivery(const std::string& id) {
    Result<DeliveryPage> page = store_->ListDeliveries("ws_1", "", 500);
    EXPECT_TRUE(page.ok());
    for (const DeliveryRecord& d : page->items) {
      if (d.id == id) {
        return d;
      }
    }
    ADD_FAILURE() << "no delivery " << id;
    return {};
  }

  bool WaitForStatus(const std::string& id, DeliveryStatus status, int attempts) {
    return WaitUntil([&] {
      DeliveryRecord d = Delivery(id);
      return d.status == status && d.attempts == attempts;
    });
  }

  // Waits until the outbox looked at the store after now: a barrier delivery due now
  // has been sent. REQUIRES: a json webhook to kHook is the only channel.
  void Settle() {
    const size_t before = http_.CountFor(kHook);
    Add("barrier" + std::to_string(++barriers_));
    ASSERT_TRUE(WaitUntil([&] { return http_.CountFor(kHook) > before; }));
  }

  std::string dir_;
  ManualClock clock_{kStartMs};
  test::FakeHttpClient http_;
  test::FakeSmtpClient smtp_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<NotificationOutbox> outbox_;
  std::atomic<NotificationOutbox*> outbox_ptr_{nullptr};
  int audits_ = 0;
  int barriers_ = 0;
};

TEST_F(OutboxTest, EachChannelGetsItsMessageAndIsRecordedDelivered) {
  PutChannels({"ops@example.test"},
              {{kHook, DeliveryFormat::kJson}, {kSlack, DeliveryFormat::kSlack}});
  StartOutbox();
  Add("01A");
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 2 && smtp_.size() == 1; }));

  const test::FakeSmtpClient::Email email = smtp_.email(0);
  EXPECT_EQ(email.from, "stepwell@example.test");
  EXPECT_EQ(email.to, "ops@example.test");
  EXPECT_NE(email.message.find("Subject: Approve charge for acme?\r\n"), std::string::npos);
  EXPECT_NE(email.message.find("Message-ID: <dlv_01A-0.0@stepwell>\r\n"), std::string::npos);
  EXPECT_NE(email.message.find(std::string(kPublicUrl) + "/default/monitoring/approvals"),
            std::string::npos);

  for (size_t i = 0; i < 2; ++i) {
    const HttpRequest request = http_.call(i).request;
    EXPECT_EQ(request.method, "POST");
    const json body = json::parse(request.body);
    if (request.url == kHook) {
      EXPECT_EQ(body["kind"], "approval_requested");
      EXPECT_EQ(body["title"], "Approve charge for acme?");
      EXPECT_EQ(body["url"], std::string(kPublicUrl) + "/default/monitoring/approvals");
    } else {
      EXPECT_EQ(request.url, kSlack);
      EXPECT_TRUE(body["text"].is_string());
      EXPECT_TRUE(body["blocks"].is_array());
    }
    ASSERT_TRUE(http_.Complete(i, test::FakeHttpClient::JsonResponse(200, "ok")));
  }
  ASSERT_TRUE(smtp_.Complete(0, Status::Ok()));
  for (const char* id : {"dlv_01A-0", "dlv_01A-1", "dlv_01A-2"}) {
    EXPECT_TRUE(WaitForStatus(id, DeliveryStatus::kDelivered, 1)) << id;
  }
}

TEST_F(OutboxTest, AFailingReceiverIsRetriedAfterItsBackoffWithTheErrorVisibleMeanwhile) {
  PutChannels({}, {{kHook, DeliveryFormat::kJson}});
  StartOutbox();
  Add("01A");
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 1; }));
  ASSERT_TRUE(http_.Complete(0, test::FakeHttpClient::JsonResponse(500, "{\"error\":\"down\"}")));
  ASSERT_TRUE(WaitForStatus("dlv_01A-0", DeliveryStatus::kPending, 1));
  DeliveryRecord d = Delivery("dlv_01A-0");
  EXPECT_EQ(d.last_error, "HTTP 500: {\"error\":\"down\"}");
  EXPECT_EQ(d.next_attempt_at, kStartMs + 1000);

  // Not again before the back-off ends.
  Settle();
  EXPECT_EQ(http_.CountFor(kHook), 2u);  // the first attempt and the barrier
  ASSERT_TRUE(http_.Complete(1, test::FakeHttpClient::JsonResponse(200, "")));

  // A second failure doubles the back-off (a transport error this time).
  clock_.Advance(1000);
  outbox_->Poke();
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 3; }));
  EXPECT_EQ(http_.call(2).request.url, kHook);
  ASSERT_TRUE(http_.Complete(2, Status(StatusCode::kUnavailable, "connection refused")));
  ASSERT_TRUE(WaitForStatus("dlv_01A-0", DeliveryStatus::kPending, 2));
  d = Delivery("dlv_01A-0");
  EXPECT_EQ(d.last_error, "connection refused");
  EXPECT_EQ(d.next_attempt_at, kStartMs + 1000 + 2000);

  clock_.Advance(2000);
  outbox_->Poke();
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 4; }));
  ASSERT_TRUE(http_.Complete(3, test::FakeHttpClient::JsonResponse(204, "")));
  ASSERT_TRUE(WaitForStatus("dlv_01A-0", DeliveryStatus::kDelivered, 3));
  EXPECT_EQ(Delivery("dlv_01A-0").last_error, "connection refused");
}

TEST_F(OutboxTest, AfterItsLastAttemptADeliveryFails) {
  PutChannels({}, {{kHook, DeliveryFormat::kJson}});
  StartOutbox({}, true, /*max_attempts=*/3);
  Add("01A");
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(WaitUntil([&] { return http_.size() == static_cast<size_t>(attempt); }));
    ASSERT_TRUE(http_.Complete(attempt - 1, test::FakeHttpClient::JsonResponse(503, "")));
    ASSERT_TRUE(WaitUntil([&] { return Delivery("dlv_01A-0").attempts == attempt; }));
    clock_.Advance(5 * 60 * 1000);
    outbox_->Poke();
  }
  DeliveryRecord d = Delivery("dlv_01A-0");
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);
  EXPECT_EQ(d.last_error, "HTTP 503");
  Settle();
  EXPECT_EQ(http_.CountFor(kHook), 4u);  // three attempts and the barrier
}

TEST_F(OutboxTest, EmailWithoutAnSmtpServerFailsAtOnceAndWebhooksStillGo) {
  PutChannels({"ops@example.test"}, {{kHook, DeliveryFormat::kJson}});
  StartOutbox({}, /*with_smtp=*/false);
  Add("01A");
  ASSERT_TRUE(WaitForStatus("dlv_01A-0", DeliveryStatus::kFailed, 1));
  EXPECT_EQ(Delivery("dlv_01A-0").last_error,
            "email is not configured: start the server with --smtp-url and --smtp-from");
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 1; }));
  ASSERT_TRUE(http_.Complete(0, test::FakeHttpClient::JsonResponse(200, "")));
  EXPECT_TRUE(WaitForStatus("dlv_01A-1", DeliveryStatus::kDelivered, 1));
}

TEST_F(OutboxTest, ADeliveryInFlightWhenTheProcessStopsIsSentAgainAfterARestart) {
  PutChannels({}, {{kHook, DeliveryFormat::kJson}});
  StartOutbox();
  Add("01A");
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 1; }));
  // The process goes before the receiver answers: nothing about the attempt is recorded.
  StopOutbox();
  store_.reset();
  OpenStore();
  EXPECT_EQ(Delivery("dlv_01A-0").status, DeliveryStatus::kPending);
  EXPECT_EQ(Delivery("dlv_01A-0").attempts, 0);

  StartOutbox();
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 2; }));
  EXPECT_EQ(http_.call(1).request.url, kHook);
  ASSERT_TRUE(http_.Complete(1, test::FakeHttpClient::JsonResponse(200, "")));
  EXPECT_TRUE(WaitForStatus("dlv_01A-0", DeliveryStatus::kDelivered, 1));
}

TEST_F(OutboxTest, AnApprovalRequestCarriesMagicLinksMintedPerRecipient) {
  PutChannels({"ops@example.test"},
              {{kSlack, DeliveryFormat::kSlack}, {kHook, DeliveryFormat::kJson}});
  std::mutex mu;
  std::vector<std::string> minted;  // guarded by mu
  StartOutbox(
      [&](const std::string& approval_id, const std::string& recipient) -> Result<std::string> {
        std::lock_guard lock(mu);
        minted.push_back(approval_id + " " + recipient);
        return "/approve/tok" + std::to_string(minted.size());
      });
  Add("01A", json{{"approval_id", "apr_9"}});
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 2 && smtp_.size() == 1; }));
  {
    std::lock_guard lock(mu);
    // Email and Slack get links; the JSON webhook carries the subject instead.
    ASSERT_EQ(minted.size(), 2u);
    EXPECT_NE(std::find(minted.begin(), minted.end(), "apr_9 ops@example.test"), minted.end());
    EXPECT_NE(std::find(minted.begin(), minted.end(), "apr_9 webhook:dlv_01A-1"), minted.end());
  }
  const std::string message = smtp_.email(0).message;
  EXPECT_NE(message.find("Approve: " + std::string(kPublicUrl) + "/approve/tok"),
            std::string::npos);
  for (size_t i = 0; i < 2; ++i) {
    const HttpRequest request = http_.call(i).request;
    const json body = json::parse(request.body);
    if (request.url == kSlack) {
      const json& buttons = body["blocks"][1]["elements"];
      ASSERT_EQ(buttons.size(), 3u);
      EXPECT_EQ(buttons[0]["text"]["text"], "Approve");
      EXPECT_EQ(buttons[0]["style"], "primary");
      EXPECT_NE(buttons[0]["url"].get<std::string>().find(std::string(kPublicUrl) + "/approve/tok"),
                std::string::npos);
      EXPECT_EQ(buttons[1]["text"]["text"], "Deny");
    } else {
      EXPECT_EQ(body["subject"], (json{{"approval_id", "apr_9"}}));
    }
  }
}

TEST_F(OutboxTest, AMinterErrorSendsTheMessageWithoutLinks) {
  PutChannels({}, {{kSlack, DeliveryFormat::kSlack}});
  StartOutbox([](const std::string&, const std::string&) -> Result<std::string> {
    return Status(StatusCode::kFailedPrecondition, "approvals are not built yet");
  });
  Add("01A", json{{"approval_id", "apr_9"}});
  ASSERT_TRUE(WaitUntil([&] { return http_.size() == 1; }));
  const json body = json::parse(http_.call(0).request.body);
  const json& buttons = body["blocks"][1]["elements"];
  ASSERT_EQ(buttons.size(), 1u);
  EXPECT_EQ(buttons[0]["text"]["text"], "Open in Stepwell");
}

}  // namespace
}  // namespace sw
