// The body of `PUT /api/v1/notifications/channels` (ParseNotificationChannels); what
// it accepts writes back to JSON that it accepts again, unchanged.
#include "control/notification_channels.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<nlohmann::json> doc = sw::fuzz::Json(data, size);
  if (!doc) {
    return 0;
  }
  sw::Result<sw::NotificationChannels> channels = sw::ParseNotificationChannels(*doc);
  if (!channels.ok()) {
    return 0;
  }
  sw::Result<sw::NotificationChannels> again =
      sw::ParseNotificationChannels(sw::NotificationChannelsJson(*channels));
  sw::fuzz::Require(again.ok() && *again == *channels, "channels round-trip through JSON");
  return 0;
}
