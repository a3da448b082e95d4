// Backup and restore of the SQLite store (`stepwell backup`, `stepwell restore`).
//
// A backup is one SQLite file: a consistent snapshot of a live DIR/stepwell.db made with
// SQLite's online backup API, plus two tables of its own, `stepwell_backup_info` (what
// was backed up, when) and `stepwell_backup_files` (small files of the data directory
// the caller carries along, such as the secret key). The snapshot is the one of a read
// transaction held on the store for the whole copy: every commit made before the backup
// began is in it and none made after. In WAL mode that read transaction does not block
// the server's writer; it keeps checkpoints from resetting the WAL past the snapshot, so
// the WAL grows by what is written meanwhile and is checkpointed once the backup ends.
// The pages are copied in steps of `pages_per_step`; nothing is held between them but
// that read transaction.
//
// Restore checks a file (SQLite's integrity_check, a Stepwell schema no newer than this
// build's) on a copy beside the target, drops the backup's own tables and renames the
// copy into place, so a refused or interrupted restore leaves the target as it was. A
// plain copy of a stepwell.db (not made by BackupStore) is accepted too; it carries no
// files.
//
// Functions, no state: thread-safe. They do their own file I/O on the caller's thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace sw::sqlite {

// A file of the data directory carried inside a backup.
struct CarriedFile {
  std::string name;  // a plain file name, no directory ("secret.key")
  std::string content;
  uint32_t mode = 0600;

  bool operator==(const CarriedFile&) const = default;
};

struct BackupOptions {
  // SQLite pages (4 KiB) copied per call of sqlite3_backup_step.
  int pages_per_step = 1024;
  std::string created_at;  // RFC 3339, recorded in the backup
  std::string source_dir;  // recorded in the backup, for people
  std::vector<CarriedFile> files;
};

// What a backup holds, as BackupStore made it or StageRestore found it.
struct BackupSummary {
  int64_t schema_version = 0;
  int64_t runs = 0;
  int64_t bytes = 0;
  int64_t steps = 0;       // calls of sqlite3_backup_step (BackupStore only)
  std::string created_at;  // empty for a plain store copy
  std::string source_dir;
  bool plain_store = false;  // a stepwell.db copy rather than a backup
  std::vector<CarriedFile> files;
};

// Copies the store at `db_path` (which a server may be writing) into a new file at
// `out_path`, written beside it first and renamed when complete and checked.
// REQUIRES: nothing exists at `out_path` (the caller decides whether to replace).
// kNotFound when `db_path` does not exist; kInvalidArgument when it is not a Stepwell
// store; kUnavailable on a file error (the partial file is removed).
Result<BackupSummary> BackupStore(const std::string& db_path, const std::string& out_path,
                                  const BackupOptions& options);

// Checks the backup at `backup_path` and writes the store it holds, without the
// backup's own tables, to `staging_path` (replaced if present). kNotFound: no file;
// kInvalidArgument: not a SQLite file, damaged, or not a Stepwell store;
// kFailedPrecondition: made by a newer Stepwell (a schema this build does not know).
Result<BackupSummary> StageRestore(const std::string& backup_path, const std::string& staging_path);

// Puts the staged store in place as `db_path`, replacing a store there (and removing
// its -wal and -shm files, which belong to the store replaced).
// REQUIRES: no server has `db_path` open.
Status InstallRestore(const std::string& staging_path, const std::string& db_path);

}  // namespace sw::sqlite
