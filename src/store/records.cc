#include "store/records.h"

namespace sw {

std::string_view ToString(Role r) {
  switch (r) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    case Role::kAgent:
      return "agent";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view s) {
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin, Role::kAgent}) {
    if (ToString(r) == s) {
      return r;
    }
  }
  return std::nullopt;
}

Status DataCorruption(std::string_view table, std::string_view row, std::string_view column,
                      std::string_view value) {
  // A corrupt JSON text may be long; its start is enough to find it.
  constexpr size_t kMaxShown = 80;
  std::string shown(value.substr(0, kMaxShown));
  if (value.size() > kMaxShown) {
    shown += "...";
  }
  return Status(StatusCode::kInternal,
                "data corruption: table " + std::string(table) + ", row " + std::string(row) +
                    ", column " + std::string(column) + " holds '" + shown + "'",
                "data_corruption");
}

}  // namespace sw
