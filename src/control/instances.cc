#include "control/instances.h"

#include "core/time_format.h"

namespace sw {

Result<nlohmann::json> InstancesView::List() const {
  Result<std::vector<InstanceRecord>> live = registry_.ListLive();
  if (!live.ok()) {
    return live.status();
  }
  const std::string self = registry_.self();
  nlohmann::json items = nlohmann::json::array();
  for (const InstanceRecord& i : *live) {
    items.push_back({{"id", i.id},
                     {"address", i.address},
                     {"started_at", FormatTime(i.started_at)},
                     {"heartbeat_at", FormatTime(i.heartbeat_at)},
                     {"self", i.id == self}});
  }
  return nlohmann::json{{"items", std::move(items)}};
}

}  // namespace sw
