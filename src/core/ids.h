// Server-made ids: "<prefix>_" + 26 Crockford base32 characters (a ULID: 48 bits of
// milliseconds, 80 random bits). URL-safe and sortable by creation time.
// Pure: the caller passes the time and the random bytes. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sw {

std::string MakeId(std::string_view prefix, int64_t unix_ms, const std::array<uint8_t, 10>& random);

// True for an id MakeId could have made with `prefix`: "<prefix>_" + 26 characters of
// Crockford base32 (upper case). A list's cursor that is not is not one it gave out.
bool IsWellFormedId(std::string_view prefix, std::string_view s);

// True for "[a-z0-9][a-z0-9-]{0,62}": workflow ids and workspace slugs.
bool IsValidSlug(std::string_view s);

// Strong id types so a run id is never passed where a workflow id belongs.
template <typename Tag>
struct Id {
  std::string value;
  bool operator==(const Id&) const = default;
  auto operator<=>(const Id&) const = default;
};
struct RunTag {};
struct WorkflowTag {};
struct WorkspaceTag {};
using RunId = Id<RunTag>;
using WorkflowId = Id<WorkflowTag>;
using WorkspaceId = Id<WorkspaceTag>;

}  // namespace sw
