#include "engine/process_spawn.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "engine/process_keeper.h"

namespace sw {
namespace {

// execvp's search path when the environment has no PATH.
constexpr std::string_view kDefaultPath = "/bin:/usr/bin";

Status SpawnInvalid(const std::string& why) {
  return Status(StatusCode::kInvalidArgument, "cannot start process: " + why, "spawn_failed");
}

// Moves a new descriptor out of 0..2 (possible when the server has closed its stdio), so
// the child's dup2 onto 0..2 cannot clobber another pipe. Keeps close-on-exec.
UniqueFd AboveStdio(int fd) {
  if (fd < 0 || fd > 2) {
    return UniqueFd(fd);
  }
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = errno;
  close(fd);
  errno = err;
  return UniqueFd(moved);
}

struct FdPair {
  UniqueFd first;   // a pipe's read end
  UniqueFd second;  // its write end
};

Result<FdPair> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return SpawnUnavailable("pipe", errno);
  }
  FdPair p{AboveStdio(fds[0]), AboveStdio(fds[1])};
  if (!p.first.valid() || !p.second.valid()) {
    return SpawnUnavailable("pipe", errno);
  }
  fcntl(p.first.get(), F_SETFL, fcntl(p.first.get(), F_GETFL) | O_NONBLOCK);
  return p;
}

Result<FdPair> MakeChannel() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return SpawnUnavailable("socketpair", errno);
  }
  FdPair p{AboveStdio(fds[0]), AboveStdio(fds[1])};
  if (!p.first.valid() || !p.second.valid()) {
    return SpawnUnavailable("socketpair", errno);
  }
  return p;
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

Status SpawnFailed(const ProcessSpec& spec, ChildStage stage, int err) {
  switch (stage) {
    case ChildStage::kChdir:
      return Status(StatusCode::kFailedPrecondition,
                    "cannot start \"" + spec.argv[0] + "\": cannot change to directory \"" +
                        spec.cwd + "\": " + ErrnoText(err),
                    "spawn_failed");
    case ChildStage::kExec:
      return Status(StatusCode::kFailedPrecondition,
                    "cannot execute \"" + spec.argv[0] + "\": " + ErrnoText(err), "spawn_failed");
    case ChildStage::kKeeper:
      return SpawnUnavailable("keeper setup", err);
    case ChildStage::kSetup:
      break;
  }
  return Status(StatusCode::kUnavailable,
                "cannot start \"" + spec.argv[0] + "\": child setup failed: " + ErrnoText(err),
                "spawn_failed");
}

ExecArgs MakeExecArgs(const ProcessSpec& spec, const SpawnPlan& plan) {
  ExecArgs args;
  for (const std::string& arg : spec.argv) {
    args.argv.push_back(const_cast<char*>(arg.c_str()));
  }
  args.argv.push_back(nullptr);
  for (const std::string& var : plan.env) {
    args.envp.push_back(const_cast<char*>(var.c_str()));
  }
  args.envp.push_back(nullptr);
  for (const std::string& path : plan.candidates) {
    args.candidates.push_back(path.c_str());
  }
  args.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  return args;
}

}  // namespace

std::string ErrnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);  // the GNU variant returns the text
}

Status SpawnUnavailable(const std::string& what, int err) {
  return Status(StatusCode::kUnavailable, "cannot start process: " + what + ": " + ErrnoText(err),
                "spawn_failed");
}

int ReapBlocking(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

Result<SpawnPlan> Prepare(const ProcessSpec& spec) {
  if (spec.argv.empty()) {
    return SpawnInvalid("argv is empty");
  }
  for (const std::string& arg : spec.argv) {
    if (HasNul(arg)) {
      return SpawnInvalid("an argument contains a NUL byte");
    }
  }
  if (HasNul(spec.cwd)) {
    return SpawnInvalid("cwd contains a NUL byte");
  }
  SpawnPlan plan;
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos || HasNul(name) || HasNul(value)) {
      return SpawnInvalid("invalid environment variable name \"" + name.substr(0, 100) + "\"");
    }
    plan.env.push_back(name + "=" + value);
  }
  const std::string& program = spec.argv[0];
  if (program.empty() || program.find('/') != std::string::npos) {
    plan.candidates.push_back(program);
    return plan;
  }
  auto path_it = spec.env.find("PATH");
  std::string_view path = path_it == spec.env.end() ? kDefaultPath : path_it->second;
  while (plan.candidates.size() < kMaxPathEntries) {
    size_t colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    // An empty entry is the current directory, as for execvp.
    plan.candidates.push_back(dir.empty() ? program : std::string(dir) + "/" + program);
    if (colon == std::string_view::npos) {
      break;
    }
    path.remove_prefix(colon + 1);
  }
  return plan;
}

Result<KeptProcess> SpawnKept(const ProcessSpec& spec, const SpawnPlan& plan, int cgroup_dir) {
  const ExecArgs args = MakeExecArgs(spec, plan);
  UniqueFd in = AboveStdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!in.valid()) {
    return SpawnUnavailable("open /dev/null", errno);
  }
  Result<FdPair> out = MakePipe();
  if (!out.ok()) {
    return out.status();
  }
  Result<FdPair> err = MakePipe();
  if (!err.ok()) {
    return err.status();
  }
  Result<FdPair> channel = MakeChannel();
  if (!channel.ok()) {
    return channel.status();
  }
  const KeeperFds fds{channel->second.get(), in.get(), out->second.get(), err->second.get(),
                      cgroup_dir};
  const pid_t server = getpid();
  pid_t keeper = fork();
  if (keeper == 0) {
    RunKeeper(args, fds, server);
  }
  if (keeper < 0) {
    return SpawnUnavailable("fork", errno);
  }
  in.Reset();
  out->second.Reset();
  err->second.Reset();
  channel->second.Reset();

  KeeperMessage first{};
  ssize_t n;
  while ((n = recv(channel->first.get(), &first, sizeof first, 0)) < 0 && errno == EINTR) {
  }
  if (n != sizeof first || first.event != KeeperEvent::kStarted) {
    ReapBlocking(keeper);  // it exits at once after the failure
    if (n == sizeof first && first.event == KeeperEvent::kSpawnFailed) {
      return SpawnFailed(spec, static_cast<ChildStage>(first.a), first.b);
    }
    return SpawnUnavailable("keeper", EIO);
  }
  KeptProcess kept;
  kept.keeper = keeper;
  kept.child = first.a;
  kept.keeper_pidfd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, keeper, 0)));
  kept.channel = std::move(channel->first);
  kept.out = std::move(out->first);
  kept.err = std::move(err->first);
  return kept;
}

}  // namespace sw
