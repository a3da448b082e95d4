// Attempt records: one small file per running attempt of a shell step, in a directory of
// the data dir, naming its keeper, its child (pid and start time each, so that a pid
// used again by another process is not taken for them) and its cgroup. The keeper ends
// the attempt when the server dies; the record is for when it could not (it was killed
// too, or is still at it when the server starts again): KillLeftoverAttempts, run before
// the engine starts, ends whatever the records name that still runs, so that an attempt
// started again never runs beside the one a crash interrupted.
//
// Thread-safe: each call touches its own file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"

namespace sw {

struct AttemptRecord {
  pid_t keeper = -1;
  uint64_t keeper_start = 0;  // in clock ticks since boot, as /proc/<pid>/stat says
  pid_t child = -1;
  uint64_t child_start = 0;
  std::string cgroup;  // empty: none
};

// When `pid` started (clock ticks since boot), if it runs (a zombie does not).
std::optional<uint64_t> ProcessStartTime(pid_t pid);

class AttemptRecords {
 public:
  // REQUIRES: `dir` exists (CreateRecordDir) or is empty (nothing is recorded).
  explicit AttemptRecords(std::string dir) : dir_(std::move(dir)) {}

  // Writes the attempt's record; returns its path, empty when it could not be written
  // (then the keeper alone contains the attempt; the caller logs it).
  std::string Add(const AttemptRecord& record) const;
  void Remove(const std::string& path) const;

 private:
  const std::string dir_;
};

// Creates the record directory (0700) if it is missing.
Status CreateRecordDir(const std::string& dir);

struct LeftoverAttempts {
  size_t records = 0;  // records found (each then removed)
  size_t running = 0;  // of them, attempts that still ran and were killed
};

// Ends what the records in `dir` name that still runs: the keeper is asked to kill its
// attempt (SIGTERM, and SIGCONT should it be stopped) and waited for; a child still
// running is killed with its process group; the cgroup is killed and removed. Records
// of an earlier boot only go. Blocks until done (bounded: about 10 s per attempt).
Result<LeftoverAttempts> KillLeftoverAttempts(const std::string& dir);

}  // namespace sw
