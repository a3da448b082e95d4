#include "store/connection_records.h"

namespace sw {

std::string_view ToString(ConnectionStatus s) {
  return s == ConnectionStatus::kError ? "error" : "active";
}

std::optional<ConnectionStatus> ParseConnectionStatus(std::string_view s) {
  for (ConnectionStatus status : {ConnectionStatus::kActive, ConnectionStatus::kError}) {
    if (ToString(status) == s) {
      return status;
    }
  }
  return std::nullopt;
}

}  // namespace sw
