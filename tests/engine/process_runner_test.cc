// ProcessRunner with real processes, under each containment.

#include "engine/process_runner.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <set>

#include "process_test_support.h"

namespace sw {
namespace {

using namespace sw::test;  // NOLINT: the shared helpers of these tests

TEST_P(ProcessRunnerTest, CapturesStdoutStderrAndExitCode) {
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

TEST_P(ProcessRunnerTest, NonZeroExitIsAResultNotAnError) {
  Result<ProcessResult> r = RunToEnd(Sh("echo partial; exit 7"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(r->signal, 0);
  EXPECT_EQ(r->stdout_text, "partial\n");
}

TEST_P(ProcessRunnerTest, DeathBySignalReportsTheSignal) {
  Result<ProcessResult> r = RunToEnd(Sh("kill -KILL $$"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, SIGKILL);
}

TEST_P(ProcessRunnerTest, EnvironmentIsExactlyTheGivenMap) {
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {{"A", "1"}, {"B", "two words"}, {"EMPTY", ""}};
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "A=1\nB=two words\nEMPTY=\n");
}

TEST_P(ProcessRunnerTest, EmptyEnvironmentGivesTheChildNoVariables) {
  ASSERT_EQ(setenv("SW_SERVER_ONLY", "leak", 1), 0);
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  Result<ProcessResult> r = RunToEnd(spec);
  unsetenv("SW_SERVER_ONLY");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "");
}

TEST_P(ProcessRunnerTest, ProgramIsLookedUpOnTheGivenPath) {
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

TEST_P(ProcessRunnerTest, WithoutPathTheDefaultSearchPathIsUsed) {
  ProcessSpec spec;
  spec.argv = {"echo", "hi"};
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "hi\n");
}

TEST_P(ProcessRunnerTest, MissingProgramIsSpawnFailed) {
  ProcessSpec spec;
  spec.argv = {"sw-no-such-program"};
  spec.env = kPathOnly;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().reason(), "spawn_failed");
  EXPECT_NE(r.status().message().find("sw-no-such-program"), std::string::npos);
  EXPECT_NE(r.status().message().find("No such file or directory"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(runner_->Running(), 0u);
}

TEST_P(ProcessRunnerTest, NonExecutableFileIsSpawnFailedWithPermissionDenied) {
  std::ofstream(dir_ / "not-exec") << "#!/bin/sh\necho no\n";
  std::filesystem::permissions(dir_ / "not-exec", std::filesystem::perms::owner_read);
  ProcessSpec spec;
  spec.argv = {(dir_ / "not-exec").string()};
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "spawn_failed");
  EXPECT_NE(r.status().message().find("Permission denied"), std::string::npos)
      << r.status().message();
}

TEST_P(ProcessRunnerTest, BadWorkingDirectoryIsSpawnFailed) {
  ProcessSpec spec = Sh("echo never");
  spec.cwd = "/nonexistent/sw-dir";
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "spawn_failed");
  EXPECT_NE(r.status().message().find("/nonexistent/sw-dir"), std::string::npos);
  EXPECT_NE(r.status().message().find("No such file or directory"), std::string::npos)
      << r.status().message();
}

TEST_P(ProcessRunnerTest, EmptyArgvOrBadVariableNameIsInvalid) {
  ProcessSpec empty;
  Result<ProcessResult> r = RunToEnd(empty);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "spawn_failed");

  ProcessSpec bad_name = Sh("true");
  bad_name.env["A=B"] = "x";
  r = RunToEnd(bad_name);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ProcessRunnerTest, RunsInTheGivenDirectory) {
  ProcessSpec spec;
  spec.argv = {"/bin/pwd"};
  spec.cwd = dir_.string();
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, dir_.string() + "\n");
}

TEST_P(ProcessRunnerTest, StdinIsEmpty) {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.env = kPathOnly;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_text, "");
}

TEST_P(ProcessRunnerTest, StdoutIsCappedAndFlaggedAlone) {
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

TEST_P(ProcessRunnerTest, StderrIsCappedAndFlaggedAlone) {
  ProcessSpec spec = Sh("head -c 5000 /dev/zero | tr '\\0' e >&2; printf abc");
  spec.max_output_bytes = 1000;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stderr_text, std::string(1000, 'e'));
  EXPECT_TRUE(r->stderr_truncated);
  EXPECT_EQ(r->stdout_text, "abc");
  EXPECT_FALSE(r->stdout_truncated);
}

TEST_P(ProcessRunnerTest, OutputOfExactlyTheCapIsNotTruncated) {
  ProcessSpec spec = Sh("head -c 1000 /dev/zero");
  spec.max_output_bytes = 1000;
  Result<ProcessResult> r = RunToEnd(spec);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text.size(), 1000u);
  EXPECT_FALSE(r->stdout_truncated);
}

TEST_P(ProcessRunnerTest, TenMegabytesOnBothStreamsAreDrainedWithoutDeadlock) {
  Result<ProcessResult> r =
      RunToEnd(Sh("head -c 10000000 /dev/zero & head -c 10000000 /dev/zero >&2; wait; exit 3"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 3);  // the writers were not blocked on full pipes
  EXPECT_EQ(r->stdout_text.size(), 64u * 1024);
  EXPECT_EQ(r->stderr_text.size(), 64u * 1024);
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_TRUE(r->stderr_truncated);
}

TEST_P(ProcessRunnerTest, ChildThatClosesItsOutputIsWaitedForUntilItExits) {
  Result<ProcessResult> r = RunToEnd(Sh("echo before; exec >&- 2>&-; sleep 0.3; exit 4"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->stdout_text, "before\n");
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_GE(r->duration_ms, 300);
}

TEST_P(ProcessRunnerTest, BackgroundGrandchildIsKilledWhenTheLeaderExits) {
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

TEST_P(ProcessRunnerTest, TimeoutKillsTheWholeGroup) {
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
  EXPECT_EQ(r->status().reason(), "timeout");
  EXPECT_GE(outcome->at() - started, milliseconds(1500));
  ASSERT_EQ(pids.size(), 2u) << "the script did not report its pids before the timeout";
  EXPECT_EQ(kill(pids[1], 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_TRUE(EventuallyDead([&] { return Alive(pids[0]); }));
  EXPECT_TRUE(EventuallyDead([&] { return GroupAlive(pids[1]); }));
  EXPECT_EQ(runner_->Running(), 0u);
}

TEST_P(ProcessRunnerTest, CancelKillsTheWholeGroup) {
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

TEST_P(ProcessRunnerTest, ProcessIgnoringTermIsKilledAfterTheGrace) {
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
TEST_P(ProcessRunnerTest, CancelToReapedLatencyIsPrinted) {
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

TEST_P(ProcessRunnerTest, TokenFiredBeforeRunAnswersCancelledWithoutStarting) {
  auto token = std::make_shared<CancellationToken>();
  token->Fire(CancelReason::kShutdown);
  Result<ProcessResult> r = RunToEnd(Sh("touch " + (dir_ / "marker").string()), token);
  EXPECT_TRUE(IsCancelled(r)) << r.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "marker"));
  EXPECT_EQ(runner_->Running(), 0u);
}

TEST_P(ProcessRunnerTest, CancelAfterCompletionChangesNothing) {
  auto token = std::make_shared<CancellationToken>();
  auto outcome = Start(Sh("echo done"), token);
  std::optional<Result<ProcessResult>> r = outcome->Wait();
  ASSERT_TRUE(r.has_value() && r->ok());
  token->Fire(CancelReason::kUser);
  runner_.reset();  // joins the run's thread: a second answer would have come by now
  EXPECT_EQ(outcome->calls(), 1);
  EXPECT_EQ((*r)->stdout_text, "done\n");
}

TEST_P(ProcessRunnerTest, NoZombiesAreLeft) {
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

TEST_P(ProcessRunnerTest, DescriptorsAreNotInherited) {
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

TEST_P(ProcessRunnerTest, ChildStartsWithDefaultSignalsAndAnEmptyMask) {
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

TEST_P(ProcessRunnerTest, FiftyConcurrentProcessesAllComplete) {
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

TEST_P(ProcessRunnerTest, DestroyingTheRunnerKillsRunningProcesses) {
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
    EXPECT_EQ(r->status().reason(), "shutting_down");
    EXPECT_EQ(kill(leaders[i], 0), -1);
    EXPECT_EQ(errno, ESRCH);
    EXPECT_TRUE(EventuallyDead([&] { return GroupAlive(leaders[i]); }));
  }
}

// The runner lives in a helper process that is then killed outright: PR_SET_PDEATHSIG
// must take its process with it.
TEST_P(ProcessRunnerTest, ProcessDiesWhenTheServerDies) {
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

INSTANTIATE_TEST_SUITE_P(Containments, ProcessRunnerTest,
                         ::testing::Values(ProcessContainment::kSubreaper,
                                           ProcessContainment::kCgroup),
                         ContainmentName);

}  // namespace
}  // namespace sw
