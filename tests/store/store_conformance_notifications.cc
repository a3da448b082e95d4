// Store conformance: notifications (the in-app list, read marks, the unread count), a
// workspace's channels, and the deliveries a notification fans out to in its own
// commit, with the outbox's compare-and-set on an attempt's outcome and the claims that
// let one instance's outbox send each attempt. See store_conformance.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

NotificationRecord MakeNotification(const std::string& id, const std::string& workspace_id = "ws_1",
                                    int64_t created_at = kT0) {
  NotificationRecord n;
  n.id = id;
  n.workspace_id = workspace_id;
  n.kind = "approval_requested";
  n.title = "Approve charge?";
  n.body = "Run run_1 waits for an approval";
  n.link = "/acme/monitoring/approvals";
  n.subject = json{{"approval_id", "apr_1"}};
  n.created_at = created_at;
  return n;
}

NotificationChannels TwoEmailsAndASlackHook() {
  NotificationChannels c;
  c.email_to = {"ops@example.test", "cto@example.test"};
  c.webhooks = {{"https://hooks.example.test/T1", DeliveryFormat::kSlack}};
  return c;
}

TEST_P(StoreConformanceTest, NotificationsAreListedNewestFirstWithTheUnreadCount) {
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_1", "ws_1", kT0)).ok());
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_2", "ws_1", kT0 + 1)).ok());
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_3", "ws_1", kT0 + 2)).ok());
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_4", "ws_2", kT0 + 3)).ok());

  Result<NotificationPage> page = store_->ListNotifications("ws_1", NotificationFilter{});
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(page->items[0].id, "ntf_3");
  EXPECT_EQ(page->items[2].id, "ntf_1");
  EXPECT_EQ(page->items[2].title, "Approve charge?");
  EXPECT_EQ(page->items[2].link, "/acme/monitoring/approvals");
  EXPECT_EQ(page->items[2].subject, (json{{"approval_id", "apr_1"}}));
  EXPECT_EQ(page->items[2].created_at, kT0);
  EXPECT_EQ(page->items[2].read_at, 0);
  EXPECT_EQ(page->unread_count, 3);
  EXPECT_EQ(page->next_cursor, "");

  // Read once: the first read_at stays.
  Result<NotificationRecord> read = store_->MarkNotificationRead("ws_1", "ntf_2", kT0 + 10);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->read_at, kT0 + 10);
  read = store_->MarkNotificationRead("ws_1", "ntf_2", kT0 + 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->read_at, kT0 + 10);
  // Another workspace's is not found, and stays unread.
  EXPECT_EQ(store_->MarkNotificationRead("ws_1", "ntf_4", kT0).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->ListNotifications("ws_2", NotificationFilter{})->unread_count, 1);

  NotificationFilter unread;
  unread.unread_only = true;
  page = store_->ListNotifications("ws_1", unread);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, "ntf_3");
  EXPECT_EQ(page->items[1].id, "ntf_1");
  EXPECT_EQ(page->unread_count, 2);

  // Pages: the cursor is exclusive; the unread count is the workspace's.
  NotificationFilter first;
  first.limit = 2;
  page = store_->ListNotifications("ws_1", first);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->next_cursor, "ntf_2");
  EXPECT_EQ(page->unread_count, 2);
  first.cursor = page->next_cursor;
  page = store_->ListNotifications("ws_1", first);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "ntf_1");
  EXPECT_EQ(page->next_cursor, "");
}

TEST_P(StoreConformanceTest, ChannelsAreEmptyUntilPutThenReplacedAndAudited) {
  Result<NotificationChannels> channels = store_->GetNotificationChannels("ws_1");
  ASSERT_TRUE(channels.ok());
  EXPECT_EQ(*channels, NotificationChannels{});

  ASSERT_TRUE(
      store_
          ->PutNotificationChannels(
              "ws_1", TwoEmailsAndASlackHook(),
              MakeAudit("aud_1", "ws_1", "notification_channels.update", "notification-channels"))
          .ok());
  EXPECT_EQ(*store_->GetNotificationChannels("ws_1"), TwoEmailsAndASlackHook());
  EXPECT_EQ(*store_->GetNotificationChannels("ws_2"), NotificationChannels{});

  NotificationChannels one_hook;
  one_hook.webhooks = {{"http://127.0.0.1:9/hook", DeliveryFormat::kJson}};
  ASSERT_TRUE(
      store_
          ->PutNotificationChannels(
              "ws_1", one_hook,
              MakeAudit("aud_2", "ws_1", "notification_channels.update", "notification-channels"))
          .ok());
  Reopen();
  EXPECT_EQ(*store_->GetNotificationChannels("ws_1"), one_hook);
  Result<std::vector<AuditEntry>> audit =
      store_->ListAudit("ws_1", "notification-channels", "", 10);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 2u);
}

TEST_P(StoreConformanceTest, ANotificationFansOutToOneDeliveryPerRecipient) {
  ASSERT_TRUE(
      store_
          ->PutNotificationChannels("ws_1", TwoEmailsAndASlackHook(),
                                    MakeAudit("aud_1", "ws_1", "x", "notification-channels"))
          .ok());
  const int signals_before = outbox_signals_.load();
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_01ABC", "ws_1", kT0 + 5)).ok());
  EXPECT_GT(outbox_signals_.load(), signals_before);
  // A workspace without channels has the in-app item only, and the outbox hears nothing.
  const int signals_between = outbox_signals_.load();
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_01ABD", "ws_2", kT0 + 6)).ok());
  EXPECT_EQ(outbox_signals_.load(), signals_between);
  EXPECT_TRUE(store_->ListDeliveries("ws_2", "", 50)->items.empty());

  Result<DeliveryPage> page = store_->ListDeliveries("ws_1", "", 50);
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->items.size(), 3u);
  // Newest first; within a notification, the later recipient first.
  const DeliveryRecord& hook = page->items[0];
  EXPECT_EQ(hook.id, "dlv_01ABC-2");
  EXPECT_EQ(hook.channel, DeliveryChannel::kWebhook);
  EXPECT_EQ(hook.target, "https://hooks.example.test/T1");
  EXPECT_EQ(hook.format, DeliveryFormat::kSlack);
  const DeliveryRecord& email = page->items[2];
  EXPECT_EQ(email.id, "dlv_01ABC-0");
  EXPECT_EQ(email.workspace_id, "ws_1");
  EXPECT_EQ(email.notification_id, "ntf_01ABC");
  EXPECT_EQ(email.channel, DeliveryChannel::kEmail);
  EXPECT_EQ(email.target, "ops@example.test");
  EXPECT_EQ(email.format, DeliveryFormat::kText);
  EXPECT_EQ(email.status, DeliveryStatus::kPending);
  EXPECT_EQ(email.attempts, 0);
  EXPECT_EQ(email.next_attempt_at, kT0 + 5);
  EXPECT_EQ(email.last_error, "");
  EXPECT_EQ(email.created_at, kT0 + 5);
  EXPECT_EQ(page->items[1].target, "cto@example.test");

  // Due strictly before `due_before`, soonest first, each with its notification.
  EXPECT_TRUE(store_->DueDeliveries(kT0 + 5, 10)->empty());
  Result<std::vector<OutboxItem>> due = store_->DueDeliveries(kT0 + 6, 10);
  ASSERT_TRUE(due.ok()) << due.status().message();
  ASSERT_EQ(due->size(), 3u);
  EXPECT_EQ((*due)[0].delivery.id, "dlv_01ABC-0");
  EXPECT_EQ((*due)[0].notification.id, "ntf_01ABC");
  EXPECT_EQ((*due)[2].notification.subject, (json{{"approval_id", "apr_1"}}));
  EXPECT_EQ(store_->DueDeliveries(kT0 + 6, 2)->size(), 2u);

  // Paged by id.
  page = store_->ListDeliveries("ws_1", "", 2);
  EXPECT_EQ(page->next_cursor, "dlv_01ABC-1");
  page = store_->ListDeliveries("ws_1", page->next_cursor, 2);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, "dlv_01ABC-0");
}

TEST_P(StoreConformanceTest, ANotificationCommitsWithItsRunsTransitionOrNotAtAll) {
  NotificationChannels hook;
  hook.webhooks = {{"https://hooks.example.test/T1", DeliveryFormat::kJson}};
  ASSERT_TRUE(
      store_->PutNotificationChannels("ws_1", hook, MakeAudit("aud_1", "ws_1", "x", "n")).ok());
  CreateRunning("run_1");

  // A transition that loses its compare-and-set writes no notification.
  RunTransition lost;
  lost.run_id = "run_1";
  lost.expected_version = 1;
  lost.now = kT0 + 1;
  lost.notify.push_back(MakeNotification("ntf_lost"));
  EXPECT_EQ(store_->TransitionRun(std::move(lost)).status().code(), StatusCode::kAborted);
  EXPECT_TRUE(store_->ListNotifications("ws_1", NotificationFilter{})->items.empty());
  EXPECT_TRUE(store_->ListDeliveries("ws_1", "", 50)->items.empty());

  const int signals_before = outbox_signals_.load();
  RunTransition t;
  t.run_id = "run_1";
  t.expected_version = 2;
  t.next_status = RunStatus::kWaiting;
  t.wait = json{{"kind", "event"}, {"step_id", "approve"}};
  t.now = kT0 + 1;
  t.notify.push_back(MakeNotification("ntf_won", "ws_1", kT0 + 1));
  ASSERT_TRUE(store_->TransitionRun(std::move(t)).ok());
  EXPECT_GT(outbox_signals_.load(), signals_before);
  EXPECT_EQ(store_->GetRun("run_1", false)->status, RunStatus::kWaiting);
  ASSERT_EQ(store_->ListNotifications("ws_1", NotificationFilter{})->items.size(), 1u);
  ASSERT_EQ(store_->ListDeliveries("ws_1", "", 50)->items.size(), 1u);

  // Through UpdateRun as well.
  Result<RunRecord> updated = store_->UpdateRun(
      "run_1",
      [](const RunRecord&) -> Result<std::optional<RunTransition>> {
        RunTransition u;
        u.now = kT0 + 2;
        u.notify.push_back(MakeNotification("ntf_upd", "ws_1", kT0 + 2));
        return std::optional<RunTransition>(std::move(u));
      },
      Store::UpdateReads{});
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_EQ(store_->ListNotifications("ws_1", NotificationFilter{})->items.size(), 2u);
  EXPECT_EQ(store_->ListDeliveries("ws_1", "", 50)->items.size(), 2u);
}

// The ids of `items`' deliveries, in order.
std::vector<std::string> DeliveryIds(const Result<std::vector<OutboxItem>>& items) {
  std::vector<std::string> ids;
  if (items.ok()) {
    for (const OutboxItem& item : *items) {
      ids.push_back(item.delivery.id);
    }
  }
  return ids;
}

TEST_P(StoreConformanceTest, AClaimedDeliveryGoesToNoOtherClaimerUntilTheClaimLapses) {
  ASSERT_TRUE(store_
                  ->PutNotificationChannels("ws_1", TwoEmailsAndASlackHook(),
                                            MakeAudit("aud_1", "ws_1", "x", "n"))
                  .ok());
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_01A", "ws_1", kT0)).ok());

  // Not due yet: nothing to claim.
  EXPECT_TRUE(store_->ClaimDueDeliveries("i1", kT0 - 1, 1000, 10)->empty());
  // Soonest first, up to the limit, each with its notification.
  Result<std::vector<OutboxItem>> first = store_->ClaimDueDeliveries("i1", kT0, 1000, 2);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(DeliveryIds(first), (std::vector<std::string>{"dlv_01A-0", "dlv_01A-1"}));
  EXPECT_EQ(first->at(0).notification.id, "ntf_01A");
  // Another claimer gets only the one left; then nothing while the claims hold.
  EXPECT_EQ(DeliveryIds(store_->ClaimDueDeliveries("i2", kT0 + 1, 1000, 10)),
            (std::vector<std::string>{"dlv_01A-2"}));
  EXPECT_TRUE(store_->ClaimDueDeliveries("i3", kT0 + 999, 1000, 10)->empty());
  // A claimer takes its own claims back (it restarted and lost track of them).
  EXPECT_EQ(DeliveryIds(store_->ClaimDueDeliveries("i1", kT0 + 2, 1000, 10)),
            (std::vector<std::string>{"dlv_01A-0", "dlv_01A-1"}));
  // Claimed or not, a delivery is still pending, and due.
  EXPECT_EQ(store_->DueDeliveries(kT0 + 3, 10)->size(), 3u);

  // i1 records one outcome: that ends its claim. The other lapses (i1 died) and i3
  // claims it; i2's claim (until kT0 + 1001) still holds.
  ASSERT_TRUE(store_
                  ->FinishDeliveryAttempt(
                      {"dlv_01A-0", 0, DeliveryStatus::kPending, kT0 + 500, "HTTP 500", kT0 + 10})
                  .ok());
  EXPECT_EQ(DeliveryIds(store_->ClaimDueDeliveries("i3", kT0 + 1000, 1000, 10)),
            (std::vector<std::string>{"dlv_01A-0"}));
  // Soonest first: dlv_01A-0's next attempt is due later than the others.
  EXPECT_EQ(DeliveryIds(store_->ClaimDueDeliveries("i3", kT0 + 1002, 1000, 10)),
            (std::vector<std::string>{"dlv_01A-1", "dlv_01A-2", "dlv_01A-0"}));
  // A late outcome of a lapsed claim is still a compare-and-set on the attempt.
  EXPECT_TRUE(
      store_->FinishDeliveryAttempt({"dlv_01A-1", 0, DeliveryStatus::kDelivered, 0, "", kT0 + 1003})
          .ok());
  EXPECT_EQ(
      store_->FinishDeliveryAttempt({"dlv_01A-1", 0, DeliveryStatus::kDelivered, 0, "", kT0 + 1004})
          .code(),
      StatusCode::kAborted);
  // Claims survive a reopen; a delivered one is claimed no more.
  Reopen();
  EXPECT_TRUE(store_->ClaimDueDeliveries("i4", kT0 + 1500, 1000, 10)->empty());
  EXPECT_EQ(DeliveryIds(store_->ClaimDueDeliveries("i4", kT0 + 2002, 1000, 10)),
            (std::vector<std::string>{"dlv_01A-2", "dlv_01A-0"}));
}

TEST_P(StoreConformanceTest, ClaimersRacingForTheSameDeliveriesNeverGetOneTwice) {
  NotificationChannels hooks;
  for (int i = 0; i < 10; ++i) {
    hooks.webhooks.push_back({"https://hooks.example.test/" + std::to_string(i)});
  }
  ASSERT_TRUE(
      store_->PutNotificationChannels("ws_1", hooks, MakeAudit("aud_1", "ws_1", "x", "n")).ok());
  for (int n = 0; n < 4; ++n) {
    ASSERT_TRUE(
        store_->AddNotification(MakeNotification("ntf_0" + std::to_string(n), "ws_1", kT0)).ok());
  }
  constexpr int kClaimers = 4;
  std::vector<std::vector<std::string>> got(kClaimers);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClaimers; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < 20; ++i) {
        // As an outbox asks: its own claims come back first, then up to 3 more.
        const int limit = 3 + static_cast<int>(got[c].size());
        for (std::string& id : DeliveryIds(
                 store_->ClaimDueDeliveries("i" + std::to_string(c), kT0 + i, 60000, limit))) {
          if (std::find(got[c].begin(), got[c].end(), id) == got[c].end()) {
            got[c].push_back(std::move(id));
          }
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  std::set<std::string> all;
  size_t total = 0;
  for (const std::vector<std::string>& ids : got) {
    all.insert(ids.begin(), ids.end());
    total += ids.size();
  }
  EXPECT_EQ(total, all.size());  // no delivery went to two claimers
  EXPECT_EQ(all.size(), 40u);    // and every one went to someone
}

TEST_P(StoreConformanceTest, AnAttemptsOutcomeIsACompareAndSetOnThePendingDelivery) {
  NotificationChannels one;
  one.email_to = {"ops@example.test"};
  ASSERT_TRUE(
      store_->PutNotificationChannels("ws_1", one, MakeAudit("aud_1", "ws_1", "x", "n")).ok());
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_01A", "ws_1", kT0)).ok());
  const std::string id = "dlv_01A-0";

  DeliveryAttempt failed{id, 0, DeliveryStatus::kPending, kT0 + 1000, "HTTP 500", kT0 + 10};
  ASSERT_TRUE(store_->FinishDeliveryAttempt(failed).ok());
  // The same outcome again (another sender of attempt 1) is a lost race.
  EXPECT_EQ(store_->FinishDeliveryAttempt(failed).code(), StatusCode::kAborted);
  DeliveryRecord d = store_->ListDeliveries("ws_1", "", 1)->items.at(0);
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.next_attempt_at, kT0 + 1000);
  EXPECT_EQ(d.last_error, "HTTP 500");
  EXPECT_EQ(d.updated_at, kT0 + 10);
  // Not due before its back-off ends.
  EXPECT_TRUE(store_->DueDeliveries(kT0 + 1000, 10)->empty());
  EXPECT_EQ(store_->DueDeliveries(kT0 + 1001, 10)->size(), 1u);

  // Delivered: the last error is kept, and it is due no more, also after a reopen.
  ASSERT_TRUE(
      store_->FinishDeliveryAttempt({id, 1, DeliveryStatus::kDelivered, 0, "", kT0 + 1001}).ok());
  EXPECT_EQ(store_->FinishDeliveryAttempt({id, 2, DeliveryStatus::kFailed, 0, "late", kT0}).code(),
            StatusCode::kAborted);
  Reopen();
  d = store_->ListDeliveries("ws_1", "", 1)->items.at(0);
  EXPECT_EQ(d.status, DeliveryStatus::kDelivered);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.last_error, "HTTP 500");
  EXPECT_TRUE(store_->DueDeliveries(kT0 + 1'000'000, 10)->empty());
  EXPECT_EQ(
      store_->FinishDeliveryAttempt({"dlv_none", 0, DeliveryStatus::kFailed, 0, "x", kT0}).code(),
      StatusCode::kAborted);
}

TEST_P(StoreConformanceTest, AnUnknownDeliveryStatusIsDataCorruption) {
  NotificationChannels one;
  one.email_to = {"ops@example.test"};
  ASSERT_TRUE(
      store_->PutNotificationChannels("ws_1", one, MakeAudit("aud_1", "ws_1", "x", "n")).ok());
  ASSERT_TRUE(store_->AddNotification(MakeNotification("ntf_01A", "ws_1", kT0)).ok());
  ASSERT_TRUE(
      backend_->ExecRaw("UPDATE deliveries SET status = 'lost' WHERE id = 'dlv_01A-0'").ok());
  ExpectCorruption(store_->ListDeliveries("ws_1", "", 10).status(),
                   {"deliveries", "dlv_01A-0", "status", "lost"});
  ASSERT_TRUE(backend_->ExecRaw("UPDATE notification_channels SET channel = 'pigeon'").ok());
  ExpectCorruption(store_->GetNotificationChannels("ws_1").status(),
                   {"notification_channels", "channel", "pigeon"});
}

}  // namespace
}  // namespace sw::store_test
