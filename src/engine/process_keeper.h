// The keeper: a small process that each attempt of a shell step runs under, so that
// everything the attempt starts dies with it, whatever it does (a background child, a
// grandchild that calls setsid, a double fork).
//
// The server forks the keeper; the keeper forks the attempt's process (the child), which
// execs the program. The keeper is a child subreaper (PR_SET_CHILD_SUBREAPER): every
// descendant whose parent dies is re-parented to it rather than to init, so that all of
// them stay reachable as its children. When the attempt ends — the child exits, the
// server asks (kill), or the server dies (end of file on the channel, or the parent-death
// signal) — the keeper kills the child's process group, the attempt's cgroup when there
// is one (cgroup.kill), and then each of its children, again and again until it has none
// left; only then does it exit. So when the server reaps the keeper, nothing of the
// attempt runs.
//
// Server and keeper talk over a SOCK_SEQPACKET socket pair (the channel): commands to the
// keeper are one byte; the keeper answers with KeeperMessages.
//
// RunKeeper runs in a child forked from a multithreaded server, so it and everything it
// calls use async-signal-safe system calls only (no allocation, no locks): everything it
// needs is prepared before the fork, in ExecArgs and KeeperFds.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace sw {

// Commands, server to keeper.
inline constexpr char kKeeperTerminate = 'T';  // SIGTERM to the attempt
inline constexpr char kKeeperKill = 'K';       // SIGKILL to everything, then exit

enum class KeeperEvent : int32_t {
  kStarted,      // the child exec'd: `a` is its pid
  kSpawnFailed,  // the child could not start: `a` is a ChildStage, `b` the errno
  kExited,       // the child ended: `a` is its exit code (-1 if killed), `b` the signal
};

// Where starting the child failed.
enum class ChildStage : int32_t { kSetup, kChdir, kExec, kKeeper };

struct KeeperMessage {
  KeeperEvent event;
  int32_t a = 0;
  int32_t b = 0;
};

// The C arrays execve wants, pointing into storage that outlives the fork.
struct ExecArgs {
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<const char*> candidates;  // paths tried for argv[0], in order
  const char* cwd = nullptr;
};

// The keeper's descriptors; every other one it inherited is closed.
struct KeeperFds {
  int channel = -1;
  int stdin_fd = -1;  // /dev/null
  int out = -1;       // write ends of the stdout and stderr pipes
  int err = -1;
  int cgroup_dir = -1;  // the attempt's cgroup, or -1
};

// The keeper's body. `server` is the pid that forked it: if that is not its parent any
// more (the server died during the fork), it exits at once.
[[noreturn]] void RunKeeper(const ExecArgs& args, const KeeperFds& fds, pid_t server);

}  // namespace sw
