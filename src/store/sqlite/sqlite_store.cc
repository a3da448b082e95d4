#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "store/sqlite/schema.h"
#include "store/sqlite/wal_checkpointer.h"

namespace sw {

using sqlite::SqliteConnection;

namespace {

// The WAL's working size: it is checkpointed (and written from its start again) at
// about 4,000 pages (WalCheckpointer::Marks::in_place_pages).
constexpr size_t kWalPresize = 20 << 20;

// A WAL that grows makes each commit's fsync also commit the file's new size (an ext4
// journal write); overwriting blocks already written does not, and is ~30% faster here.
// So the WAL is extended to its working size with written zeros once the database is in
// WAL mode: SQLite writes frames at offsets it computes and ignores whatever follows
// the last valid commit, and it never shrinks the file (journal_size_limit is -1).
// Pre-allocating the WAL only pays on a volume with room to spare: on a small one it
// would take the space the database and the server's files need.
constexpr uint64_t kPresizeMinFree = 4 * kWalPresize;

constexpr size_t kReaders = 4;

void PresizeWal(const std::string& wal_path) {
  struct statvfs fs {};
  if (::statvfs(wal_path.c_str(), &fs) != 0 ||
      static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < kPresizeMinFree) {
    return;
  }
  const int fd = ::open(wal_path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const std::string zeros(1 << 20, '\0');
  for (off_t at = size; size >= 0 && at < static_cast<off_t>(kWalPresize);) {
    const size_t n = std::min(zeros.size(), kWalPresize - static_cast<size_t>(at));
    if (::pwrite(fd, zeros.data(), n, at) != static_cast<ssize_t>(n)) {
      break;
    }
    at += static_cast<off_t>(n);
  }
  ::fdatasync(fd);
  ::close(fd);
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& data_dir,
                                                       std::shared_ptr<const SecretBox> secrets) {
  // The data is the server's alone: a directory it creates is 0700, and the database
  // is created 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
  // database's mode).
  std::error_code ec;
  const bool created = std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Status(StatusCode::kUnavailable, "cannot create " + data_dir + ": " + ec.message());
  }
  if (created) {
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, ec);
  }
  const std::string path = data_dir + "/stepwell.db";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    const int err = errno;
    if (fd >= 0) {
      ::close(fd);
    }
    return Status(StatusCode::kUnavailable, "cannot create " + path + ": " + std::strerror(err));
  }
  ::close(fd);
  if (secrets == nullptr) {
    Result<std::shared_ptr<const SecretBox>> box = SecretBox::ForDataDir(data_dir);
    if (!box.ok()) {
      return box.status();
    }
    secrets = std::move(box).value();
  }
  Result<std::unique_ptr<SqliteConnection>> writer =
      SqliteConnection::Open(path, SqliteConnection::Mode::kWriteFullSync);
  if (!writer.ok()) {
    return writer.status();
  }
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA temp_store=MEMORY", "PRAGMA cache_size=-65536"}) {
    if (Status s = (*writer)->Exec(pragma); !s.ok()) {
      return s;
    }
  }
  if (Status s = sqlite::Migrate(**writer); !s.ok()) {
    return s;
  }
  PresizeWal(path + "-wal");  // nothing else writes yet
  // The WAL is checkpointed at about kWalPresize, mostly on a thread of its own.
  Result<std::unique_ptr<sqlite::WalCheckpointer>> checkpointer =
      sqlite::WalCheckpointer::Start(path, sqlite::WalCheckpointer::Marks{});
  if (!checkpointer.ok()) {
    return checkpointer.status();
  }
  (*checkpointer)->Attach(**writer);
  std::vector<std::unique_ptr<sql::Connection>> readers;
  for (size_t i = 0; i < kReaders; ++i) {
    Result<std::unique_ptr<SqliteConnection>> reader =
        SqliteConnection::Open(path, SqliteConnection::Mode::kRead);
    if (!reader.ok()) {
      return reader.status();
    }
    (*reader)->Exec("PRAGMA cache_size=-16384");
    readers.push_back(std::move(reader).value());
  }
  auto store = std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(writer).value(), std::move(readers), std::move(secrets)));
  store->checkpointer_ = std::move(checkpointer).value();
  return store;
}

}  // namespace sw
