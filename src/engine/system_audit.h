// The audit entry of a change the engine makes by itself (actor "system"): a hold, a
// connection's error, a safety trip, an expiry.
//
// Thread-safe (a function over a thread-safe IdSource).
#pragma once

#include <string>

#include "engine/id_source.h"
#include "store/records.h"

namespace sw {

inline AuditEntry SystemAudit(IdSource& ids, std::string workspace_id, int64_t now,
                              std::string action, std::string target, std::string reason,
                              std::string status_before, std::string status_after) {
  AuditEntry a;
  a.id = ids.Next("aud");
  a.workspace_id = std::move(workspace_id);
  a.at = now;
  a.actor = "system";
  a.action = std::move(action);
  a.target = std::move(target);
  a.reason = std::move(reason);
  a.status_before = std::move(status_before);
  a.status_after = std::move(status_after);
  return a;
}

}  // namespace sw
