// FaultInjectionVfs: a SQLite VFS for tests that plays the disk under a store and can
// lose power or fail on command, as SQLite's own crash VFS (src/test6.c) and leveldb's
// fault_injection_test do.
//
// It wraps the default "unix" VFS. Every write or truncate since a file's last
// successful xSync is kept in memory as "unsynced", in order, and not written to the
// real file; reads see the real file with the unsynced changes laid over it, as a page
// cache would (every connection of the process sees them, whichever handle wrote them).
// xSync writes them to the real file: from then on they survive a power loss. The real
// fsync is skipped, because the process never really loses power: the real file is the
// "stable storage" of the model.
//
// A power loss decides what becomes of the unsynced changes (LossMode), then fails every
// later operation with an I/O error until PowerOn: the machine is off, so nothing a
// dying store does afterwards (a checkpoint on close, deleting its WAL) reaches the
// disk. The -shm file is memory: on power loss it is gone, which the test models by
// closing every connection before PowerOn (the first connection to open the database
// then finds no other and rebuilds the WAL index from the WAL). Creating and deleting
// files is durable at once (SQLite syncs the directory itself); a lost directory entry
// is not modelled.
//
// Thread-safe: one mutex guards every file's unsynced changes and the fault settings.
// Install() registers the VFS as the process's default, once, for the whole process;
// a test binary that installs it runs every SQLite database through it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace sw::fault {

// What a power loss does to the changes since each file's last sync. A real disk may
// have written any of them, in any order, and a sector it was writing may hold neither
// the old nor the new bytes.
enum class LossMode {
  kDropAll,   // none of them reached the disk
  kSomeLand,  // each 512-byte sector of each change landed or not, at random
  kSomeTorn,  // as kSomeLand, and a sector that did not land may hold random bytes
};

struct VfsCounters {
  int64_t writes = 0;  // xWrite calls that succeeded
  int64_t syncs = 0;   // xSync calls that succeeded
  int64_t power_losses = 0;
  int64_t unsynced_dropped = 0;  // changes pending at a power loss (landed or not)
};

class FaultInjectionVfs {
 public:
  // Registers the VFS (once) as the process's default and answers it.
  static FaultInjectionVfs& Install();

  // Loses power now: every file's unsynced changes are dropped (or some land, by
  // `mode`, decided by a generator seeded with `seed`), and every later write, sync,
  // truncate, delete, open and read fails with an I/O error until PowerOn.
  void LosePower(LossMode mode, uint64_t seed);
  // Loses power inside the `ops`-th write or sync from now (that one fails already);
  // 0 disarms.
  void LosePowerAfter(int64_t ops, LossMode mode, uint64_t seed);
  bool PowerLost() const;
  // Power is back. REQUIRES: every file of the VFS is closed (a store destroyed, its
  // connections closed), as after a real power loss nothing of a process survives.
  void PowerOn();
  // Files of the VFS open now.
  int OpenFiles() const;

  // The next `n` successful-looking syncs fail with SQLITE_IOERR_FSYNC (an EIO from
  // fsync); their changes stay unsynced, so a later power loss may drop them.
  void FailSyncs(int n);
  // The next `n` writes fail with SQLITE_IOERR_WRITE (an EIO from write).
  void FailWrites(int n);
  // The `n`-th read from now fails with SQLITE_IOERR_READ (an EIO from read); 0: none.
  void FailReadAt(int n);
  // While set, every write fails with SQLITE_FULL (ENOSPC) and writes nothing.
  void SetDiskFull(bool full);

  VfsCounters Counters() const;

  struct File;  // an open file of the VFS (public for the C callbacks)
  // Changes of one path not synced yet, shared by every handle on it.
  struct Pending;

  // The C callbacks' entry points.
  int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags);
  int Delete(const char* name, int sync_dir);
  int Close(File* f);
  int Read(File* f, void* buf, int amount, sqlite3_int64 offset);
  int Write(File* f, const void* buf, int amount, sqlite3_int64 offset);
  int Truncate(File* f, sqlite3_int64 size);
  int Sync(File* f, int flags);
  int FileSize(File* f, sqlite3_int64* size);

 private:
  FaultInjectionVfs() = default;

  // Counts a write or sync toward an armed power loss; true when power is now lost.
  bool CountOpLocked();
  void LosePowerLocked();
  // Writes `p`'s changes to the real file through `real`, in order.
  int FlushLocked(Pending& p, sqlite3_file* real);
  // Lays `p`'s changes over `buf` (which holds the real file's bytes at `offset`);
  // answers the file's size as the changes leave it.
  static int64_t OverlayLocked(const Pending& p, int64_t real_size, char* buf, int amount,
                               int64_t offset);

  sqlite3_vfs* real_ = nullptr;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Pending>> pending_;  // guarded by mu_; by path
  int open_files_ = 0;                                       // guarded by mu_
  bool power_lost_ = false;                                  // guarded by mu_
  int64_t lose_after_ops_ = 0;               // guarded by mu_; 0: no power loss armed
  LossMode lose_mode_ = LossMode::kDropAll;  // guarded by mu_
  uint64_t lose_seed_ = 0;                   // guarded by mu_
  int fail_syncs_ = 0;                       // guarded by mu_
  int fail_writes_ = 0;                      // guarded by mu_
  int fail_read_at_ = 0;                     // guarded by mu_
  bool disk_full_ = false;                   // guarded by mu_
  VfsCounters counters_;                     // guarded by mu_
};

}  // namespace sw::fault
