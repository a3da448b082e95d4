#include "fault_injection_vfs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace sw::fault {

namespace {

constexpr char kVfsName[] = "faultfs";
// The granularity at which a lost write may have landed partly.
constexpr int64_t kSector = 512;

constexpr size_t RoundUp8(size_t n) { return (n + 7) & ~size_t{7}; }

}  // namespace

struct FaultInjectionVfs::Pending {
  struct Change {
    int64_t offset = 0;  // a write's offset, or the size a truncate leaves
    std::string bytes;   // a write's bytes
    bool truncate = false;
  };
  std::vector<Change> changes;
};

struct FaultInjectionVfs::File {
  sqlite3_file base;  // first: SQLite sees a File as its sqlite3_file
  FaultInjectionVfs* vfs = nullptr;
  sqlite3_file* real = nullptr;  // the unix VFS's file, in the bytes after this struct
  std::shared_ptr<Pending> pending;
};

namespace {

using File = FaultInjectionVfs::File;

File* AsFile(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return AsFile(f)->real; }
FaultInjectionVfs& Of(sqlite3_file* f) { return *AsFile(f)->vfs; }

// The io methods: reads, writes, truncates and syncs go through the model; locks, the
// shared memory and file controls go to the real file. Memory mapping is declined
// (xFetch hands out no pointer), so every read comes through xRead.
int XClose(sqlite3_file* f) { return Of(f).Close(AsFile(f)); }
int XRead(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return Of(f).Read(AsFile(f), buf, amount, offset);
}
int XWrite(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  return Of(f).Write(AsFile(f), buf, amount, offset);
}
int XTruncate(sqlite3_file* f, sqlite3_int64 size) { return Of(f).Truncate(AsFile(f), size); }
int XSync(sqlite3_file* f, int flags) { return Of(f).Sync(AsFile(f), flags); }
int XFileSize(sqlite3_file* f, sqlite3_int64* size) { return Of(f).FileSize(AsFile(f), size); }
int XLock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int XUnlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int XCheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int XFileControl(sqlite3_file* f, int op, void* arg) {
  // A size hint extends the real file; with the power off nothing reaches the disk.
  if (op == SQLITE_FCNTL_SIZE_HINT && Of(f).PowerLost()) {
    return SQLITE_IOERR_TRUNCATE;
  }
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int XSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int XDeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int XShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int XShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void XShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int XShmUnmap(sqlite3_file* f, int delete_flag) {
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}
int XFetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int XUnfetch(sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; }

const sqlite3_io_methods kIoMethods = {
    3,
    XClose,
    XRead,
    XWrite,
    XTruncate,
    XSync,
    XFileSize,
    XLock,
    XUnlock,
    XCheckReservedLock,
    XFileControl,
    XSectorSize,
    XDeviceCharacteristics,
    XShmMap,
    XShmLock,
    XShmBarrier,
    XShmUnmap,
    XFetch,
    XUnfetch,
};

// The VFS methods: opening and deleting go through the model, the rest to "unix".
FaultInjectionVfs& OfVfs(sqlite3_vfs* v) { return *static_cast<FaultInjectionVfs*>(v->pAppData); }
sqlite3_vfs* g_real = nullptr;

int VOpen(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  return OfVfs(v).Open(v, name, f, flags, out_flags);
}
int VDelete(sqlite3_vfs* v, const char* name, int sync_dir) {
  return OfVfs(v).Delete(name, sync_dir);
}
int VAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int VFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* VDlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void VDlError(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*VDlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void VDlClose(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int VRandomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int VSleep(sqlite3_vfs*, int micros) { return g_real->xSleep(g_real, micros); }
int VCurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int VGetLastError(sqlite3_vfs*, int n, char* out) { return g_real->xGetLastError(g_real, n, out); }
int VCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

}  // namespace

FaultInjectionVfs& FaultInjectionVfs::Install() {
  // Never destroyed: SQLite keeps the registration for the life of the process.
  static FaultInjectionVfs* vfs = [] {
    auto* made = new FaultInjectionVfs();
    g_real = sqlite3_vfs_find("unix");
    made->real_ = g_real;
    static sqlite3_vfs v{};
    v.iVersion = 2;
    v.szOsFile = static_cast<int>(RoundUp8(sizeof(File)) + g_real->szOsFile);
    v.mxPathname = g_real->mxPathname;
    v.zName = kVfsName;
    v.pAppData = made;
    v.xOpen = VOpen;
    v.xDelete = VDelete;
    v.xAccess = VAccess;
    v.xFullPathname = VFullPathname;
    v.xDlOpen = VDlOpen;
    v.xDlError = VDlError;
    v.xDlSym = VDlSym;
    v.xDlClose = VDlClose;
    v.xRandomness = VRandomness;
    v.xSleep = VSleep;
    v.xCurrentTime = VCurrentTime;
    v.xGetLastError = VGetLastError;
    v.xCurrentTimeInt64 = VCurrentTimeInt64;
    sqlite3_vfs_register(&v, /*makeDflt=*/1);
    return made;
  }();
  return *vfs;
}

int FaultInjectionVfs::Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags,
                            int* out_flags) {
  File* f = new (file) File();
  f->vfs = this;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + RoundUp8(sizeof(File)));
  auto fail = [&](int rc) {
    f->~File();
    file->pMethods = nullptr;
    return rc;
  };
  if (PowerLost()) {
    return fail(SQLITE_CANTOPEN);
  }
  const int rc = real_->xOpen(real_, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    return fail(rc);
  }
  std::lock_guard lock(mu_);
  if (name != nullptr) {
    std::shared_ptr<Pending>& shared = pending_[name];
    if (shared == nullptr) {
      shared = std::make_shared<Pending>();
    }
    f->pending = shared;
  } else {
    f->pending = std::make_shared<Pending>();  // a temporary file, this handle's alone
  }
  ++open_files_;
  file->pMethods = &kIoMethods;
  return SQLITE_OK;
}

int FaultInjectionVfs::Delete(const char* name, int sync_dir) {
  {
    std::lock_guard lock(mu_);
    if (power_lost_) {
      return SQLITE_IOERR_DELETE;
    }
    pending_.erase(name);
  }
  return real_->xDelete(real_, name, sync_dir);
}

int FaultInjectionVfs::Close(File* f) {
  {
    std::lock_guard lock(mu_);
    --open_files_;
  }
  // What was not synced stays in pending_, as in a page cache: another handle reads it,
  // a power loss drops it.
  const int rc = f->real->pMethods != nullptr ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  f->~File();
  return rc;
}

int64_t FaultInjectionVfs::OverlayLocked(const Pending& p, int64_t real_size, char* buf, int amount,
                                         int64_t offset) {
  int64_t size = real_size;
  const int64_t end = offset + amount;
  for (const Pending::Change& c : p.changes) {
    if (c.truncate) {
      if (c.offset < end) {
        const int64_t from = std::max(c.offset, offset);
        std::memset(buf + (from - offset), 0, static_cast<size_t>(end - from));
      }
      size = c.offset;
      continue;
    }
    const int64_t c_end = c.offset + static_cast<int64_t>(c.bytes.size());
    const int64_t from = std::max(c.offset, offset);
    const int64_t to = std::min(c_end, end);
    if (from < to) {
      std::memcpy(buf + (from - offset), c.bytes.data() + (from - c.offset),
                  static_cast<size_t>(to - from));
    }
    size = std::max(size, c_end);
  }
  return size;
}

int FaultInjectionVfs::Read(File* f, void* buf, int amount, sqlite3_int64 offset) {
  std::lock_guard lock(mu_);
  if (power_lost_ || (fail_read_at_ > 0 && --fail_read_at_ == 0)) {
    return SQLITE_IOERR_READ;
  }
  char* out = static_cast<char*>(buf);
  sqlite3_file* real = f->real;
  if (f->pending->changes.empty()) {
    return real->pMethods->xRead(real, buf, amount, offset);
  }
  sqlite3_int64 real_size = 0;
  if (int rc = real->pMethods->xFileSize(real, &real_size); rc != SQLITE_OK) {
    return rc;
  }
  std::memset(out, 0, static_cast<size_t>(amount));
  if (offset < real_size) {
    const int n = static_cast<int>(std::min<int64_t>(amount, real_size - offset));
    const int rc = real->pMethods->xRead(real, out, n, offset);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
      return rc;
    }
  }
  const int64_t size = OverlayLocked(*f->pending, real_size, out, amount, offset);
  // Past the end the bytes are zeros already (SQLite requires it of a short read).
  return offset + amount > size ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

bool FaultInjectionVfs::CountOpLocked() {
  if (lose_after_ops_ > 0 && --lose_after_ops_ == 0) {
    LosePowerLocked();
    return true;
  }
  return false;
}

int FaultInjectionVfs::Write(File* f, const void* buf, int amount, sqlite3_int64 offset) {
  std::lock_guard lock(mu_);
  if (power_lost_ || CountOpLocked()) {
    return SQLITE_IOERR_WRITE;
  }
  if (disk_full_) {
    return SQLITE_FULL;
  }
  if (fail_writes_ > 0) {
    --fail_writes_;
    return SQLITE_IOERR_WRITE;
  }
  f->pending->changes.push_back(
      {offset, std::string(static_cast<const char*>(buf), static_cast<size_t>(amount)), false});
  ++counters_.writes;
  return SQLITE_OK;
}

int FaultInjectionVfs::Truncate(File* f, sqlite3_int64 size) {
  std::lock_guard lock(mu_);
  if (power_lost_) {
    return SQLITE_IOERR_TRUNCATE;
  }
  f->pending->changes.push_back({size, "", true});
  return SQLITE_OK;
}

int FaultInjectionVfs::FlushLocked(Pending& p, sqlite3_file* real) {
  for (const Pending::Change& c : p.changes) {
    const int rc = c.truncate ? real->pMethods->xTruncate(real, c.offset)
                              : real->pMethods->xWrite(real, c.bytes.data(),
                                                       static_cast<int>(c.bytes.size()), c.offset);
    if (rc != SQLITE_OK) {
      return rc;
    }
  }
  p.changes.clear();
  return SQLITE_OK;
}

int FaultInjectionVfs::Sync(File* f, int) {
  std::lock_guard lock(mu_);
  if (power_lost_ || CountOpLocked()) {
    return SQLITE_IOERR_FSYNC;
  }
  if (fail_syncs_ > 0) {
    --fail_syncs_;
    return SQLITE_IOERR_FSYNC;
  }
  const int rc = FlushLocked(*f->pending, f->real);
  if (rc == SQLITE_OK) {
    ++counters_.syncs;
  }
  return rc;
}

int FaultInjectionVfs::FileSize(File* f, sqlite3_int64* size) {
  std::lock_guard lock(mu_);
  if (power_lost_) {
    return SQLITE_IOERR_FSTAT;
  }
  sqlite3_int64 real_size = 0;
  if (int rc = f->real->pMethods->xFileSize(f->real, &real_size); rc != SQLITE_OK) {
    return rc;
  }
  char none = 0;
  *size = OverlayLocked(*f->pending, real_size, &none, 0, 0);
  return SQLITE_OK;
}

void FaultInjectionVfs::LosePowerLocked() {
  power_lost_ = true;
  lose_after_ops_ = 0;
  ++counters_.power_losses;
  std::mt19937_64 rng(lose_seed_);
  for (auto& [path, pending] : pending_) {
    counters_.unsynced_dropped += static_cast<int64_t>(pending->changes.size());
    const int fd = lose_mode_ == LossMode::kDropAll || pending->changes.empty()
                       ? -1
                       : ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    // Each change, sector by sector, in order: landed, lost, or (kSomeTorn) garbage.
    for (const Pending::Change& c : fd < 0 ? std::vector<Pending::Change>{} : pending->changes) {
      if (c.truncate) {
        if (rng() % 2 == 0 && ::ftruncate(fd, c.offset) != 0) {
          break;
        }
        continue;
      }
      const int64_t end = c.offset + static_cast<int64_t>(c.bytes.size());
      for (int64_t at = c.offset; at < end;) {
        const int64_t next = std::min(end, (at / kSector + 1) * kSector);
        const uint64_t fate = rng() % (lose_mode_ == LossMode::kSomeTorn ? 3 : 2);
        std::string bytes =
            c.bytes.substr(static_cast<size_t>(at - c.offset), static_cast<size_t>(next - at));
        if (fate == 2) {
          std::generate(bytes.begin(), bytes.end(), [&] { return static_cast<char>(rng()); });
        }
        if (fate != 1 &&
            ::pwrite(fd, bytes.data(), bytes.size(), at) != static_cast<ssize_t>(bytes.size())) {
          break;
        }
        at = next;
      }
    }
    if (fd >= 0) {
      ::close(fd);
    }
    pending->changes.clear();
  }
}

void FaultInjectionVfs::LosePower(LossMode mode, uint64_t seed) {
  std::lock_guard lock(mu_);
  if (!power_lost_) {
    lose_mode_ = mode;
    lose_seed_ = seed;
    LosePowerLocked();
  }
}

void FaultInjectionVfs::LosePowerAfter(int64_t ops, LossMode mode, uint64_t seed) {
  std::lock_guard lock(mu_);
  lose_after_ops_ = std::max<int64_t>(ops, 0);
  lose_mode_ = mode;
  lose_seed_ = seed;
}

bool FaultInjectionVfs::PowerLost() const {
  std::lock_guard lock(mu_);
  return power_lost_;
}

void FaultInjectionVfs::PowerOn() {
  std::lock_guard lock(mu_);
  power_lost_ = false;
  lose_after_ops_ = 0;
  fail_syncs_ = 0;
  fail_writes_ = 0;
  fail_read_at_ = 0;
  disk_full_ = false;
  pending_.clear();
}

int FaultInjectionVfs::OpenFiles() const {
  std::lock_guard lock(mu_);
  return open_files_;
}

void FaultInjectionVfs::FailSyncs(int n) {
  std::lock_guard lock(mu_);
  fail_syncs_ = n;
}

void FaultInjectionVfs::FailWrites(int n) {
  std::lock_guard lock(mu_);
  fail_writes_ = n;
}

void FaultInjectionVfs::FailReadAt(int n) {
  std::lock_guard lock(mu_);
  fail_read_at_ = n;
}

void FaultInjectionVfs::SetDiskFull(bool full) {
  std::lock_guard lock(mu_);
  disk_full_ = full;
}

VfsCounters FaultInjectionVfs::Counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace sw::fault
