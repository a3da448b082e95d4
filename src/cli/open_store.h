// The store a command names: the embedded SQLite file in the data directory, or a
// PostgreSQL database (`--store postgresql://…`, STEPWELL_STORE). With PostgreSQL the
// data directory still keeps the server's own files (secret key, admin token, listen
// address, process records), so it is made if missing.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "store/secret_box.h"
#include "store/store.h"

namespace sw::cli {

// `store` empty: SQLite in `data_dir`. `secrets` null: the key of `data_dir`
// (SecretBox::ForDataDir).
Result<std::unique_ptr<Store>> OpenStore(const std::string& data_dir, const std::string& store,
                                         std::shared_ptr<const SecretBox> secrets = nullptr);

}  // namespace sw::cli
