// ForkProcessRunner: the ProcessRunner on a keeper per attempt (process_keeper.h), one
// supervising thread per attempt.
//
// The run's thread prepares what the fork needs (Prepare), makes the attempt's cgroup
// when there are cgroups, forks the keeper (SpawnKept) and then supervises: it poll()s
// the stdout and stderr pipes, the keeper's channel (which says how the child ended), an
// eventfd (written by the token's OnFire callback and by the destructor) and a pidfd
// (readable when the keeper exits), with the next deadline (timeout, end of the kill
// grace, end of the drain) as poll's timeout. It stays alive until the keeper is reaped,
// which is what the keeper's PR_SET_PDEATHSIG needs: the death signal follows the forking
// thread, not the process. The keeper exits only once nothing of the attempt runs.

#include "engine/process_runner.h"

#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "engine/process_cgroup.h"
#include "engine/process_keeper.h"
#include "engine/process_records.h"
#include "engine/process_spawn.h"
#include "engine/unique_fd.h"

namespace sw {
namespace {

using Clock = std::chrono::steady_clock;
using Done = std::function<void(Result<ProcessResult>)>;

// After the keeper exits (so every process of the attempt is dead), output still in the
// pipes is read for at most this long.
constexpr int64_t kDrainAfterExitMs = 1000;
// Without a pidfd (old kernels) the keeper is checked this often.
constexpr int kKeeperCheckMs = 10;
constexpr size_t kReadChunk = 64 * 1024;

Status Cancelled() { return Status(StatusCode::kCancelled, "process cancelled", "cancelled"); }

Status TimedOut(int64_t timeout_ms) {
  return Status(StatusCode::kDeadlineExceeded,
                "process timed out after " + std::to_string(timeout_ms) + " ms and was killed",
                "timeout");
}

Status ShuttingDown() {
  return Status(StatusCode::kCancelled, "process runner shut down", "shutting_down");
}

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

enum class Ending { kNone, kCancelled, kTimedOut, kShutdown };

struct Stream {
  UniqueFd fd;
  std::string text;
  bool truncated = false;
};

// Supervises a started attempt until its keeper is reaped and the pipes are drained (or
// given up on), turning cancel, timeout and shutdown into commands to the keeper.
class Supervisor {
 public:
  Supervisor(KeptProcess kept, const ProcessSpec& spec, Clock::time_point start, Wakeup& wakeup,
             const CancellationToken* token, const std::atomic<bool>& shutting_down)
      : keeper_(kept.keeper),
        keeper_pidfd_(std::move(kept.keeper_pidfd)),
        channel_(std::move(kept.channel)),
        cap_(std::min(spec.max_output_bytes, kMaxProcessOutputBytes)),
        grace_(
            std::chrono::milliseconds(std::clamp<int64_t>(spec.kill_grace_ms, 0, kMaxKillGraceMs))),
        wakeup_(wakeup),
        token_(token),
        shutting_down_(shutting_down) {
    streams_[0].fd = std::move(kept.out);
    streams_[1].fd = std::move(kept.err);
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
        CheckKeeper();
      }
      Escalate(Clock::now());
    }
    return ending_;
  }

  // REQUIRES: Run() returned.
  ProcessResult TakeResult() {
    ProcessResult r;
    if (exit_) {
      r.exit_code = exit_->a;
      r.signal = exit_->b;
    } else {
      // The keeper died without saying how the child ended: killed with it.
      r.exit_code = -1;
      r.signal = WIFSIGNALED(keeper_status_) ? WTERMSIG(keeper_status_) : SIGKILL;
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
    if (!keeper_pidfd_.valid()) {
      consider(kKeeperCheckMs);
    }
    return timeout;
  }

  void PollOnce() {
    pollfd fds[5];
    int stream_index[2] = {-1, -1};
    int wakeup_index = -1;
    int channel_index = -1;
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
    if (channel_.valid()) {
      channel_index = static_cast<int>(n);
      fds[n++] = pollfd{channel_.get(), POLLIN, 0};
    }
    if (!reaped_ && keeper_pidfd_.valid()) {
      fds[n++] = pollfd{keeper_pidfd_.get(), POLLIN, 0};  // CheckKeeper() follows every round
    }
    if (poll(fds, n, PollTimeoutMs()) <= 0) {
      return;  // timeout or EINTR: the caller checks the keeper and the deadlines
    }
    for (int i = 0; i < 2; ++i) {
      if (stream_index[i] >= 0 && fds[stream_index[i]].revents != 0) {
        ReadOnce(streams_[i]);
      }
    }
    if (channel_index >= 0 && fds[channel_index].revents != 0) {
      ReadMessages();
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

  // The keeper's messages; its end of file once it has exited.
  void ReadMessages() {
    while (channel_.valid()) {
      KeeperMessage m{};
      ssize_t n = recv(channel_.get(), &m, sizeof m, MSG_DONTWAIT);
      if (n == sizeof m && m.event == KeeperEvent::kExited) {
        exit_ = m;
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
      } else if (n <= 0) {
        channel_.Reset();
      }
    }
  }

  void OnWakeup() {
    if (shutting_down_.load()) {
      if (ending_ == Ending::kNone) {
        ending_ = Ending::kShutdown;
      }
      KillAll();
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
      KillAll();
    }
  }

  void Terminate(Clock::time_point now) {
    Command(kKeeperTerminate);
    term_sent_ = true;
    kill_at_ = now + grace_;
  }

  void KillAll() {
    Command(kKeeperKill);
    // A stopped keeper would never act on it. It is not reaped yet: the pid is its own.
    kill(keeper_, SIGCONT);
    kill_sent_ = true;
  }

  void Command(char command) {
    if (channel_.valid()) {
      [[maybe_unused]] ssize_t n = send(channel_.get(), &command, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }

  // Once the keeper has exited, nothing of the attempt runs: reap it.
  void CheckKeeper() {
    if (waitpid(keeper_, &keeper_status_, WNOHANG) != keeper_) {
      return;
    }
    reaped_ = true;
    ReadMessages();
    drain_until_ = Clock::now() + std::chrono::milliseconds(kDrainAfterExitMs);
  }

  const pid_t keeper_;
  const UniqueFd keeper_pidfd_;
  UniqueFd channel_;
  const size_t cap_;
  const Clock::duration grace_;
  Wakeup& wakeup_;
  const CancellationToken* const token_;
  const std::atomic<bool>& shutting_down_;
  std::optional<Clock::time_point> deadline_;
  Stream streams_[2];  // stdout, stderr
  std::optional<KeeperMessage> exit_;
  Ending ending_ = Ending::kNone;
  bool term_sent_ = false;
  bool kill_sent_ = false;
  Clock::time_point kill_at_;
  bool reaped_ = false;
  int keeper_status_ = 0;
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

// What every run of one runner shares.
struct Containment {
  CgroupTree* cgroups;  // null: none
  const AttemptRecords& records;
  const std::atomic<bool>& shutting_down;
};

AttemptRecord RecordOf(const KeptProcess& kept, const std::optional<AttemptCgroup>& cgroup) {
  AttemptRecord record;
  record.keeper = kept.keeper;
  record.keeper_start = ProcessStartTime(kept.keeper).value_or(0);
  record.child = kept.child;
  record.child_start = ProcessStartTime(kept.child).value_or(0);
  record.cgroup = cgroup ? cgroup->path : "";
  return record;
}

Result<ProcessResult> Execute(const Job& job, const Containment& containment) {
  if (job.token != nullptr && job.token->fired()) {
    return Cancelled();
  }
  if (containment.shutting_down.load()) {
    return ShuttingDown();
  }
  Result<SpawnPlan> plan = Prepare(job.spec);
  if (!plan.ok()) {
    return plan.status();
  }
  std::optional<AttemptCgroup> cgroup;
  if (containment.cgroups != nullptr) {
    Result<AttemptCgroup> made = containment.cgroups->Create();
    if (!made.ok()) {
      return made.status();
    }
    cgroup = std::move(*made);
  }
  Clock::time_point start = Clock::now();
  Result<KeptProcess> kept = SpawnKept(job.spec, *plan, cgroup ? cgroup->dir.get() : -1);
  if (!kept.ok()) {
    if (cgroup) {
      RemoveCgroup(cgroup->path);
    }
    return kept.status();
  }
  const std::string record = containment.records.Add(RecordOf(*kept, cgroup));
  auto supervisor = std::make_unique<Supervisor>(std::move(*kept), job.spec, start, *job.wakeup,
                                                 job.token.get(), containment.shutting_down);
  const Ending ending = supervisor->Run();
  if (cgroup && !RemoveCgroup(cgroup->path)) {
    spdlog::warn("cannot remove the attempt's cgroup {}: {}", cgroup->path, ErrnoText(errno));
  }
  containment.records.Remove(record);
  switch (ending) {
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
  ForkProcessRunner(std::unique_ptr<CgroupTree> cgroups, const std::string& record_dir,
                    std::string note)
      : cgroups_(std::move(cgroups)), records_(record_dir), note_(std::move(note)) {}

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

  ProcessContainment containment() const override {
    return cgroups_ != nullptr ? ProcessContainment::kCgroup : ProcessContainment::kSubreaper;
  }
  std::string containment_note() const override { return note_; }

 private:
  struct Slot {
    std::thread thread;
    std::shared_ptr<Wakeup> wakeup;
  };

  // The thread's body. It is in runs_ (Run holds mu_ until it is) until its last step,
  // which moves it to finished_ for the next Run() or the destructor to join.
  void RunThread(uint64_t id, std::shared_ptr<Job> job) {
    Result<ProcessResult> result =
        Execute(*job, Containment{cgroups_.get(), records_, shutting_down_});
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

  const std::unique_ptr<CgroupTree> cgroups_;  // null: keeper only
  const AttemptRecords records_;
  const std::string note_;
  std::atomic<bool> shutting_down_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Slot> runs_;      // guarded by mu_
  std::vector<std::thread> finished_;  // guarded by mu_
  uint64_t next_id_ = 0;               // guarded by mu_
  size_t running_ = 0;                 // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<ProcessRunner>> MakeProcessRunner(const ProcessRunnerOptions& options) {
  std::unique_ptr<CgroupTree> cgroups;
  std::string note = "chosen: --shell-containment subreaper";
  if (options.containment != ProcessContainment::kSubreaper) {
    Result<std::unique_ptr<CgroupTree>> tree = CgroupTree::Detect();
    if (tree.ok()) {
      cgroups = std::move(*tree);
      note = "under " + cgroups->root();
    } else if (options.containment == ProcessContainment::kCgroup) {
      return tree.status();
    } else {
      note = tree.status().message();
    }
  }
  return std::unique_ptr<ProcessRunner>(
      std::make_unique<ForkProcessRunner>(std::move(cgroups), options.record_dir, note));
}

std::unique_ptr<ProcessRunner> MakeProcessRunner() {
  return std::move(MakeProcessRunner(ProcessRunnerOptions{})).value();
}

}  // namespace sw
