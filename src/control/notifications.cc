#include "control/notifications.h"

namespace sw {

using nlohmann::json;

Result<NotificationPage> NotificationService::List(const RequestContext& ctx,
                                                   const NotificationFilter& filter) {
  return store_.ListNotifications(ctx.principal.workspace_id, filter);
}

Result<NotificationRecord> NotificationService::MarkRead(const RequestContext& ctx,
                                                         const std::string& id) {
  return store_.MarkNotificationRead(ctx.principal.workspace_id, id, clock_.NowMs());
}

Result<NotificationChannels> NotificationService::GetChannels(const RequestContext& ctx) {
  return store_.GetNotificationChannels(ctx.principal.workspace_id);
}

Result<NotificationChannels> NotificationService::PutChannels(const RequestContext& ctx,
                                                              const json& body) {
  Result<NotificationChannels> channels = ParseNotificationChannels(body);
  if (!channels.ok()) {
    return channels;
  }
  AuditEntry audit;
  audit.id = ids_.Next("aud");
  audit.workspace_id = ctx.principal.workspace_id;
  audit.at = clock_.NowMs();
  audit.actor = ctx.principal.actor();
  audit.action = "notification_channels.update";
  audit.target = "notification-channels";
  audit.reason = std::to_string(channels->email_to.size()) + " email address(es), " +
                 std::to_string(channels->webhooks.size()) + " webhook(s)";
  audit.request_id = ctx.request_id;
  Status s = store_.PutNotificationChannels(ctx.principal.workspace_id, *channels, audit);
  if (!s.ok()) {
    return s;
  }
  return channels;
}

Result<DeliveryPage> NotificationService::ListDeliveries(const RequestContext& ctx,
                                                         const std::string& cursor, int limit) {
  return store_.ListDeliveries(ctx.principal.workspace_id, cursor, limit);
}

}  // namespace sw
