// ForkProcessRunner: the ProcessRunner on fork + execve, one supervising thread per
// process.
//
// Longer than our ~600-line guide on purpose: the fork/exec path, the supervisor's
// poll loop and the kill escalation share the async-signal-safety rules stated here.
//
// The run's thread prepares everything that allocates (argv, envp, the PATH candidates)
// and then forks, so the child runs only async-signal-safe calls before execve. The
// child reports a failure before or at exec as {stage, errno} on a close-on-exec pipe;
// end-of-file on that pipe means exec succeeded. The same thread then supervises: it
// poll()s the stdout and stderr pipes, an eventfd (written by the token's OnFire callback
// and by the destructor) and a pidfd (readable when the leader exits), with the next
// deadline (timeout, end of the kill grace, end of the drain) as poll's timeout. It stays
// alive until the child is reaped, which is what PR_SET_PDEATHSIG needs: the death signal
// follows the forking thread, not the process.
//
// The leader is checked with waitid(WNOWAIT) so that it stays a zombie, its pid (which is
// also the group id) still taken, while the rest of its group is killed; only then is it
// reaped, so a kill(-pgid) never reaches a recycled group.

#include "engine/process_runner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

namespace sw {
namespace {

using Clock = std::chrono::steady_clock;
using Done = std::function<void(Result<ProcessResult>)>;

// execvp's search path when the environment has no PATH.
constexpr std::string_view kDefaultPath = "/bin:/usr/bin";
// After the leader exits and the rest of its group is killed, output still in the pipes
// is read for at most this long: a process that left the group (setsid) and kept a pipe
// open must not hold the attempt forever.
constexpr int64_t kDrainAfterExitMs = 1000;
// Without a pidfd (old kernels) the leader is checked this often.
constexpr int kLeaderCheckMs = 10;
constexpr size_t kReadChunk = 64 * 1024;
// Descriptors closed one by one when close_range is missing.
constexpr int kMaxFdToClose = 65536;

std::string ErrnoText(int err) {
  char buf[256];
  return strerror_r(err, buf, sizeof buf);  // the GNU variant returns the text
}

Status Cancelled() { return Status(StatusCode::kCancelled, "process cancelled", "cancelled"); }

Status TimedOut(int64_t timeout_ms) {
  return Status(StatusCode::kDeadlineExceeded,
                "process timed out after " + std::to_string(timeout_ms) + " ms and was killed",
                "timeout");
}

Status ShuttingDown() {
  return Status(StatusCode::kCancelled, "process runner shut down", "shutting_down");
}

Status SpawnUnavailable(const std::string& what, int err) {
  return Status(StatusCode::kUnavailable, "cannot start process: " + what + ": " + ErrnoText(err),
                "spawn_failed");
}

Status SpawnInvalid(const std::string& why) {
  return Status(StatusCode::kInvalidArgument, "cannot start process: " + why, "spawn_failed");
}

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

// The eventfd a run's poll loop waits on, written by the token's OnFire callback and by
// the runner's destructor. Shared (shared_ptr) by the run, the runner's table and the
// token's callback, which may outlive the run: the run closes the fd when it ends, and a
// later Signal() writes nothing instead of into a descriptor number reused meanwhile.
class Wakeup {
 public:
  explicit Wakeup(int fd) : fd_(fd) {}
  ~Wakeup() { Close(); }

  // Cheap and thread-safe: the token's callback.
  void Signal() {
    std::lock_guard lock(mu_);
    if (fd_ >= 0) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
    }
  }
  // Only the run calls these, so fd_ does not change under it.
  int fd() const { return fd_; }
  void Drain() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = read(fd_, &count, sizeof count);
  }
  void Close() {
    std::lock_guard lock(mu_);
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

 private:
  std::mutex mu_;
  int fd_;  // written under mu_, by the run only
};

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

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> MakePipe(bool nonblocking_read) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return SpawnUnavailable("pipe", errno);
  }
  Pipe p{AboveStdio(fds[0]), AboveStdio(fds[1])};
  if (!p.read.valid() || !p.write.valid()) {
    return SpawnUnavailable("pipe", errno);
  }
  if (nonblocking_read) {
    fcntl(p.read.get(), F_SETFL, fcntl(p.read.get(), F_GETFL) | O_NONBLOCK);
  }
  return p;
}

// Everything the child needs, computed before the fork (it allocates).
struct SpawnPlan {
  std::vector<std::string> env;         // "NAME=value"
  std::vector<std::string> candidates;  // paths tried for argv[0], in order
};

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

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

// What the child writes on the report pipe when it cannot exec.
enum class ChildStage : int { kSetup, kChdir, kExec };
struct ChildError {
  ChildStage stage;
  int err;
};

// The C arrays execve wants, pointing into the spec and the plan (which outlive them).
struct ExecArgs {
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<const char*> candidates;
  const char* cwd = nullptr;
  pid_t parent = 0;
};

[[noreturn]] void ChildFail(int report_fd, ChildStage stage, int err) {
  ChildError e{stage, err};
  [[maybe_unused]] ssize_t n = write(report_fd, &e, sizeof e);
  _exit(127);
}

// The child between fork and exec: async-signal-safe calls only, since the fork copied
// one thread of a multithreaded server (another thread may have held malloc's lock).
[[noreturn]] void ExecChild(const ExecArgs& args, int stdin_fd, int out_fd, int err_fd,
                            int report_fd) {
  if (setpgid(0, 0) != 0) {
    ChildFail(report_fd, ChildStage::kSetup, errno);
  }
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
    ChildFail(report_fd, ChildStage::kSetup, errno);
  }
  // The server may have died before prctl took effect: then we were already re-parented.
  if (getppid() != args.parent) {
    _exit(127);
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
  if (dup2(stdin_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
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

Status SpawnFailed(const ProcessSpec& spec, ChildError e) {
  switch (e.stage) {
    case ChildStage::kChdir:
      return Status(StatusCode::kFailedPrecondition,
                    "cannot start \"" + spec.argv[0] + "\": cannot change to directory \"" +
                        spec.cwd + "\": " + ErrnoText(e.err),
                    "spawn_failed");
    case ChildStage::kExec:
      return Status(StatusCode::kFailedPrecondition,
                    "cannot execute \"" + spec.argv[0] + "\": " + ErrnoText(e.err), "spawn_failed");
    case ChildStage::kSetup:
      break;
  }
  return Status(StatusCode::kUnavailable,
                "cannot start \"" + spec.argv[0] + "\": child setup failed: " + ErrnoText(e.err),
                "spawn_failed");
}

void ReapBlocking(pid_t pid, int* status) {
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

// A started child: exec succeeded.
struct Child {
  pid_t pid = -1;  // also its process group id
  UniqueFd pidfd;  // invalid when the kernel has no pidfd_open
  UniqueFd out;
  UniqueFd err;
};

Result<Child> Spawn(const ProcessSpec& spec, const SpawnPlan& plan) {
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
  args.parent = getpid();

  UniqueFd in = AboveStdio(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!in.valid()) {
    return SpawnUnavailable("open /dev/null", errno);
  }
  Result<Pipe> out = MakePipe(true);
  if (!out.ok()) {
    return out.status();
  }
  Result<Pipe> err = MakePipe(true);
  if (!err.ok()) {
    return err.status();
  }
  Result<Pipe> report = MakePipe(false);
  if (!report.ok()) {
    return report.status();
  }
  pid_t pid = fork();
  if (pid == 0) {
    ExecChild(args, in.get(), out->write.get(), err->write.get(), report->write.get());
  }
  if (pid < 0) {
    return SpawnUnavailable("fork", errno);
  }
  in.Reset();
  out->write.Reset();
  err->write.Reset();
  report->write.Reset();

  ChildError e{};
  ssize_t n;
  while ((n = read(report->read.get(), &e, sizeof e)) < 0 && errno == EINTR) {
  }
  if (n != 0) {
    int status;
    ReapBlocking(pid, &status);  // it exits at once; its group was only itself
    return SpawnFailed(spec, n == sizeof e ? e : ChildError{ChildStage::kSetup, EIO});
  }
  Child child;
  child.pid = pid;
  child.pidfd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  child.out = std::move(out->read);
  child.err = std::move(err->read);
  return child;
}

enum class Ending { kNone, kCancelled, kTimedOut, kShutdown };

struct Stream {
  UniqueFd fd;
  std::string text;
  bool truncated = false;
};

// Supervises a started child until it is reaped and its pipes are drained (or given up
// on), escalating cancel, timeout and shutdown into signals to its group.
class Supervisor {
 public:
  Supervisor(Child child, const ProcessSpec& spec, Clock::time_point start, Wakeup& wakeup,
             const CancellationToken* token, const std::atomic<bool>& shutting_down)
      : pid_(child.pid),
        pidfd_(std::move(child.pidfd)),
        cap_(std::min(spec.max_output_bytes, kMaxProcessOutputBytes)),
        grace_(
            std::chrono::milliseconds(std::clamp<int64_t>(spec.kill_grace_ms, 0, kMaxKillGraceMs))),
        wakeup_(wakeup),
        token_(token),
        shutting_down_(shutting_down) {
    streams_[0].fd = std::move(child.out);
    streams_[1].fd = std::move(child.err);
    if (spec.timeout_ms > 0) {
      deadline_ =
          start + std::chrono::milliseconds(std::min(spec.timeout_ms, kMaxProcessTimeoutMs));
    }
  }

  // Returns how the run ended; kNone when the process exited on its own.
  Ending Run() {
    while (!Finished()) {
      PollOnce();
      if (!reaped_) {
        CheckLeader();
      }
      Escalate(Clock::now());
    }
    return ending_;
  }

  // REQUIRES: Run() returned.
  ProcessResult TakeResult() {
    ProcessResult r;
    if (WIFSIGNALED(status_)) {
      r.exit_code = -1;
      r.signal = WTERMSIG(status_);
    } else {
      r.exit_code = WEXITSTATUS(status_);
    }
    r.stdout_text = std::move(streams_[0].text);
    r.stderr_text = std::move(streams_[1].text);
    r.stdout_truncated = streams_[0].truncated;
    r.stderr_truncated = streams_[1].truncated;
    return r;
  }

 private:
  bool Finished() const {
    if (!reaped_) {
      return false;
    }
    bool pipes_closed = !streams_[0].fd.valid() && !streams_[1].fd.valid();
    return pipes_closed || Clock::now() >= drain_until_;
  }

  // Milliseconds until `t`, rounded up so that poll does not wake just before it.
  static int MsUntil(Clock::time_point t) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(t - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
  }

  int PollTimeoutMs() const {
    if (reaped_) {
      return MsUntil(drain_until_);
    }
    int timeout = -1;
    auto consider = [&timeout](int ms) { timeout = timeout < 0 ? ms : std::min(timeout, ms); };
    if (ending_ == Ending::kNone && deadline_) {
      consider(MsUntil(*deadline_));
    }
    if (term_sent_ && !kill_sent_) {
      consider(MsUntil(kill_at_));
    }
    if (!pidfd_.valid()) {
      consider(kLeaderCheckMs);
    }
    return timeout;
  }

  void PollOnce() {
    pollfd fds[4];
    int stream_index[2] = {-1, -1};
    int wakeup_index = -1;
    nfds_t n = 0;
    for (int i = 0; i < 2; ++i) {
      if (streams_[i].fd.valid()) {
        stream_index[i] = static_cast<int>(n);
        fds[n++] = pollfd{streams_[i].fd.get(), POLLIN, 0};
      }
    }
    if (!reaped_ && !kill_sent_) {
      wakeup_index = static_cast<int>(n);
      fds[n++] = pollfd{wakeup_.fd(), POLLIN, 0};
    }
    if (!reaped_ && pidfd_.valid()) {
      fds[n++] = pollfd{pidfd_.get(), POLLIN, 0};  // CheckLeader() follows every round
    }
    if (poll(fds, n, PollTimeoutMs()) <= 0) {
      return;  // timeout or EINTR: the caller checks the leader and the deadlines
    }
    for (int i = 0; i < 2; ++i) {
      if (stream_index[i] >= 0 && fds[stream_index[i]].revents != 0) {
        ReadOnce(streams_[i]);
      }
    }
    if (wakeup_index >= 0 && fds[wakeup_index].revents != 0) {
      wakeup_.Drain();
      OnWakeup();
    }
  }

  void ReadOnce(Stream& s) {
    ssize_t n = read(s.fd.get(), buffer_, sizeof buffer_);
    if (n > 0) {
      size_t keep = std::min(static_cast<size_t>(n), cap_ - std::min(cap_, s.text.size()));
      s.text.append(buffer_, keep);
      s.truncated = s.truncated || keep < static_cast<size_t>(n);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      s.fd.Reset();
    }
  }

  void OnWakeup() {
    if (shutting_down_.load()) {
      if (ending_ == Ending::kNone) {
        ending_ = Ending::kShutdown;
      }
      SignalGroup(SIGKILL);
      kill_sent_ = true;
    } else if (ending_ == Ending::kNone && token_ != nullptr && token_->fired()) {
      ending_ = Ending::kCancelled;
      Terminate(Clock::now());
    }
  }

  void Escalate(Clock::time_point now) {
    if (reaped_) {
      return;
    }
    if (ending_ == Ending::kNone && deadline_ && now >= *deadline_) {
      ending_ = Ending::kTimedOut;
      Terminate(now);
    }
    if (term_sent_ && !kill_sent_ && now >= kill_at_) {
      SignalGroup(SIGKILL);
      kill_sent_ = true;
    }
  }

  void Terminate(Clock::time_point now) {
    SignalGroup(SIGTERM);
    term_sent_ = true;
    kill_at_ = now + grace_;
  }

  // The leader is not reaped yet, so the group id cannot have been recycled. ESRCH (the
  // whole group is gone) is fine.
  void SignalGroup(int sig) { kill(-pid_, sig); }

  // Once the leader has exited: kill what is left of its group, then reap the leader.
  void CheckLeader() {
    siginfo_t info = {};
    if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != pid_) {
      return;
    }
    SignalGroup(SIGKILL);
    ReapBlocking(pid_, &status_);
    reaped_ = true;
    drain_until_ = Clock::now() + std::chrono::milliseconds(kDrainAfterExitMs);
  }

  const pid_t pid_;
  const UniqueFd pidfd_;
  const size_t cap_;
  const Clock::duration grace_;
  Wakeup& wakeup_;
  const CancellationToken* const token_;
  const std::atomic<bool>& shutting_down_;
  std::optional<Clock::time_point> deadline_;
  Stream streams_[2];  // stdout, stderr
  Ending ending_ = Ending::kNone;
  bool term_sent_ = false;
  bool kill_sent_ = false;
  Clock::time_point kill_at_;
  bool reaped_ = false;
  int status_ = 0;
  Clock::time_point drain_until_;
  char buffer_[kReadChunk];
};

// One Run() call, carried by its thread.
struct Job {
  ProcessSpec spec;
  std::shared_ptr<CancellationToken> token;  // shared with the engine, which fires it
  Done done;
  std::shared_ptr<Wakeup> wakeup;
};

Result<ProcessResult> Execute(const Job& job, const std::atomic<bool>& shutting_down) {
  if (job.token != nullptr && job.token->fired()) {
    return Cancelled();
  }
  if (shutting_down.load()) {
    return ShuttingDown();
  }
  Result<SpawnPlan> plan = Prepare(job.spec);
  if (!plan.ok()) {
    return plan.status();
  }
  Clock::time_point start = Clock::now();
  Result<Child> child = Spawn(job.spec, *plan);
  if (!child.ok()) {
    return child.status();
  }
  auto supervisor = std::make_unique<Supervisor>(std::move(*child), job.spec, start, *job.wakeup,
                                                 job.token.get(), shutting_down);
  switch (supervisor->Run()) {
    case Ending::kCancelled:
      return Cancelled();
    case Ending::kTimedOut:
      return TimedOut(job.spec.timeout_ms);
    case Ending::kShutdown:
      return ShuttingDown();
    case Ending::kNone:
      break;
  }
  ProcessResult result = supervisor->TakeResult();
  result.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  return result;
}

class ForkProcessRunner final : public ProcessRunner {
 public:
  ~ForkProcessRunner() override {
    std::unique_lock lock(mu_);
    shutting_down_.store(true);
    for (auto& [id, run] : runs_) {
      run.wakeup->Signal();
    }
    cv_.wait(lock, [this] { return runs_.empty(); });
    std::vector<std::thread> finished = std::move(finished_);
    lock.unlock();
    for (std::thread& t : finished) {
      t.join();
    }
  }

  void Run(ProcessSpec spec, std::shared_ptr<CancellationToken> token, Done done) override {
    JoinFinished();
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
      done(SpawnUnavailable("eventfd", errno));
      return;
    }
    auto job = std::make_shared<Job>(
        Job{std::move(spec), std::move(token), std::move(done), std::make_shared<Wakeup>(efd)});
    if (job->token != nullptr) {
      job->token->OnFire([wakeup = job->wakeup] { wakeup->Signal(); });
    }
    {
      std::lock_guard lock(mu_);
      uint64_t id = next_id_++;
      try {
        std::thread thread([this, id, job] { RunThread(id, job); });
        runs_.emplace(id, Slot{std::move(thread), job->wakeup});
        ++running_;
        return;
      } catch (const std::system_error&) {
        // Answered below, outside the lock.
      }
    }
    job->wakeup->Close();
    job->done(SpawnUnavailable("thread", EAGAIN));
  }

  size_t Running() const override {
    std::lock_guard lock(mu_);
    return running_;
  }

 private:
  struct Slot {
    std::thread thread;
    std::shared_ptr<Wakeup> wakeup;
  };

  // The thread's body. It is in runs_ (Run holds mu_ until it is) until its last step,
  // which moves it to finished_ for the next Run() or the destructor to join.
  void RunThread(uint64_t id, std::shared_ptr<Job> job) {
    Result<ProcessResult> result = Execute(*job, shutting_down_);
    job->wakeup->Close();
    Done done = std::move(job->done);
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    done(std::move(result));
    std::lock_guard lock(mu_);
    auto node = runs_.extract(id);
    finished_.push_back(std::move(node.mapped().thread));
    cv_.notify_all();
  }

  void JoinFinished() {
    std::vector<std::thread> finished;
    {
      std::lock_guard lock(mu_);
      finished.swap(finished_);
    }
    for (std::thread& t : finished) {
      t.join();
    }
  }

  std::atomic<bool> shutting_down_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Slot> runs_;      // guarded by mu_
  std::vector<std::thread> finished_;  // guarded by mu_
  uint64_t next_id_ = 0;               // guarded by mu_
  size_t running_ = 0;                 // guarded by mu_
};

}  // namespace

std::unique_ptr<ProcessRunner> MakeProcessRunner() { return std::make_unique<ForkProcessRunner>(); }

}  // namespace sw
