// SqlStore's notifications, the workspaces' notification channels and the
// deliveries of the outbox, with their claims. See sql_store.h.
#include <algorithm>
#include <map>

#include "store/sql/query.h"
#include "store/sql/rows.h"
#include "store/sql/sql_store.h"

namespace sw {

using sql::Connection;
using sql::QueryAll;
using sql::Statement;

namespace {

constexpr int kMaxPage = 500;

Result<NotificationRecord> SelectNotification(Connection& db, const std::string& workspace_id,
                                              const std::string& id) {
  static const std::string kSql = std::string("SELECT ") + sql::kNotificationColumns +
                                  " FROM notifications WHERE id = ? AND workspace_id = ?";
  return sql::QueryOne<NotificationRecord>(
      db, kSql, [&](Statement& q) { q.Bind(1, id).Bind(2, workspace_id); }, sql::ReadNotification,
      "notification " + id + " not found");
}

Status InsertChannel(Connection& db, const std::string& workspace_id, int64_t position,
                     DeliveryChannel channel, const std::string& target, DeliveryFormat format) {
  return sql::Exec(db,
                   "INSERT INTO notification_channels(workspace_id, position, channel, "
                   "target, format) VALUES(?, ?, ?, ?, ?)",
                   [&](Statement& q) {
                     q.Bind(1, workspace_id).Bind(2, position).Bind(3, ToString(channel));
                     q.Bind(4, target).Bind(5, ToString(format));
                   });
}

// Each of `deliveries` with its notification, read on `db`.
Result<std::vector<OutboxItem>> WithNotifications(Connection& db,
                                                  std::vector<DeliveryRecord> deliveries) {
  // A notification usually has a few deliveries: each is read once.
  std::map<std::string, NotificationRecord> notifications;
  std::vector<OutboxItem> items;
  for (DeliveryRecord& d : deliveries) {
    auto found = notifications.find(d.notification_id);
    if (found == notifications.end()) {
      Result<NotificationRecord> n = SelectNotification(db, d.workspace_id, d.notification_id);
      if (!n.ok()) {
        return n.status();
      }
      found = notifications.emplace(d.notification_id, std::move(n).value()).first;
    }
    items.push_back(OutboxItem{std::move(d), found->second});
  }
  return items;
}

// Keeps the first `limit` of `rows` and answers the cursor of the next page ("" when
// there is none). `rows` were read with limit + 1.
template <typename T>
std::string CutPage(std::vector<T>& rows, int limit) {
  if (rows.size() <= static_cast<size_t>(limit)) {
    return "";
  }
  rows.resize(limit);
  return rows.back().id;
}

}  // namespace

Status SqlStore::AddNotification(const NotificationRecord& n) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Result<int64_t> queued = sql::InsertNotification(db, n);
    if (!queued.ok()) {
      return queued.status();
    }
    outbox_signal_ = outbox_signal_ || *queued > 0;
    return Status::Ok();
  });
}

Result<NotificationPage> SqlStore::ListNotifications(const std::string& workspace_id,
                                                     const NotificationFilter& filter) {
  const int limit = std::clamp(filter.limit, 1, kMaxPage);
  std::string sql = std::string("SELECT ") + sql::kNotificationColumns +
                    " FROM notifications WHERE workspace_id = ?1";
  if (filter.unread_only) sql += " AND read_at = 0";
  if (!filter.cursor.empty()) sql += " AND id < ?2";
  sql += " ORDER BY id DESC LIMIT ?3";
  return Read([&](Connection& db) -> Result<NotificationPage> {
    Result<std::vector<NotificationRecord>> rows = QueryAll<NotificationRecord>(
        db, sql,
        [&](Statement& q) {
          q.Bind(1, workspace_id);
          if (!filter.cursor.empty()) q.Bind(2, filter.cursor);
          q.Bind(3, limit + 1);
        },
        sql::ReadNotification);
    if (!rows.ok()) {
      return rows.status();
    }
    Result<std::vector<int64_t>> unread = QueryAll<int64_t>(
        db, "SELECT COUNT(*) FROM notifications WHERE workspace_id = ? AND read_at = 0",
        [&](Statement& q) { q.Bind(1, workspace_id); },
        [](const Statement& q) { return q.Int(0); });
    if (!unread.ok()) {
      return unread.status();
    }
    NotificationPage page;
    page.items = std::move(rows).value();
    page.next_cursor = CutPage(page.items, limit);
    page.unread_count = unread->empty() ? 0 : unread->front();
    return page;
  });
}

Result<NotificationRecord> SqlStore::MarkNotificationRead(const std::string& workspace_id,
                                                          const std::string& notification_id,
                                                          int64_t now) {
  std::optional<NotificationRecord> out;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status marked = sql::Exec(
        db,
        "UPDATE notifications SET read_at = ? WHERE id = ? AND workspace_id = ? AND read_at = 0",
        [&](Statement& q) { q.Bind(1, now).Bind(2, notification_id).Bind(3, workspace_id); });
    if (!marked.ok()) {
      return marked;
    }
    Result<NotificationRecord> n = SelectNotification(db, workspace_id, notification_id);
    if (!n.ok()) {
      return n.status();
    }
    out = std::move(n).value();
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return std::move(*out);
}

Result<NotificationChannels> SqlStore::GetNotificationChannels(const std::string& workspace_id) {
  Result<std::vector<sql::ChannelRow>> rows = Read([&](Connection& db) {
    return QueryAll<sql::ChannelRow>(
        db,
        "SELECT workspace_id, position, channel, target, format FROM notification_channels "
        "WHERE workspace_id = ? ORDER BY position",
        [&](Statement& q) { q.Bind(1, workspace_id); }, sql::ReadChannelRow);
  });
  if (!rows.ok()) {
    return rows.status();
  }
  NotificationChannels channels;
  for (const sql::ChannelRow& row : *rows) {
    if (row.channel == DeliveryChannel::kEmail) {
      channels.email_to.push_back(row.target);
    } else {
      channels.webhooks.push_back({row.target, row.format});
    }
  }
  return channels;
}

Status SqlStore::PutNotificationChannels(const std::string& workspace_id,
                                         const NotificationChannels& channels,
                                         const AuditEntry& audit) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status cleared = sql::Exec(db, "DELETE FROM notification_channels WHERE workspace_id = ?",
                               [&](Statement& q) { q.Bind(1, workspace_id); });
    if (!cleared.ok()) {
      return cleared;
    }
    int64_t position = 0;
    for (const std::string& to : channels.email_to) {
      Status s = InsertChannel(db, workspace_id, position++, DeliveryChannel::kEmail, to,
                               DeliveryFormat::kText);
      if (!s.ok()) {
        return s;
      }
    }
    for (const NotificationChannels::Webhook& hook : channels.webhooks) {
      Status s = InsertChannel(db, workspace_id, position++, DeliveryChannel::kWebhook, hook.url,
                               hook.format);
      if (!s.ok()) {
        return s;
      }
    }
    return sql::InsertAudit(db, audit);
  });
}

Result<DeliveryPage> SqlStore::ListDeliveries(const std::string& workspace_id,
                                              const std::string& cursor, int limit) {
  limit = std::clamp(limit, 1, kMaxPage);
  std::string sql =
      std::string("SELECT ") + sql::kDeliveryColumns + " FROM deliveries WHERE workspace_id = ?1";
  if (!cursor.empty()) sql += " AND id < ?2";
  sql += " ORDER BY id DESC LIMIT ?3";
  return Read([&](Connection& db) -> Result<DeliveryPage> {
    Result<std::vector<DeliveryRecord>> rows = QueryAll<DeliveryRecord>(
        db, sql,
        [&](Statement& q) {
          q.Bind(1, workspace_id);
          if (!cursor.empty()) q.Bind(2, cursor);
          q.Bind(3, limit + 1);
        },
        sql::ReadDelivery);
    if (!rows.ok()) {
      return rows.status();
    }
    DeliveryPage page;
    page.items = std::move(rows).value();
    page.next_cursor = CutPage(page.items, limit);
    return page;
  });
}

Result<std::vector<OutboxItem>> SqlStore::DueDeliveries(int64_t due_before, int limit) {
  static const std::string kSql = std::string("SELECT ") + sql::kDeliveryColumns +
                                  " FROM deliveries WHERE status = 'pending' AND "
                                  "next_attempt_at < ? ORDER BY next_attempt_at, id LIMIT ?";
  return Read([&](Connection& db) -> Result<std::vector<OutboxItem>> {
    Result<std::vector<DeliveryRecord>> due = QueryAll<DeliveryRecord>(
        db, kSql, [&](Statement& q) { q.Bind(1, due_before).Bind(2, limit); }, sql::ReadDelivery);
    if (!due.ok()) {
      return due.status();
    }
    return WithNotifications(db, std::move(due).value());
  });
}

Result<std::vector<OutboxItem>> SqlStore::ClaimDueDeliveries(const std::string& claimer,
                                                             int64_t now, int64_t claim_ms,
                                                             int limit) {
  // Rows another instance's open transaction is claiming are skipped (PostgreSQL), not
  // waited for; the UPDATE is a compare-and-set on the claim all the same.
  const std::string select =
      std::string("SELECT ") + sql::kDeliveryColumns +
      " FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1 AND "
      "(claimed_until <= ?1 OR claimed_by = ?2) ORDER BY next_attempt_at, id LIMIT ?3" +
      dialect().for_update_skip_locked;
  std::vector<OutboxItem> claimed;
  Status s = WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    claimed.clear();
    Result<std::vector<DeliveryRecord>> due = QueryAll<DeliveryRecord>(
        db, select, [&](Statement& q) { q.Bind(1, now).Bind(2, claimer).Bind(3, limit); },
        sql::ReadDelivery);
    if (!due.ok()) {
      return due.status();
    }
    std::vector<DeliveryRecord> mine;
    for (DeliveryRecord& d : *due) {
      Status up = sql::Exec(
          db,
          "UPDATE deliveries SET claimed_by = ?1, claimed_until = ?2 WHERE id = ?3 AND status = "
          "'pending' AND (claimed_until <= ?4 OR claimed_by = ?1)",
          [&](Statement& q) {
            q.Bind(1, claimer).Bind(2, now + claim_ms).Bind(3, d.id).Bind(4, now);
          });
      if (!up.ok()) {
        return up;
      }
      if (db.Changes() == 1) {
        mine.push_back(std::move(d));
      }
    }
    Result<std::vector<OutboxItem>> items = WithNotifications(db, std::move(mine));
    if (!items.ok()) {
      return items.status();
    }
    claimed = std::move(items).value();
    return Status::Ok();
  });
  if (!s.ok()) {
    return s;
  }
  return claimed;
}

Status SqlStore::FinishDeliveryAttempt(const DeliveryAttempt& a) {
  return WriteSync([&](Connection& db, std::vector<std::string>&) -> Status {
    Status s = sql::Exec(
        db,
        "UPDATE deliveries SET status = ?1, attempts = ?2 + 1, next_attempt_at = ?3, last_error "
        "= CASE WHEN ?4 = '' THEN last_error ELSE ?4 END, updated_at = ?5, claimed_by = '', "
        "claimed_until = 0 WHERE id = ?6 AND status = 'pending' AND attempts = ?2",
        [&](Statement& q) {
          q.Bind(1, ToString(a.status)).Bind(2, a.expected_attempts).Bind(3, a.next_attempt_at);
          q.Bind(4, a.error).Bind(5, a.now).Bind(6, a.delivery_id);
        });
    if (!s.ok()) {
      return s;
    }
    if (db.Changes() == 0) {
      return Status(StatusCode::kAborted, "the delivery " + a.delivery_id + " changed meanwhile",
                    "state_changed");
    }
    return Status::Ok();
  });
}

}  // namespace sw
