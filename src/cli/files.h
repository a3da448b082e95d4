// Files the CLI writes into a data directory (admin-token, listen-address, instance-id,
// a restored store's carried files).
#pragma once

#include <sys/types.h>

#include <string>

#include "core/result.h"

namespace sw::cli {

// Writes `text` to `path` through a temporary file (synced) and a rename, with `mode`.
// Every step is checked: a full data volume is an error (kUnavailable), never a short
// file.
Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode);

}  // namespace sw::cli
