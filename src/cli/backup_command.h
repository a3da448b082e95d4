// `stepwell backup --data-dir DIR --out FILE` (while the server runs) and `stepwell
// restore --from FILE --data-dir NEWDIR`: a consistent copy of the SQLite store with the
// data directory's secret key and admin token, and a data directory made from one
// (store/sqlite/backup.h; docs/operations.md, "Backup and restore"). A PostgreSQL store
// is backed up with pg_dump instead; both commands say so.
#pragma once

#include <CLI/CLI.hpp>

namespace sw::cli {

void AddBackupCommands(CLI::App& app);

}  // namespace sw::cli
