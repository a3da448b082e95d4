#include "store/sqlite/wal_batching_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

namespace sw::sqlite {
namespace {

constexpr char kName[] = "stepwell-wal";
// Past this, gathered frames are written before the next is taken (a big transaction).
constexpr size_t kMaxGathered = 4 << 20;
// The most the "unix" VFS writes in one call: it takes only the low 17 bits of a length
// (seekAndWriteFd), so a longer write would come back short and read as a full disk.
constexpr size_t kMaxWrite = 120 << 10;

// The VFS every file is really opened with: the process's default when it is opened
// (the "unix" VFS, or a test's fault-injecting one).
sqlite3_vfs* Root() { return sqlite3_vfs_find(nullptr); }

struct File {
  sqlite3_file base;             // first: SQLite sees this
  sqlite3_file* real = nullptr;  // the root VFS's file, allocated here
  bool wal = false;
  // WAL bytes written by SQLite and not yet by the root: [at, at + bytes.size()).
  std::vector<char> bytes;
  sqlite3_int64 at = 0;
};

File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
const sqlite3_io_methods* RealMethods(File* f) { return f->real->pMethods; }

// Writes what is gathered. The bytes are dropped whatever the outcome: a failed write
// fails the transaction that wrote them, and SQLite rewrites its frames after that.
int Flush(File* f) {
  if (f->bytes.empty()) {
    return SQLITE_OK;
  }
  int rc = SQLITE_OK;
  for (size_t done = 0; done < f->bytes.size() && rc == SQLITE_OK; done += kMaxWrite) {
    const size_t n = std::min(kMaxWrite, f->bytes.size() - done);
    rc = RealMethods(f)->xWrite(f->real, f->bytes.data() + done, static_cast<int>(n),
                                f->at + static_cast<sqlite3_int64>(done));
  }
  f->bytes.clear();
  return rc;
}

bool Overlaps(const File* f, sqlite3_int64 offset, int amount) {
  const auto end = f->at + static_cast<sqlite3_int64>(f->bytes.size());
  return !f->bytes.empty() && offset < end && offset + amount > f->at;
}

int Close(sqlite3_file* file) {
  File* f = Of(file);
  const int flushed = Flush(f);
  const int rc = RealMethods(f)->xClose(f->real);
  sqlite3_free(f->real);
  f->~File();
  return flushed != SQLITE_OK ? flushed : rc;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = Of(file);
  if (Overlaps(f, offset, amount)) {
    if (const int rc = Flush(f); rc != SQLITE_OK) {
      return rc;
    }
  }
  return RealMethods(f)->xRead(f->real, out, amount, offset);
}

int Write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = Of(file);
  if (!f->wal) {
    return RealMethods(f)->xWrite(f->real, data, amount, offset);
  }
  const auto end = f->at + static_cast<sqlite3_int64>(f->bytes.size());
  // Within what is gathered, or right after it: taken here. A frame rewritten in the
  // same transaction lands inside; the next frame lands at the end.
  if (f->bytes.empty() || offset < f->at || offset > end ||
      f->bytes.size() + static_cast<size_t>(amount) > kMaxGathered) {
    if (const int rc = Flush(f); rc != SQLITE_OK) {
      return rc;
    }
    f->at = offset;
  }
  const auto from = static_cast<size_t>(offset - f->at);
  const auto* bytes = static_cast<const char*>(data);
  if (from + static_cast<size_t>(amount) > f->bytes.size()) {
    f->bytes.resize(from + static_cast<size_t>(amount));
  }
  std::memcpy(f->bytes.data() + from, bytes, static_cast<size_t>(amount));
  return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = Of(file);
  if (const int rc = Flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return RealMethods(f)->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  File* f = Of(file);
  if (const int rc = Flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return RealMethods(f)->xSync(f->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  File* f = Of(file);
  if (const int rc = Flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return RealMethods(f)->xFileSize(f->real, size);
}

int Lock(sqlite3_file* file, int level) {
  return RealMethods(Of(file))->xLock(Of(file)->real, level);
}

int Unlock(sqlite3_file* file, int level) {
  return RealMethods(Of(file))->xUnlock(Of(file)->real, level);
}

int CheckReservedLock(sqlite3_file* file, int* out) {
  return RealMethods(Of(file))->xCheckReservedLock(Of(file)->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  File* f = Of(file);
  if (const int rc = Flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return RealMethods(f)->xFileControl(f->real, op, arg);
}

int SectorSize(sqlite3_file* file) { return RealMethods(Of(file))->xSectorSize(Of(file)->real); }

int DeviceCharacteristics(sqlite3_file* file) {
  return RealMethods(Of(file))->xDeviceCharacteristics(Of(file)->real);
}

// The shared-memory and memory-map calls of the database file, passed on when the root
// file has them (iVersion 2 and 3).
int ShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  File* f = Of(file);
  if (RealMethods(f)->iVersion < 2) {
    return SQLITE_IOERR;
  }
  return RealMethods(f)->xShmMap(f->real, region, size, extend, out);
}

int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  File* f = Of(file);
  if (RealMethods(f)->iVersion < 2) {
    return SQLITE_IOERR;
  }
  return RealMethods(f)->xShmLock(f->real, offset, n, flags);
}

void ShmBarrier(sqlite3_file* file) {
  File* f = Of(file);
  if (RealMethods(f)->iVersion >= 2) {
    RealMethods(f)->xShmBarrier(f->real);
  }
}

int ShmUnmap(sqlite3_file* file, int delete_flag) {
  File* f = Of(file);
  if (RealMethods(f)->iVersion < 2) {
    return SQLITE_OK;
  }
  return RealMethods(f)->xShmUnmap(f->real, delete_flag);
}

int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  File* f = Of(file);
  if (RealMethods(f)->iVersion < 3 || f->wal) {
    *out = nullptr;  // no mapping: SQLite reads through xRead
    return SQLITE_OK;
  }
  return RealMethods(f)->xFetch(f->real, offset, amount, out);
}

int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  File* f = Of(file);
  if (RealMethods(f)->iVersion < 3 || f->wal) {
    return SQLITE_OK;
  }
  return RealMethods(f)->xUnfetch(f->real, offset, p);
}

constexpr sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* root = Root();
  auto* real = static_cast<sqlite3_file*>(sqlite3_malloc(root->szOsFile));
  if (real == nullptr) {
    file->pMethods = nullptr;
    return SQLITE_NOMEM;
  }
  std::memset(real, 0, static_cast<size_t>(root->szOsFile));
  const int rc = root->xOpen(root, name, real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (real->pMethods != nullptr) {
      real->pMethods->xClose(real);
    }
    sqlite3_free(real);
    file->pMethods = nullptr;
    return rc;
  }
  File* f = new (file) File();
  f->real = real;
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return Root()->xDelete(Root(), name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return Root()->xAccess(Root(), name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return Root()->xFullPathname(Root(), name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* path) { return Root()->xDlOpen(Root(), path); }
void DlError(sqlite3_vfs*, int n, char* out) { Root()->xDlError(Root(), n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return Root()->xDlSym(Root(), handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { Root()->xDlClose(Root(), handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return Root()->xRandomness(Root(), n, out); }
int Sleep(sqlite3_vfs*, int micros) { return Root()->xSleep(Root(), micros); }
int CurrentTime(sqlite3_vfs*, double* out) { return Root()->xCurrentTime(Root(), out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return Root()->xGetLastError(Root(), n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  sqlite3_vfs* root = Root();
  if (root->iVersion < 2 || root->xCurrentTimeInt64 == nullptr) {
    double days = 0;
    const int rc = root->xCurrentTime(root, &days);
    *out = static_cast<sqlite3_int64>(days * 86400000.0);
    return rc;
  }
  return root->xCurrentTimeInt64(root, out);
}

}  // namespace

const char* WalBatchingVfs() {
  // Never unregistered: SQLite keeps the registration for the life of the process.
  static const char* const name = [] {
    static sqlite3_vfs vfs{};
    sqlite3_vfs* root = Root();
    vfs.iVersion = 2;
    vfs.szOsFile = static_cast<int>(sizeof(File));
    vfs.mxPathname = root->mxPathname;
    vfs.zName = kName;
    vfs.xOpen = Open;
    vfs.xDelete = Delete;
    vfs.xAccess = Access;
    vfs.xFullPathname = FullPathname;
    vfs.xDlOpen = DlOpen;
    vfs.xDlError = DlError;
    vfs.xDlSym = DlSym;
    vfs.xDlClose = DlClose;
    vfs.xRandomness = Randomness;
    vfs.xSleep = Sleep;
    vfs.xCurrentTime = CurrentTime;
    vfs.xGetLastError = GetLastError;
    vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
    return kName;
  }();
  return name;
}

}  // namespace sw::sqlite
