// Notifications: the in-app list (with the unread count), marking one read, the
// workspace's channels, and the outbox's deliveries.

#include <initializer_list>
#include <string_view>

#include "api/render.h"
#include "api/routes.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

namespace {

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
