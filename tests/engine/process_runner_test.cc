#include "engine/process_runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sw {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Every wait in these tests is on an event; this only bounds a wait that would hang.
// Background processes in the scenarios sleep far longer, so they cannot pass a bounded
// wait by ending on their own.
constexpr auto kGenerous = std::chrono::seconds(30);
constexpr const char* kLongSleep = "300";

const std::map<std::string, std::string> kPathOnly = {{"PATH", "/usr/bin:/bin"}};

// The answer of one Run() and when it came. Shared with the callback, which may run after
// a failed test has left its scope.
class Outcome {
 public:
  std::function<void(Result<ProcessResult>)> Callback(std::shared_ptr<Outcome> self) {
    return [self](Result<ProcessResult> r) {
      std::lock_guard lock(self->mu_);
      ++self->calls_;
      if (!self->result_) {
        self->result_.emplace(std::move(r));
        self->at_ = Clock::now();
      }
      self->cv_.notify_all();
    };
  }

  // The result, or nullopt when there was none within kGenerous.
  std::optional<Result<ProcessResult>> Wait() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kGenerous, [this] { return result_.has_value(); });
    return result_;
  }

  Clock::time_point at() {
    std::lock_guard lock(mu_);
    return at_;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Result<ProcessResult>> result_;
  Clock::time_point at_;
  int calls_ = 0;
};

ProcessSpec Sh(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = kPathOnly;
  return spec;
}

// /proc/<pid>/stat fields after the command: state, ppid, pgrp.
struct ProcStat {
  char state = '?';
  pid_t pgrp = 0;
};

std::optional<ProcStat> ReadStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return std::nullopt;
  }
  std::istringstream rest(line.substr(line.rfind(')') + 1));
  ProcStat stat;
  pid_t ppid;
  rest >> stat.state >> ppid >> stat.pgrp;
  return stat;
}

// Dead: gone, or a zombie waiting for its parent (init here does not always reap).
bool Alive(pid_t pid) {
  std::optional<ProcStat> stat = ReadStat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X';
}

bool GroupAlive(pid_t pgid) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::optional<ProcStat> stat = ReadStat(std::stoi(name));
    if (stat && stat->pgrp == pgid && stat->state != 'Z' && stat->state != 'X') {
      return true;
    }
  }
  return false;
}

// SIGKILL takes effect asynchronously; a killed process is dead within moments.
bool EventuallyDead(const std::function<bool()>& alive) {
  auto until = Clock::now() + kGenerous;
  while (alive()) {
    if (Clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

bool IsCancelled(const Result<ProcessResult>& r) {
  return r.status().code() == StatusCode::kCancelled && r.status().api_code() == "cancelled";
}

class ProcessRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw_proc_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = std::filesystem::canonical(tmpl);
    runner_ = MakeProcessRunner();
  }

  void TearDown() override {
    runner_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::shared_ptr<Outcome> Start(ProcessSpec spec,
                                 std::shared_ptr<CancellationToken> token = nullptr) {
    auto outcome = std::make_shared<Outcome>();
    runner_->Run(std::move(spec), std::move(token), outcome->Callback(outcome));
    return outcome;
  }

  Result<ProcessResult> RunToEnd(ProcessSpec spec,
                                 std::shared_ptr<CancellationToken> token = nullptr) {
    std::optional<Result<ProcessResult>> r = Start(std::move(spec), std::move(token))->Wait();
    if (!r) {
      return Internal("no answer within the generous bound");
    }
    return *r;
  }

  // A FIFO in the test's directory, opened for reading before the process starts (so
  // the process's write never blocks and survives the process being killed).
  int OpenFifo(const std::string& name) {
    std::string path = (dir_ / name).string();
    EXPECT_EQ(mkfifo(path.c_str(), 0600), 0);
    int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    return fd;
  }

  // Reads `count` numbers, one a line, from a FIFO. Empty when they did not come.
  static std::vector<pid_t> ReadPids(int fd, size_t count) {
    std::string text;
    auto until = Clock::now() + kGenerous;
    while (static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) < count) {
      int left =
          static_cast<int>(std::chrono::duration_cast<milliseconds>(until - Clock::now()).count());
      pollfd p{fd, POLLIN, 0};
      if (left <= 0 || poll(&p, 1, left) <= 0) {
        return {};
      }
      char buf[256];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) {
        text.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        std::this_thread::sleep_for(milliseconds(1));  // writer gone before writing all
      }
    }
    std::vector<pid_t> pids;
    std::istringstream in(text);
    pid_t pid;
    while (in >> pid) {
      pids.push_back(pid);
    }
    return pids;
  }

  // Waits until `pid` runs `comm` (the shell has exec'd it).
  static bool WaitForComm(pid_t pid, const std::string& comm) {
    auto until = Clock::now() + kGenerous;
    while (Clock::now() < until) {
      std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
      std::string name;
      if (std::getline(in, name) && name == comm) {
        return true;
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
    return false;
  }

  std::string Fifo(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
  std::unique_ptr<ProcessRunner> runner_;
};

TEST_F(ProcessRunnerTest, CapturesStdoutStderrAndExitCode) {
  Result<ProcessResult> r = RunToEnd(Sh("echo out; echo err >&2"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->signal, 0);
  EXPECT_EQ(r->stdout_text, "out\n");
  EXPECT_EQ(r->stderr_text, "err\n");
  EXPECT_FALSE(r->stdout_truncated);
  EXPECT_FALSE(r->stderr_truncated);
  EXPECT_GE(r->duration_ms, 0);
  EXPECT_EQ(runner_->Running(), 0u);
}

TEST_F(ProcessRunnerTest, NonZeroExitIsAResultNotAnError) {
  Result<ProcessResult> r = RunToEnd(Sh("echo partial; exit 7"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(r->signal, 0);
  EXPECT_EQ(r->stdout_text, "partial\n");
}

TEST_F(ProcessRunnerTest, DeathBySignalReportsTheSignal) {
  Result<ProcessResult> r = RunToEnd(Sh("kill -KILL $$"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, SIGKILL);
}

TEST_F(ProcessRunnerTest, EnvironmentIsExactlyTheGivenMap) {
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {{"A", "1"}, {"B", "two words"}, {"EMPTY", ""}};
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "A=1\nB=two words\nEMPTY=\n");
}

TEST_F(ProcessRunnerTest, EmptyEnvironmentGivesTheChildNoVariables) {
  ASSERT_EQ(setenv("SW_SERVER_ONLY", "leak", 1), 0);
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  Result<ProcessResult> r = RunToEnd(spec);
  unsetenv("SW_SERVER_ONLY");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "");
}

TEST_F(ProcessRunnerTest, ProgramIsLookedUpOnTheGivenPath) {
  std::filesystem::create_directory(dir_ / "bin");
  std::ofstream(dir_ / "bin" / "sw-tool") << "#!/bin/sh\necho found \"$@\"\n";
  std::filesystem::permissions(dir_ / "bin" / "sw-tool", std::filesystem::perms::owner_all);
  ProcessSpec spec;
  spec.argv = {"sw-tool", "arg"};
  spec.env = {{"PATH", "/nonexistent:" + (dir_ / "bin").string() + ":/usr/bin:/bin"}};
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "found arg\n");
}

TEST_F(ProcessRunnerTest, WithoutPathTheDefaultSearchPathIsUsed) {
  ProcessSpec spec;
  spec.argv = {"echo", "hi"};
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "hi\n");
}

TEST_F(ProcessRunnerTest, MissingProgramIsSpawnFailed) {
  ProcessSpec spec;
  spec.argv = {"sw-no-such-program"};
  spec.env = kPathOnly;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().api_code(), "spawn_failed");
  EXPECT_NE(r.status().message().find("sw-no-such-program"), std::string::npos);
  EXPECT_NE(r.status().message().find("No such file or directory"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(runner_->Running(), 0u);
}

TEST_F(ProcessRunnerTest, NonExecutableFileIsSpawnFailedWithPermissionDenied) {
  std::ofstream(dir_ / "not-exec") << "#!/bin/sh\necho no\n";
  std::filesystem::permissions(dir_ / "not-exec", std::filesystem::perms::owner_read);
  ProcessSpec spec;
  spec.argv = {(dir_ / "not-exec").string()};
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().api_code(), "spawn_failed");
  EXPECT_NE(r.status().message().find("Permission denied"), std::string::npos)
      << r.status().message();
}

TEST_F(ProcessRunnerTest, BadWorkingDirectoryIsSpawnFailed) {
  ProcessSpec spec = Sh("echo never");
  spec.cwd = "/nonexistent/sw-dir";
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().api_code(), "spawn_failed");
  EXPECT_NE(r.status().message().find("/nonexistent/sw-dir"), std::string::npos);
  EXPECT_NE(r.status().message().find("No such file or directory"), std::string::npos)
      << r.status().message();
}

TEST_F(ProcessRunnerTest, EmptyArgvOrBadVariableNameIsInvalid) {
  ProcessSpec empty;
  Result<ProcessResult> r = RunToEnd(empty);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().api_code(), "spawn_failed");

  ProcessSpec bad_name = Sh("true");
  bad_name.env["A=B"] = "x";
  r = RunToEnd(bad_name);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ProcessRunnerTest, RunsInTheGivenDirectory) {
  ProcessSpec spec;
  spec.argv = {"/bin/pwd"};
  spec.cwd = dir_.string();
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, dir_.string() + "\n");
}

TEST_F(ProcessRunnerTest, StdinIsEmpty) {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.env = kPathOnly;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_text, "");
}

TEST_F(ProcessRunnerTest, StdoutIsCappedAndFlaggedAlone) {
  ProcessSpec spec = Sh("head -c 5000 /dev/zero | tr '\\0' a; printf abc >&2");
  spec.max_output_bytes = 1000;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, std::string(1000, 'a'));
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->stderr_text, "abc");
  EXPECT_FALSE(r->stderr_truncated);
  EXPECT_EQ(r->exit_code, 0);
}

TEST_F(ProcessRunnerTest, StderrIsCappedAndFlaggedAlone) {
  ProcessSpec spec = Sh("head -c 5000 /dev/zero | tr '\\0' e >&2; printf abc");
  spec.max_output_bytes = 1000;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stderr_text, std::string(1000, 'e'));
  EXPECT_TRUE(r->stderr_truncated);
  EXPECT_EQ(r->stdout_text, "abc");
  EXPECT_FALSE(r->stdout_truncated);
}

TEST_F(ProcessRunnerTest, OutputOfExactlyTheCapIsNotTruncated) {
  ProcessSpec spec = Sh("head -c 1000 /dev/zero");
  spec.max_output_bytes = 1000;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text.size(), 1000u);
  EXPECT_FALSE(r->stdout_truncated);
}

TEST_F(ProcessRunnerTest, TenMegabytesOnBothStreamsAreDrainedWithoutDeadlock) {
  Result<ProcessResult> r =
      RunToEnd(Sh("head -c 10000000 /dev/zero & head -c 10000000 /dev/zero >&2; wait; exit 3"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 3);  // the writers were not blocked on full pipes
  EXPECT_EQ(r->stdout_text.size(), 64u * 1024);
  EXPECT_EQ(r->stderr_text.size(), 64u * 1024);
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_TRUE(r->stderr_truncated);
}

TEST_F(ProcessRunnerTest, ChildThatClosesItsOutputIsWaitedForUntilItExits) {
  Result<ProcessResult> r = RunToEnd(Sh("echo before; exec >&- 2>&-; sleep 0.3; exit 4"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "before\n");
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_GE(r->duration_ms, 300);
}

TEST_F(ProcessRunnerTest, BackgroundGrandchildIsKilledWhenTheLeaderExits) {
  Result<ProcessResult> r = RunToEnd(Sh(std::string("sleep ") + kLongSleep + " & echo $! $$"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  std::istringstream in(r->stdout_text);
  pid_t grandchild = 0, leader = 0;
  in >> grandchild >> leader;
  ASSERT_GT(grandchild, 0);
  EXPECT_EQ(kill(leader, 0), -1);  // reaped
  EXPECT_EQ(errno, ESRCH);
  EXPECT_TRUE(EventuallyDead([&] { return Alive(grandchild); }));
  EXPECT_TRUE(EventuallyDead([&] { return GroupAlive(leader); }));
}

TEST_F(ProcessRunnerTest, TimeoutKillsTheWholeGroup) {
  int fifo = OpenFifo("pids");
  // The grandchild ignores SIGTERM: only the SIGKILL to the group after the leader died
  // ends it.
  ProcessSpec spec = Sh(std::string("(trap '' TERM; exec sleep ") + kLongSleep +
                        ") & echo $! $$ > " + Fifo("pids") + "; wait");
  spec.timeout_ms = 1500;
  auto started = Clock::now();
  auto outcome = Start(spec);
  std::vector<pid_t> pids = ReadPids(fifo, 1);
  std::optional<Result<ProcessResult>> r = outcome->Wait();
  close(fifo);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r->status().api_code(), "timeout");
  EXPECT_GE(outcome->at() - started, milliseconds(1500));
  ASSERT_EQ(pids.size(), 2u) << "the script did not report its pids before the timeout";
  EXPECT_EQ(kill(pids[1], 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_TRUE(EventuallyDead([&] { return Alive(pids[0]); }));
  EXPECT_TRUE(EventuallyDead([&] { return GroupAlive(pids[1]); }));
  EXPECT_EQ(runner_->Running(), 0u);
}

TEST_F(ProcessRunnerTest, CancelKillsTheWholeGroup) {
  int fifo = OpenFifo("pids");
  auto token = std::make_shared<CancellationToken>();
  auto outcome = Start(
      Sh(std::string("sleep ") + kLongSleep + " & echo $! $$ > " + Fifo("pids") + "; wait"), token);
  std::vector<pid_t> pids = ReadPids(fifo, 1);
  close(fifo);
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_EQ(runner_->Running(), 1u);
  token->Fire(CancelReason::kUser);
  std::optional<Result<ProcessResult>> r = outcome->Wait();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(IsCancelled(*r)) << r->status().message();
  EXPECT_EQ(kill(pids[1], 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_TRUE(EventuallyDead([&] { return Alive(pids[0]); }));
  EXPECT_TRUE(EventuallyDead([&] { return GroupAlive(pids[1]); }));
  EXPECT_EQ(outcome->calls(), 1);
}

TEST_F(ProcessRunnerTest, ProcessIgnoringTermIsKilledAfterTheGrace) {
  int fifo = OpenFifo("pids");
  auto token = std::make_shared<CancellationToken>();
  ProcessSpec spec = Sh("trap '' TERM; echo $$ > " + Fifo("pids") + "; while :; do sleep 1; done");
  spec.kill_grace_ms = 200;
  auto outcome = Start(spec, token);
  std::vector<pid_t> pids = ReadPids(fifo, 1);
  close(fifo);
  ASSERT_EQ(pids.size(), 1u);
  auto fired = Clock::now();
  token->Fire(CancelReason::kUser);
  std::optional<Result<ProcessResult>> r = outcome->Wait();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(IsCancelled(*r)) << r->status().message();
  EXPECT_GE(outcome->at() - fired, milliseconds(200));  // SIGTERM alone did not end it
  EXPECT_EQ(kill(pids[0], 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_TRUE(EventuallyDead([&] { return GroupAlive(pids[0]); }));
}

// Prints the latency from Fire() to `done` for a plain `sleep`; the number belongs in
// the report, not in an assertion.
TEST_F(ProcessRunnerTest, CancelToReapedLatencyIsPrinted) {
  std::vector<double> latencies_ms;
  for (int i = 0; i < 10; ++i) {
    std::string name = "pid" + std::to_string(i);
    int fifo = OpenFifo(name);
    auto token = std::make_shared<CancellationToken>();
    auto outcome = Start(Sh("echo $$ > " + Fifo(name) + "; exec sleep " + kLongSleep), token);
    std::vector<pid_t> pids = ReadPids(fifo, 1);
    close(fifo);
    ASSERT_EQ(pids.size(), 1u);
    ASSERT_TRUE(WaitForComm(pids[0], "sleep"));
    auto fired = Clock::now();
    token->Fire(CancelReason::kUser);
    std::optional<Result<ProcessResult>> r = outcome->Wait();
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(IsCancelled(*r));
    latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(outcome->at() - fired).count());
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::cout << "cancel-to-reaped latency for `sleep` over " << latencies_ms.size() << " runs: min "
            << latencies_ms.front() << " ms, median " << latencies_ms[latencies_ms.size() / 2]
            << " ms, max " << latencies_ms.back() << " ms\n";
}

TEST_F(ProcessRunnerTest, TokenFiredBeforeRunAnswersCancelledWithoutStarting) {
  auto token = std::make_shared<CancellationToken>();
  token->Fire(CancelReason::kShutdown);
  Result<ProcessResult> r = RunToEnd(Sh("touch " + (dir_ / "marker").string()), token);
  EXPECT_TRUE(IsCancelled(r)) << r.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "marker"));
  EXPECT_EQ(runner_->Running(), 0u);
}

TEST_F(ProcessRunnerTest, CancelAfterCompletionChangesNothing) {
  auto token = std::make_shared<CancellationToken>();
  auto outcome = Start(Sh("echo done"), token);
  std::optional<Result<ProcessResult>> r = outcome->Wait();
  ASSERT_TRUE(r.has_value() && r->ok());
  token->Fire(CancelReason::kUser);
  runner_.reset();  // joins the run's thread: a second answer would have come by now
  EXPECT_EQ(outcome->calls(), 1);
  EXPECT_EQ((*r)->stdout_text, "done\n");
}

TEST_F(ProcessRunnerTest, NoZombiesAreLeft) {
  EXPECT_TRUE(RunToEnd(Sh("exit 0")).ok());
  EXPECT_TRUE(RunToEnd(Sh("kill -KILL $$")).ok());
  ProcessSpec missing;
  missing.argv = {"/nonexistent/sw-program"};
  EXPECT_FALSE(RunToEnd(missing).ok());
  auto token = std::make_shared<CancellationToken>();
  auto outcome = Start(Sh(std::string("exec sleep ") + kLongSleep), token);
  token->Fire(CancelReason::kUser);
  ASSERT_TRUE(outcome->Wait().has_value());
  // Every child of this process has been reaped.
  int status;
  EXPECT_EQ(waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(ProcessRunnerTest, DescriptorsAreNotInherited) {
  int plain = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(plain, 0);
  int high = fcntl(plain, F_DUPFD, 100);
  ASSERT_GE(high, 100);
  ProcessSpec spec;
  spec.argv = {"ls", "/proc/self/fd"};
  spec.env = kPathOnly;
  Result<ProcessResult> r = RunToEnd(spec);
  close(plain);
  close(high);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::set<std::string> fds;
  std::istringstream in(r->stdout_text);
  for (std::string fd; in >> fd;) {
    fds.insert(fd);
  }
  // 0-2 are the child's stdio; 3 is the directory ls reads.
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"})) << r->stdout_text;
}

TEST_F(ProcessRunnerTest, ChildStartsWithDefaultSignalsAndAnEmptyMask) {
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
  struct sigaction ignore = {}, old_pipe = {}, old_int = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_pipe);
  sigaction(SIGINT, &ignore, &old_int);
  // The runner's thread is started here, so it inherits this thread's mask.
  ProcessSpec spec;
  spec.argv = {"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"};
  spec.env = kPathOnly;
  Result<ProcessResult> r = RunToEnd(spec);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  sigaction(SIGINT, &old_int, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(ProcessRunnerTest, FiftyConcurrentProcessesAllComplete) {
  constexpr int kCount = 50;
  std::vector<std::shared_ptr<Outcome>> outcomes;
  for (int i = 0; i < kCount; ++i) {
    ProcessSpec spec;
    spec.argv = {"/bin/sh", "-c", "sleep 0.2; echo $1; exit $(($1 % 3))", "sh", std::to_string(i)};
    outcomes.push_back(Start(spec));
  }
  for (int i = 0; i < kCount; ++i) {
    std::optional<Result<ProcessResult>> r = outcomes[i]->Wait();
    ASSERT_TRUE(r.has_value() && r->ok()) << i;
    EXPECT_EQ((*r)->stdout_text, std::to_string(i) + "\n");
    EXPECT_EQ((*r)->exit_code, i % 3);
  }
  EXPECT_EQ(runner_->Running(), 0u);
}

TEST_F(ProcessRunnerTest, DestroyingTheRunnerKillsRunningProcesses) {
  constexpr int kCount = 3;
  std::vector<std::shared_ptr<Outcome>> outcomes;
  std::vector<pid_t> leaders;
  for (int i = 0; i < kCount; ++i) {
    std::string name = "pid" + std::to_string(i);
    int fifo = OpenFifo(name);
    // The last one ignores SIGTERM: shutdown does not wait for its grace.
    std::string trap = i == kCount - 1 ? "trap '' TERM; " : "";
    ProcessSpec spec = Sh(trap + "sleep " + kLongSleep + " & echo $$ > " + Fifo(name) + "; wait");
    spec.kill_grace_ms = kMaxKillGraceMs;
    outcomes.push_back(Start(spec));
    std::vector<pid_t> pids = ReadPids(fifo, 1);
    close(fifo);
    ASSERT_EQ(pids.size(), 1u);
    leaders.push_back(pids[0]);
  }
  EXPECT_EQ(runner_->Running(), static_cast<size_t>(kCount));
  runner_.reset();
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(outcomes[i]->calls(), 1);  // answered before the destructor returned
    std::optional<Result<ProcessResult>> r = outcomes[i]->Wait();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status().api_code(), "shutting_down");
    EXPECT_EQ(kill(leaders[i], 0), -1);
    EXPECT_EQ(errno, ESRCH);
    EXPECT_TRUE(EventuallyDead([&] { return GroupAlive(leaders[i]); }));
  }
}

// The runner lives in a helper process that is then killed outright: PR_SET_PDEATHSIG
// must take its process with it.
TEST_F(ProcessRunnerTest, ProcessDiesWhenTheServerDies) {
  int fifo = OpenFifo("pid");
  std::string script = "echo $$ > " + Fifo("pid") + "; exec sleep " + kLongSleep;
  pid_t helper = fork();
  ASSERT_GE(helper, 0);
  if (helper == 0) {
    std::unique_ptr<ProcessRunner> runner = MakeProcessRunner();
    runner->Run(Sh(script), nullptr, [](Result<ProcessResult>) {});
    pause();  // killed by the test
    _exit(0);
  }
  std::vector<pid_t> pids = ReadPids(fifo, 1);
  close(fifo);
  ASSERT_EQ(kill(helper, SIGKILL), 0);
  int status;
  ASSERT_EQ(waitpid(helper, &status, 0), helper);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_TRUE(EventuallyDead([&] { return Alive(pids[0]); }));
}

}  // namespace
}  // namespace sw
