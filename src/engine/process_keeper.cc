// The keeper's process and the child's setup before exec; see process_keeper.h. Every
// function here runs after fork: async-signal-safe system calls only.

#include "engine/process_keeper.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace sw {
namespace {

// Descriptors closed one by one when close_range is missing.
constexpr int kMaxFdToClose = 65536;
// While killing, the keeper looks for children it has not killed yet (re-parented to it
// since) at least this often; SIGCHLD wakes it sooner.
constexpr int kSweepPollMs = 10;
// A process tree that forks faster than it is killed does not hold the keeper longer
// than this; what is left then goes to init.
constexpr int64_t kSweepLimitMs = 30'000;
// The keeper's exit code when it could not set itself up (it tells the server first).
constexpr int kKeeperSetupFailed = 126;

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

void Tell(int channel, KeeperEvent event, int32_t a, int32_t b) {
  KeeperMessage m{event, a, b};
  [[maybe_unused]] ssize_t n = send(channel, &m, sizeof m, MSG_NOSIGNAL);
}

// Closes every descriptor from 3 up except those in `keep` (at most 8).
void CloseAllExcept(const int* keep, int count) {
  int sorted[8];
  int n = 0;
  for (int i = 0; i < count && n < 8; ++i) {
    if (keep[i] >= 3) {
      int j = n++;
      for (; j > 0 && sorted[j - 1] > keep[i]; --j) {
        sorted[j] = sorted[j - 1];
      }
      sorted[j] = keep[i];
    }
  }
  unsigned from = 3;
  bool ok = true;
  for (int i = 0; i < n; ++i) {
    if (static_cast<unsigned>(sorted[i]) > from) {
      ok = ok && close_range(from, static_cast<unsigned>(sorted[i]) - 1, 0) == 0;
    }
    from = static_cast<unsigned>(sorted[i]) + 1;
  }
  ok = ok && close_range(from, ~0U, 0) == 0;
  if (ok) {
    return;
  }
  for (int fd = 3; fd < kMaxFdToClose; ++fd) {
    bool kept = false;
    for (int i = 0; i < n; ++i) {
      kept = kept || sorted[i] == fd;
    }
    if (!kept) {
      close(fd);
    }
  }
}

// Calls fn(number) for each decimal number in what `fd` reads, in chunks.
template <typename Fn>
void ForEachNumber(int fd, Fn fn) {
  char buf[4096];
  int64_t value = -1;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        value = (value < 0 ? 0 : value) * 10 + (buf[i] - '0');
      } else if (value >= 0) {
        fn(static_cast<pid_t>(value));
        value = -1;
      }
    }
  }
  if (value >= 0) {
    fn(static_cast<pid_t>(value));
  }
}

// The parent pid in /proc/<pid>/stat, or -1. `name` is the pid as text.
pid_t ParentOf(const char* name) {
  char path[64] = "/proc/";
  size_t len = 6;
  for (const char* c = name; *c != '\0' && len < sizeof path - 6; ++c) {
    path[len++] = *c;
  }
  for (const char* c = "/stat"; *c != '\0'; ++c) {
    path[len++] = *c;
  }
  path[len] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) {
    return -1;
  }
  // "pid (comm) S ppid ...": the command may hold spaces and parentheses.
  ssize_t i = n - 1;
  while (i > 0 && buf[i] != ')') {
    --i;
  }
  i += 4;  // past ") S "
  pid_t ppid = 0;
  for (; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) {
    ppid = ppid * 10 + (buf[i] - '0');
  }
  return ppid;
}

// Calls fn(pid) for each child of this single-threaded process: from the kernel's list
// when it keeps one (CONFIG_PROC_CHILDREN), else by reading every /proc/<pid>/stat.
template <typename Fn>
void ForEachChild(Fn fn) {
  int fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ForEachNumber(fd, fn);
    close(fd);
    return;
  }
  int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return;
  }
  const pid_t self = getpid();
  alignas(8) char buf[4096];
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      struct Dirent64 {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      };
      const auto* entry = reinterpret_cast<const Dirent64*>(buf + off);
      off += entry->reclen;
      if (entry->name[0] >= '1' && entry->name[0] <= '9' && ParentOf(entry->name) == self) {
        pid_t pid = 0;
        for (const char* c = entry->name; *c != '\0'; ++c) {
          pid = pid * 10 + (*c - '0');
        }
        fn(pid);
      }
    }
  }
  close(dir);
}

// The attempt as the keeper sees it.
class Keeper {
 public:
  Keeper(int channel, int signals, int cgroup_dir, pid_t child)
      : channel_(channel), signals_(signals), cgroup_dir_(cgroup_dir), child_(child) {}

  // Until the child exits, the server asks, or the server dies.
  void Watch() {
    for (;;) {
      pollfd fds[2] = {{channel_, POLLIN, 0}, {signals_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        continue;
      }
      if (fds[0].revents != 0) {
        char command = 0;
        ssize_t n = recv(channel_, &command, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN) || command == kKeeperKill) {
          return;  // end of file: the server is gone
        }
        if (command == kKeeperTerminate) {
          Terminate();
        }
      }
      if (fds[1].revents != 0 && DrainSignals()) {
        return;  // SIGTERM: the server's death, or someone asks the keeper to stop
      }
      if (ChildExited()) {
        return;
      }
      ReapOrphans();
    }
  }

  // Kills everything of the attempt and reaps it; tells the server how the child ended.
  void KillAll() {
    if (cgroup_dir_ >= 0) {
      int kill_fd = openat(cgroup_dir_, "cgroup.kill", O_WRONLY | O_CLOEXEC);
      if (kill_fd >= 0) {
        [[maybe_unused]] ssize_t n = write(kill_fd, "1", 1);
        close(kill_fd);
      }
    }
    if (!child_reaped_) {
      kill(-child_, SIGKILL);  // its group; the zombie child still holds the group's id
    }
    const int64_t until = MonotonicMs() + kSweepLimitMs;
    while (MonotonicMs() < until) {
      ForEachChild([](pid_t pid) { kill(pid, SIGKILL); });
      if (!ReapAll()) {
        break;  // no child left: nothing of the attempt runs
      }
      pollfd p{signals_, POLLIN, 0};
      poll(&p, 1, kSweepPollMs);
      DrainSignals();
    }
    if (!exit_told_) {
      Tell(channel_, KeeperEvent::kExited, -1, SIGKILL);
    }
  }

 private:
  // SIGTERM to the child's group and to every other process of the attempt the keeper
  // can name: the members of its cgroup, or else its adopted children.
  void Terminate() {
    if (!child_reaped_) {
      kill(-child_, SIGTERM);
    }
    int procs = cgroup_dir_ >= 0 ? openat(cgroup_dir_, "cgroup.procs", O_RDONLY | O_CLOEXEC) : -1;
    if (procs >= 0) {
      ForEachNumber(procs, [](pid_t pid) { kill(pid, SIGTERM); });
      close(procs);
      return;
    }
    const pid_t child = child_;
    ForEachChild([child](pid_t pid) {
      if (pid != child) {
        kill(pid, SIGTERM);
      }
    });
  }

  // True when SIGTERM was among the signals read.
  bool DrainSignals() {
    bool term = false;
    signalfd_siginfo info;
    while (read(signals_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      term = term || info.ssi_signo == SIGTERM;
    }
    return term;
  }

  void TellExit(int code, int signal) {
    if (!exit_told_) {
      Tell(channel_, KeeperEvent::kExited, code, signal);
      exit_told_ = true;
    }
  }

  // Checks the child without reaping it: its pid stays taken (and its group's id with
  // it) until KillAll has signalled the group.
  bool ChildExited() {
    siginfo_t info = {};
    if (waitid(P_PID, child_, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != child_) {
      return false;
    }
    if (info.si_code == CLD_EXITED) {
      TellExit(info.si_status, 0);
    } else {
      TellExit(-1, info.si_status);
    }
    return true;
  }

  // Reaps adopted processes that have exited while the child runs (not the child).
  void ReapOrphans() {
    for (;;) {
      siginfo_t info = {};
      if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0 ||
          info.si_pid == child_) {
        return;
      }
      int status;
      waitpid(info.si_pid, &status, 0);
    }
  }

  // Reaps every child that has exited; false when the keeper has no child left.
  bool ReapAll() {
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid > 0) {
        if (pid == child_) {
          child_reaped_ = true;
          WIFEXITED(status) ? TellExit(WEXITSTATUS(status), 0) : TellExit(-1, WTERMSIG(status));
        }
        continue;
      }
      return !(pid < 0 && errno == ECHILD);
    }
  }

  const int channel_;
  const int signals_;
  const int cgroup_dir_;
  const pid_t child_;
  bool child_reaped_ = false;
  bool exit_told_ = false;
};

[[noreturn]] void ChildFail(int report_fd, ChildStage stage, int err) {
  KeeperMessage m{KeeperEvent::kSpawnFailed, static_cast<int32_t>(stage), err};
  [[maybe_unused]] ssize_t n = write(report_fd, &m, sizeof m);
  _exit(127);
}

// The child between fork and exec.
[[noreturn]] void ExecChild(const ExecArgs& args, const KeeperFds& fds, int report_fd,
                            pid_t keeper) {
  if (setpgid(0, 0) != 0) {
    ChildFail(report_fd, ChildStage::kSetup, errno);
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    ChildFail(report_fd, ChildStage::kSetup, errno);
  }
  if (getppid() != keeper) {
    _exit(127);
  }
  if (fds.cgroup_dir >= 0) {
    int procs = openat(fds.cgroup_dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs < 0 || write(procs, "0", 1) != 1) {
      ChildFail(report_fd, ChildStage::kSetup, errno);
    }
    close(procs);
  }
  // Dispositions first, then the mask, so a pending signal meets the default action.
  // Through the system call itself: glibc's sigaction refuses its reserved signals (32,
  // 33), which the server may have inherited as ignored.
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    unsigned long mask;
  };
  const KernelSigaction dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(dfl.mask));
    }
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (dup2(fds.stdin_fd, 0) < 0 || dup2(fds.out, 1) < 0 || dup2(fds.err, 2) < 0) {
    ChildFail(report_fd, ChildStage::kSetup, errno);
  }
  if (args.cwd != nullptr && chdir(args.cwd) != 0) {
    ChildFail(report_fd, ChildStage::kChdir, errno);
  }
  // Every other descriptor goes at exec; the report pipe must stay open until then.
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < kMaxFdToClose; ++fd) {
      if (fd != report_fd) {
        close(fd);
      }
    }
  }
  int err = ENOENT;
  bool denied = false;
  for (const char* path : args.candidates) {
    execve(path, args.argv.data(), args.envp.data());
    err = errno;
    if (err == EACCES) {
      denied = true;  // execvp goes on, and reports EACCES if nothing else runs
    } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV &&
               err != ETIMEDOUT) {
      break;
    }
  }
  ChildFail(report_fd, ChildStage::kExec, denied ? EACCES : err);
}

[[noreturn]] void KeeperFailed(int channel, int err) {
  Tell(channel, KeeperEvent::kSpawnFailed, static_cast<int32_t>(ChildStage::kKeeper), err);
  _exit(kKeeperSetupFailed);
}

}  // namespace

[[noreturn]] void RunKeeper(const ExecArgs& args, const KeeperFds& fds, pid_t server) {
  // Every signal waits in the signalfd or stays pending: the keeper must not die of one
  // meant for the server's group, nor of SIGPIPE.
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
    KeeperFailed(fds.channel, errno);
  }
  if (getppid() != server) {
    _exit(kKeeperSetupFailed);  // the server died before prctl took effect
  }
  const int keep[] = {fds.channel, fds.stdin_fd, fds.out, fds.err, fds.cgroup_dir};
  CloseAllExcept(keep, sizeof keep / sizeof keep[0]);
  if (setpgid(0, 0) != 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    KeeperFailed(fds.channel, errno);
  }
  sigset_t watched;
  sigemptyset(&watched);
  sigaddset(&watched, SIGCHLD);
  sigaddset(&watched, SIGTERM);
  int signals = signalfd(-1, &watched, SFD_NONBLOCK | SFD_CLOEXEC);
  int report[2];
  if (signals < 0 || pipe2(report, O_CLOEXEC) != 0) {
    KeeperFailed(fds.channel, errno);
  }
  const pid_t keeper = getpid();
  pid_t child = fork();
  if (child == 0) {
    ExecChild(args, fds, report[1], keeper);
  }
  if (child < 0) {
    KeeperFailed(fds.channel, errno);
  }
  close(report[1]);
  close(fds.stdin_fd);
  close(fds.out);
  close(fds.err);
  KeeperMessage failure{};
  if (read(report[0], &failure, sizeof failure) == static_cast<ssize_t>(sizeof failure)) {
    int status;
    waitpid(child, &status, 0);  // it exits at once; its group was only itself
    Tell(fds.channel, KeeperEvent::kSpawnFailed, failure.a, failure.b);
    _exit(0);
  }
  close(report[0]);
  Tell(fds.channel, KeeperEvent::kStarted, child, 0);
  Keeper attempt(fds.channel, signals, fds.cgroup_dir, child);
  attempt.Watch();
  attempt.KillAll();
  _exit(0);
}

}  // namespace sw
