// Starting a shell step's process under its keeper (process_keeper.h): what the fork
// needs is prepared first (Prepare allocates; the forked side must not), then
// SpawnKept forks the keeper and waits for its word that the program runs (or why not).
//
// Thread-safe: no shared state. The errors are those of ProcessRunner::Run (reason
// "spawn_failed").
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.h"
#include "engine/process_runner.h"
#include "engine/unique_fd.h"

namespace sw {

// Everything the child needs, computed before the fork.
struct SpawnPlan {
  std::vector<std::string> env;         // "NAME=value"
  std::vector<std::string> candidates;  // paths tried for argv[0], in order
};

// Checks the spec (argv, names, NULs) and resolves argv[0] to the paths to try.
Result<SpawnPlan> Prepare(const ProcessSpec& spec);

// A started attempt: the keeper runs, the child exec'd.
struct KeptProcess {
  pid_t keeper = -1;
  pid_t child = -1;
  UniqueFd keeper_pidfd;  // invalid when the kernel has no pidfd_open
  UniqueFd channel;       // to and from the keeper (SOCK_SEQPACKET)
  UniqueFd out;           // read ends of the child's stdout and stderr, non-blocking
  UniqueFd err;
};

// Forks the keeper, which forks and execs the child (in `cgroup_dir`, an open cgroup
// directory, unless it is -1). Blocks until the exec succeeded or failed.
Result<KeptProcess> SpawnKept(const ProcessSpec& spec, const SpawnPlan& plan, int cgroup_dir);

// The text of an errno value.
std::string ErrnoText(int err);

Status SpawnUnavailable(const std::string& what, int err);

// Waits for `pid`, a child of this process, to end, and reaps it; returns its status.
int ReapBlocking(pid_t pid);

}  // namespace sw
