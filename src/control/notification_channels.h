// The workspace's notification channels as the API reads and writes them
// (`GET/PUT /api/v1/notifications/channels`): email recipients and webhooks, validated
// strictly before the store keeps them.
//
// Pure functions; thread-safe. NotificationService (control/notifications.h) uses them.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>

#include "core/result.h"
#include "store/notification_records.h"

namespace sw {

// Bounds of a workspace's channels.
inline constexpr size_t kMaxEmailRecipients = 50;
inline constexpr size_t kMaxWebhooks = 20;

// `{"email": {"to": [addresses]}, "webhooks": [{"url", "format": "json"|"slack"}]}`; both
// keys optional, `format` defaults to json. kInvalidArgument naming the field
// (detail.field, e.g. "webhooks[1].url") for an unknown key, a wrong type, an address or
// URL that is not one, a repeat, or too many.
Result<NotificationChannels> ParseNotificationChannels(const nlohmann::json& body);
nlohmann::json NotificationChannelsJson(const NotificationChannels& channels);

}  // namespace sw
