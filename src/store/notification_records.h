// The records of notifications: the notification itself (also the in-app item), a
// workspace's channel configuration, and the deliveries the store fans a notification
// out to, one per external recipient (an email address, a webhook). Times are
// milliseconds since the Unix epoch; 0 means "not set". Value types.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw {

struct NotificationRecord {
  std::string id;  // "ntf_…"
  std::string workspace_id;
  std::string kind;  // approval_requested, connection_error, throughput_cap, ...
  std::string title;
  std::string body;
  std::string link;        // a web UI path, e.g. "/{slug}/monitoring/approvals"
  nlohmann::json subject;  // an object such as {"approval_id": "apr_…"}, or null
  int64_t created_at = 0;
  int64_t read_at = 0;
};

enum class DeliveryChannel { kEmail, kWebhook };
// How a delivery's message is written: an email's text/plain body, a webhook's JSON
// object, or Slack's incoming-webhook payload.
enum class DeliveryFormat { kText, kJson, kSlack };
enum class DeliveryStatus { kPending, kDelivered, kFailed };

std::string_view ToString(DeliveryChannel c);
std::string_view ToString(DeliveryFormat f);
std::string_view ToString(DeliveryStatus s);
std::optional<DeliveryChannel> ParseDeliveryChannel(std::string_view s);
std::optional<DeliveryFormat> ParseDeliveryFormat(std::string_view s);
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view s);

// Where a workspace's notifications go besides the in-app list.
struct NotificationChannels {
  struct Webhook {
    std::string url;
    DeliveryFormat format = DeliveryFormat::kJson;  // kJson or kSlack
    bool operator==(const Webhook&) const = default;
  };
  std::vector<std::string> email_to;
  std::vector<Webhook> webhooks;
  bool operator==(const NotificationChannels&) const = default;
};

struct DeliveryRecord {
  // "dlv_" + the notification id's time-ordered part + "-" + the recipient's position
  // in the workspace's channels: made by the store when it fans the notification out.
  std::string id;
  std::string workspace_id;
  std::string notification_id;
  DeliveryChannel channel = DeliveryChannel::kEmail;
  std::string target;  // an email address, or a webhook URL
  DeliveryFormat format = DeliveryFormat::kText;
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;             // attempts finished
  int64_t next_attempt_at = 0;  // when a pending delivery is due
  std::string last_error;       // of the latest failed attempt; "" when none failed
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// A due delivery with what it delivers.
struct OutboxItem {
  DeliveryRecord delivery;
  NotificationRecord notification;
};

// The outcome of one attempt at a delivery, recorded as a compare-and-set: it applies
// only while the delivery is pending after `expected_attempts` attempts.
struct DeliveryAttempt {
  std::string delivery_id;
  int expected_attempts = 0;
  DeliveryStatus status = DeliveryStatus::kDelivered;  // kPending: another attempt follows
  int64_t next_attempt_at = 0;                         // when status is kPending
  std::string error;                                   // "" for a delivered attempt
  int64_t now = 0;
};

struct NotificationFilter {
  bool unread_only = false;
  std::string cursor;  // exclusive: notifications with smaller ids
  int limit = 50;
};

struct NotificationPage {
  std::vector<NotificationRecord> items;
  std::string next_cursor;   // empty when there is no further page
  int64_t unread_count = 0;  // of the whole workspace, not only this page
};

struct DeliveryPage {
  std::vector<DeliveryRecord> items;
  std::string next_cursor;
};

}  // namespace sw
