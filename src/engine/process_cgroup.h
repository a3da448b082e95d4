// Attempt cgroups: where the machine allows it (cgroup v2 mounted, the server's own
// cgroup writable and delegated to it, cgroup.kill present: Linux 5.14), each attempt of
// a shell step runs in a cgroup of its own under the server's, so that one write
// (cgroup.kill) ends every process of the attempt, wherever it moved in the process tree
// and even when its keeper is gone, and a restarted server can end what a crashed one
// left.
//
// Thread-safe: Create and the free functions touch only their own directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "engine/unique_fd.h"

namespace sw {

struct AttemptCgroup {
  std::string path;
  UniqueFd dir;  // the directory, open (O_DIRECTORY), for the keeper and the child
};

class CgroupTree {
 public:
  // The server's cgroup if attempt cgroups can be made under it (tried with a probe: a
  // cgroup made, a process moved into it, removed); kUnavailable says why not.
  static Result<std::unique_ptr<CgroupTree>> Detect();

  // The server's cgroup directory, e.g. /sys/fs/cgroup/system.slice/stepwell.service.
  const std::string& root() const { return root_; }

  // A new, empty cgroup for one attempt.
  Result<AttemptCgroup> Create();

 private:
  explicit CgroupTree(std::string root) : root_(std::move(root)) {}

  const std::string root_;
  std::atomic<uint64_t> next_{0};
};

// Removes an attempt's cgroup once its processes are gone (retrying briefly: the kernel
// may still be releasing the last one). False when it stays.
bool RemoveCgroup(const std::string& path);

// Kills every process in the cgroup at `path` (cgroup.kill), waits (bounded) for it to
// be empty and removes it. True when a process was in it; false too when there is no
// such cgroup.
Result<bool> KillCgroup(const std::string& path);

}  // namespace sw
