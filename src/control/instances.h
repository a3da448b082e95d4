// InstancesView: the instances serving this store, as GET /api/v1/instances shows
// them (admin): one on the embedded store, each live one of several on PostgreSQL.
//
// Thread-safe, as the registry it reads.
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "store/instances.h"

namespace sw {

class InstancesView {
 public:
  explicit InstancesView(InstanceRegistry& registry) : registry_(registry) {}

  // {"items": [{"id", "address", "started_at", "heartbeat_at", "self"}]}, oldest first.
  Result<nlohmann::json> List() const;

 private:
  InstanceRegistry& registry_;
};

}  // namespace sw
