#include "store/sqlite/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "store/sqlite/schema.h"

namespace sw::sqlite {

namespace {

namespace fs = std::filesystem;

constexpr char kInfoTable[] = "stepwell_backup_info";
constexpr char kFilesTable[] = "stepwell_backup_files";
constexpr char kFormat[] = "1";
// A busy answer from sqlite3_backup_step is retried this often, 10 ms apart. The
// destination is this process's own file and the source is read inside a transaction
// already open, so a busy answer means something else holds the backup file.
constexpr int kMaxBusyRetries = 500;
// integrity_check messages quoted in an error.
constexpr int kIntegrityMessages = 5;
// What a backup may carry: a few small files.
constexpr size_t kMaxCarriedFiles = 16;
constexpr size_t kMaxCarriedFileBytes = 1 << 20;
// Rows read by one query here (the info and files tables, integrity messages).
constexpr size_t kMaxRows = 64;
// Tables every Stepwell schema since version 1 has.
constexpr const char* kStoreTables[] = {"workspaces", "tokens", "workflows", "runs", "steps"};

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct BackupCloser {
  void operator()(sqlite3_backup* b) const { sqlite3_backup_finish(b); }
};

using Row = std::vector<std::string>;

Status Unavailable(const std::string& message) { return Status(StatusCode::kUnavailable, message); }

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Unavailable("cannot " + what + " " + path + ": " + std::strerror(errno));
}

// An error of `db`'s last call about the file `path`.
Status SqlError(sqlite3* db, int rc, const std::string& path) {
  const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return InvalidArgument(path + " is not a SQLite database");
    case SQLITE_CORRUPT:
      return InvalidArgument(path + " is damaged: " + message);
    case SQLITE_FULL:
      return Status(StatusCode::kResourceExhausted, path + ": " + message + " (disk full?)");
    default:
      return Unavailable(path + ": " + message);
  }
}

Result<Db> OpenDb(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    return Unavailable("cannot open " + path + ": " +
                       (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

Status Exec(sqlite3* db, const std::string& sql, const std::string& path) {
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : SqlError(db, rc, path);
}

// The rows of `sql` (at most kMaxRows), every column as bytes; `bind` are values for its
// parameters, text but for those from index `blobs_from` on, which are blobs.
Result<std::vector<Row>> Query(sqlite3* db, const std::string& sql, const std::string& path,
                               const std::vector<std::string>& bind = {},
                               size_t blobs_from = SIZE_MAX) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  if (rc != SQLITE_OK) {
    return SqlError(db, rc, path);
  }
  for (size_t i = 0; i < bind.size(); ++i) {
    const int n = static_cast<int>(bind[i].size());
    if (i >= blobs_from) {
      sqlite3_bind_blob(raw, static_cast<int>(i + 1), bind[i].data(), n, SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_text(raw, static_cast<int>(i + 1), bind[i].data(), n, SQLITE_TRANSIENT);
    }
  }
  std::vector<Row> rows;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW && rows.size() < kMaxRows) {
    Row row;
    for (int c = 0; c < sqlite3_column_count(raw); ++c) {
      const void* data = sqlite3_column_blob(raw, c);
      const int n = sqlite3_column_bytes(raw, c);
      row.emplace_back(data != nullptr ? static_cast<const char*>(data) : "",
                       static_cast<size_t>(n));
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return SqlError(db, rc, path);
  }
  return rows;
}

Result<int64_t> QueryInt(sqlite3* db, const std::string& sql, const std::string& path) {
  Result<std::vector<Row>> rows = Query(db, sql, path);
  if (!rows.ok()) {
    return rows.status();
  }
  if (rows->empty() || rows->front().empty()) {
    return Internal("no answer to " + sql);
  }
  return std::stoll(rows->front().front());
}

// What a database says of itself: the Stepwell schema version and its runs.
struct StoreFacts {
  int64_t schema_version = 0;
  int64_t runs = 0;
  bool has_backup_tables = false;
};

Result<StoreFacts> ReadStoreFacts(sqlite3* db, const std::string& path) {
  StoreFacts facts;
  Result<int64_t> version = QueryInt(db, "PRAGMA user_version", path);
  if (!version.ok()) {
    return version.status();
  }
  facts.schema_version = *version;
  for (const char* table : kStoreTables) {
    Result<std::vector<Row>> found =
        Query(db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", path, {table});
    if (!found.ok()) {
      return found.status();
    }
    if (found->empty() || facts.schema_version < 1) {
      return InvalidArgument(path + " is a SQLite database but not a Stepwell store (no table '" +
                             table + "' or no schema version)");
    }
  }
  if (facts.schema_version > SchemaVersion()) {
    return Status(StatusCode::kFailedPrecondition,
                  path + " was made by a newer Stepwell: its schema is version " +
                      std::to_string(facts.schema_version) + ", this build knows up to " +
                      std::to_string(SchemaVersion()));
  }
  Result<int64_t> runs = QueryInt(db, "SELECT count(*) FROM runs", path);
  if (!runs.ok()) {
    return runs.status();
  }
  facts.runs = *runs;
  Result<std::vector<Row>> info = Query(
      db, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", path, {kInfoTable});
  if (!info.ok()) {
    return info.status();
  }
  facts.has_backup_tables = !info->empty();
  return facts;
}

// Copies every page of `src` into `dst`, `pages_per_step` at a time; answers the
// number of steps. The caller holds a read transaction on `src`, so the copy is of one
// snapshot and never restarts: the steps are bounded by the page count.
Result<int64_t> CopyPages(sqlite3* src, sqlite3* dst, int pages_per_step,
                          const std::string& out_path) {
  std::unique_ptr<sqlite3_backup, BackupCloser> backup(
      sqlite3_backup_init(dst, "main", src, "main"));
  if (backup == nullptr) {
    return SqlError(dst, sqlite3_errcode(dst), out_path);
  }
  int64_t steps = 0;
  int busy = 0;
  int64_t max_steps = 2;  // until the first step tells the page count
  for (;;) {
    const int rc = sqlite3_backup_step(backup.get(), pages_per_step);
    ++steps;
    if (rc == SQLITE_DONE) {
      break;
    }
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      if (++busy > kMaxBusyRetries) {
        return Unavailable(out_path + ": the backup stayed busy (is something else using it?)");
      }
      sqlite3_sleep(10);
      continue;
    }
    if (rc != SQLITE_OK) {
      return SqlError(dst, rc, out_path);
    }
    if (steps == 1) {
      max_steps = sqlite3_backup_pagecount(backup.get()) / pages_per_step + 2;
    }
    if (steps - busy > max_steps) {
      return Internal("the backup did not end within " + std::to_string(max_steps) + " steps of " +
                      std::to_string(pages_per_step) + " pages");
    }
  }
  const int rc = sqlite3_backup_finish(backup.release());
  if (rc != SQLITE_OK) {
    return SqlError(dst, rc, out_path);
  }
  return steps;
}

Status WriteInfo(sqlite3* db, const std::string& path, const StoreFacts& facts,
                 const BackupOptions& options) {
  if (options.files.size() > kMaxCarriedFiles) {
    return InvalidArgument("a backup carries at most " + std::to_string(kMaxCarriedFiles) +
                           " files");
  }
  const std::string create = std::string("BEGIN; CREATE TABLE ") + kInfoTable +
                             " (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE " +
                             kFilesTable +
                             " (name TEXT PRIMARY KEY, mode INTEGER NOT NULL, content BLOB "
                             "NOT NULL);";
  if (Status s = Exec(db, create, path); !s.ok()) {
    return s;
  }
  const std::map<std::string, std::string> info = {
      {"format", kFormat},
      {"created_at", options.created_at},
      {"source_dir", options.source_dir},
      {"schema_version", std::to_string(facts.schema_version)},
      {"runs", std::to_string(facts.runs)},
  };
  for (const auto& [key, value] : info) {
    Result<std::vector<Row>> done =
        Query(db, std::string("INSERT INTO ") + kInfoTable + " VALUES (?, ?)", path, {key, value});
    if (!done.ok()) {
      return done.status();
    }
  }
  for (const CarriedFile& file : options.files) {
    if (file.content.size() > kMaxCarriedFileBytes) {
      return InvalidArgument(file.name + " is too large to carry in a backup");
    }
    Result<std::vector<Row>> done = Query(db,
                                          std::string("INSERT INTO ") + kFilesTable +
                                              " VALUES (?, " + std::to_string(file.mode) + ", ?)",
                                          path, {file.name, file.content}, /*blobs_from=*/1);
    if (!done.ok()) {
      return done.status();
    }
  }
  return Exec(db, "COMMIT", path);
}

Status CheckIntegrity(sqlite3* db, const std::string& path) {
  Result<std::vector<Row>> rows =
      Query(db, "PRAGMA integrity_check(" + std::to_string(kIntegrityMessages) + ")", path);
  if (!rows.ok()) {
    return rows.status();
  }
  if (rows->size() == 1 && rows->front().front() == "ok") {
    return Status::Ok();
  }
  std::string messages;
  for (const Row& row : *rows) {
    messages += (messages.empty() ? "" : "; ") + row.front();
  }
  return InvalidArgument(path + " is damaged (integrity_check: " + messages + ")");
}

Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    return ErrnoStatus("open", path);
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : ErrnoStatus("sync", path);
}

std::string DirOf(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// Removes `path` and the files SQLite keeps beside it.
void RemoveDbFiles(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    ::unlink((path + suffix).c_str());
  }
}

// Renames `from` to `to` and syncs the directory, so the new name survives a crash.
Status RenameDurably(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus("rename " + from + " to", to);
  }
  return SyncPath(DirOf(to), /*directory=*/true);
}

// Switches the file `path` to a rollback journal (one file, no -wal), writes what
// `then` writes and checks the result.
template <typename Fn>
Status Finish(const std::string& path, Fn then) {
  Result<Db> db = OpenDb(path, SQLITE_OPEN_READWRITE);
  if (!db.ok()) {
    return db.status();
  }
  for (const char* pragma : {"PRAGMA journal_mode=DELETE", "PRAGMA synchronous=FULL"}) {
    if (Status s = Exec(db->get(), pragma, path); !s.ok()) {
      return s;
    }
  }
  if (Status s = then(db->get()); !s.ok()) {
    return s;
  }
  if (Status s = CheckIntegrity(db->get(), path); !s.ok()) {
    return s;
  }
  db->reset();
  return SyncPath(path, /*directory=*/false);
}

Result<BackupSummary> Snapshot(const std::string& db_path, const std::string& tmp,
                               const BackupOptions& options) {
  // Read-write without create: a missing store is an error, never an empty new one,
  // and a store whose server is stopped (no -wal, no -shm) opens as well.
  Result<Db> src = OpenDb(db_path, SQLITE_OPEN_READWRITE);
  if (!src.ok()) {
    return src.status();
  }
  // The snapshot: the read transaction begins with the first read below and lasts
  // until every page is copied.
  if (Status s = Exec(src->get(), "BEGIN", db_path); !s.ok()) {
    return s;
  }
  Result<StoreFacts> facts = ReadStoreFacts(src->get(), db_path);
  if (!facts.ok()) {
    return facts.status();
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ErrnoStatus("create", tmp);
  }
  ::close(fd);
  Result<Db> dst = OpenDb(tmp, SQLITE_OPEN_READWRITE);
  if (!dst.ok()) {
    return dst.status();
  }
  Result<int64_t> steps =
      CopyPages(src->get(), dst->get(), std::max(1, options.pages_per_step), tmp);
  if (!steps.ok()) {
    return steps.status();
  }
  Exec(src->get(), "COMMIT", db_path);
  src->reset();
  // The copy carries the store's WAL flag; it is a single file from here on.
  dst->reset();
  Status finished = Finish(tmp, [&](sqlite3* db) { return WriteInfo(db, tmp, *facts, options); });
  if (!finished.ok()) {
    return finished;
  }
  BackupSummary summary;
  summary.schema_version = facts->schema_version;
  summary.runs = facts->runs;
  summary.steps = *steps;
  summary.created_at = options.created_at;
  summary.source_dir = options.source_dir;
  summary.files = options.files;
  return summary;
}

Status ReadCarried(sqlite3* db, const std::string& path, BackupSummary& summary) {
  Result<std::vector<Row>> info =
      Query(db, std::string("SELECT key, value FROM ") + kInfoTable, path);
  if (!info.ok()) {
    return info.status();
  }
  std::map<std::string, std::string> values;
  for (const Row& row : *info) {
    values[row[0]] = row[1];
  }
  if (values["format"] != kFormat) {
    return InvalidArgument(path + " is a backup of another format ('" + values["format"] +
                           "') than this build reads (" + kFormat + ")");
  }
  summary.created_at = values["created_at"];
  summary.source_dir = values["source_dir"];
  Result<std::vector<Row>> files = Query(
      db, std::string("SELECT name, mode, content FROM ") + kFilesTable + " ORDER BY name", path);
  if (!files.ok()) {
    return files.status();
  }
  for (const Row& row : *files) {
    if (row[0].empty() || row[0].find('/') != std::string::npos || row[0][0] == '.') {
      return InvalidArgument(path + " carries a file with a bad name: '" + row[0] + "'");
    }
    summary.files.push_back(CarriedFile{
        .name = row[0], .content = row[2], .mode = static_cast<uint32_t>(std::stoul(row[1]))});
  }
  return Status::Ok();
}

Result<BackupSummary> CheckStaged(const std::string& staging, const std::string& backup_path) {
  Result<Db> db = OpenDb(staging, SQLITE_OPEN_READWRITE);
  if (!db.ok()) {
    return db.status();
  }
  // Errors name the backup the user gave, not the copy.
  auto named = [&](const Status& s) {
    std::string message = s.message();
    if (message.rfind(staging, 0) == 0) {
      message = backup_path + message.substr(staging.size());
    }
    return Status(s.code(), message, s.detail());
  };
  if (Status s = CheckIntegrity(db->get(), staging); !s.ok()) {
    return named(s);
  }
  Result<StoreFacts> facts = ReadStoreFacts(db->get(), staging);
  if (!facts.ok()) {
    return named(facts.status());
  }
  BackupSummary summary;
  summary.schema_version = facts->schema_version;
  summary.runs = facts->runs;
  summary.plain_store = !facts->has_backup_tables;
  if (facts->has_backup_tables) {
    if (Status s = ReadCarried(db->get(), staging, summary); !s.ok()) {
      return named(s);
    }
  }
  db->reset();
  Status finished = Finish(staging, [&](sqlite3* raw) {
    if (!facts->has_backup_tables) {
      return Status::Ok();
    }
    return Exec(raw,
                std::string("BEGIN; DROP TABLE ") + kInfoTable + "; DROP TABLE " + kFilesTable +
                    "; COMMIT;",
                staging);
  });
  if (!finished.ok()) {
    return named(finished);
  }
  return summary;
}

}  // namespace

Result<BackupSummary> BackupStore(const std::string& db_path, const std::string& out_path,
                                  const BackupOptions& options) {
  std::error_code ec;
  if (!fs::is_regular_file(db_path, ec)) {
    return NotFound("no Stepwell store at " + db_path);
  }
  const std::string tmp = out_path + ".partial";
  RemoveDbFiles(tmp);
  Result<BackupSummary> summary = Snapshot(db_path, tmp, options);
  if (summary.ok()) {
    if (Status s = RenameDurably(tmp, out_path); !s.ok()) {
      summary = s;
    }
  }
  if (!summary.ok()) {
    RemoveDbFiles(tmp);
    return summary;
  }
  summary->bytes = static_cast<int64_t>(fs::file_size(out_path, ec));
  return summary;
}

Result<BackupSummary> StageRestore(const std::string& backup_path,
                                   const std::string& staging_path) {
  std::error_code ec;
  if (!fs::exists(backup_path, ec)) {
    return NotFound("no backup at " + backup_path);
  }
  if (!fs::is_regular_file(backup_path, ec)) {
    return InvalidArgument(backup_path + " is not a file");
  }
  RemoveDbFiles(staging_path);
  // The checks run on a copy: the backup itself is only ever read.
  fs::copy_file(backup_path, staging_path, fs::copy_options::overwrite_existing, ec);
  if (!ec) {
    fs::permissions(staging_path, fs::perms::owner_read | fs::perms::owner_write, ec);
  }
  if (ec) {
    RemoveDbFiles(staging_path);
    return Unavailable("cannot copy " + backup_path + " to " + staging_path + ": " + ec.message());
  }
  Result<BackupSummary> summary = CheckStaged(staging_path, backup_path);
  if (!summary.ok()) {
    RemoveDbFiles(staging_path);
    return summary;
  }
  summary->bytes = static_cast<int64_t>(fs::file_size(staging_path, ec));
  return summary;
}

Status InstallRestore(const std::string& staging_path, const std::string& db_path) {
  for (const char* suffix : {"-journal", "-wal", "-shm"}) {
    ::unlink((db_path + suffix).c_str());
  }
  return RenameDurably(staging_path, db_path);
}

}  // namespace sw::sqlite
