// NotificationService is what the API calls for notifications: the in-app list and its
// unread count, marking one read, the workspace's channels (email addresses and
// webhooks, validated strictly) and the outbox's deliveries. Everything is scoped to the
// caller's workspace: a notification of another workspace is "not found". Roles are the
// API's. Notifications are the workspace's, not a person's: one read marks it read for
// everyone.
//
// Thread-safe. Borrows the store, the clock and the id source, which outlive it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "control/notification_channels.h"
#include "control/service.h"
#include "core/result.h"
#include "engine/clock.h"
#include "engine/id_source.h"
#include "store/store.h"

namespace sw {

class NotificationService {
 public:
  NotificationService(Store& store, const Clock& clock, IdSource& ids)
      : store_(store), clock_(clock), ids_(ids) {}

  Result<NotificationPage> List(const RequestContext& ctx, const NotificationFilter& filter);
  // Idempotent: a notification read before keeps its read_at.
  Result<NotificationRecord> MarkRead(const RequestContext& ctx, const std::string& id);
  Result<NotificationChannels> GetChannels(const RequestContext& ctx);
  // Replaces the channels (audited); notifications added before keep their deliveries.
  Result<NotificationChannels> PutChannels(const RequestContext& ctx, const nlohmann::json& body);
  Result<DeliveryPage> ListDeliveries(const RequestContext& ctx, const std::string& cursor,
                                      int limit);

 private:
  Store& store_;
  const Clock& clock_;
  IdSource& ids_;
};

}  // namespace sw
