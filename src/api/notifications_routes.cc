// Notifications: the in-app list (with the unread count), marking one read, the
// workspace's channels, and the outbox's deliveries.

#include <initializer_list>
#include <string_view>

#include "api/routes.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

namespace {

constexpr int kMaxLimit = 500;

json TimeOrNull(int64_t ms) { return ms > 0 ? json(FormatTime(ms)) : json(nullptr); }

json NotificationJson(const NotificationRecord& n) {
  return json{{"id", n.id},
              {"kind", n.kind},
              {"title", n.title},
              {"body", n.body},
              {"link", n.link},
              {"created_at", FormatTime(n.created_at)},
              {"read_at", TimeOrNull(n.read_at)}};
}

json DeliveryJson(const DeliveryRecord& d) {
  return json{
      {"id", d.id},
      {"notification_id", d.notification_id},
      {"channel", ToString(d.channel)},
      {"target", d.target},
      {"format", ToString(d.format)},
      {"status", ToString(d.status)},
      {"attempts", d.attempts},
      {"next_attempt_at",
       d.status == DeliveryStatus::kPending ? TimeOrNull(d.next_attempt_at) : json(nullptr)},
      {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
      {"created_at", FormatTime(d.created_at)},
      {"updated_at", FormatTime(d.updated_at)}};
}

json CursorJson(const std::string& cursor) { return cursor.empty() ? json(nullptr) : json(cursor); }

// Refuses a query parameter not in `known`, and reads `limit` (1..500, default 50) and
// `cursor`.
Status ParsePaging(const Call& call, std::initializer_list<std::string_view> known, int& limit,
                   std::string& cursor) {
  for (const auto& [key, value] : call.req.query) {
    bool ok = key == "limit" || key == "cursor";
    for (std::string_view k : known) {
      ok = ok || key == k;
    }
    if (!ok) {
      return InvalidArgument("Unknown query parameter '" + key + "'");
    }
  }
  if (auto it = call.req.query.find("limit"); it != call.req.query.end()) {
    std::optional<int64_t> v = ParseInt(it->second);
    if (!v || *v < 1 || *v > kMaxLimit) {
      return InvalidArgument("'limit' must be an integer from 1 to 500");
    }
    limit = static_cast<int>(*v);
  }
  cursor = call.Query("cursor");
  return Status::Ok();
}

}  // namespace

void ListNotifications(ApiContext& api, Call& call) {
  NotificationFilter filter;
  if (Status s = ParsePaging(call, {"unread"}, filter.limit, filter.cursor); !s.ok()) {
    call.Fail(s);
    return;
  }
  const std::string unread = call.Query("unread");
  if (unread != "" && unread != "true" && unread != "false") {
    call.Fail(InvalidArgument("'unread' must be true or false"));
    return;
  }
  filter.unread_only = unread == "true";
  Result<NotificationPage> page = api.notifications.List(call.ctx, filter);
  if (!page.ok()) {
    call.Fail(page.status());
    return;
  }
  json items = json::array();
  for (const NotificationRecord& n : page->items) {
    items.push_back(NotificationJson(n));
  }
  call.Reply(200, json{{"items", items},
                       {"next_cursor", CursorJson(page->next_cursor)},
                       {"unread_count", page->unread_count}});
}

void MarkNotificationRead(ApiContext& api, Call& call) {
  if (!call.ParseObject({})) return;
  Result<NotificationRecord> n =
      api.notifications.MarkRead(call.ctx, call.Param("notification_id"));
  n.ok() ? call.Reply(200, NotificationJson(*n)) : call.Fail(n.status());
}

void GetNotificationChannels(ApiContext& api, Call& call) {
  Result<NotificationChannels> channels = api.notifications.GetChannels(call.ctx);
  channels.ok() ? call.Reply(200, NotificationChannelsJson(*channels))
                : call.Fail(channels.status());
}

void PutNotificationChannels(ApiContext& api, Call& call) {
  if (!call.ParseObject({"email", "webhooks"}, true)) return;
  Result<NotificationChannels> channels = api.notifications.PutChannels(call.ctx, call.body);
  channels.ok() ? call.Reply(200, NotificationChannelsJson(*channels))
                : call.Fail(channels.status());
}

void ListDeliveries(ApiContext& api, Call& call) {
  int limit = 50;
  std::string cursor;
  if (Status s = ParsePaging(call, {}, limit, cursor); !s.ok()) {
    call.Fail(s);
    return;
  }
  Result<DeliveryPage> page = api.notifications.ListDeliveries(call.ctx, cursor, limit);
  if (!page.ok()) {
    call.Fail(page.status());
    return;
  }
  json items = json::array();
  for (const DeliveryRecord& d : page->items) {
    items.push_back(DeliveryJson(d));
  }
  call.Reply(200, json{{"items", items}, {"next_cursor", CursorJson(page->next_cursor)}});
}

}  // namespace sw::routes
