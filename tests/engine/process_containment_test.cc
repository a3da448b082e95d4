// Containment: whatever an attempt starts — a grandchild that calls setsid, a double
// fork, many of them — dies with the attempt when it is cancelled, times out, ends, or
// when the server dies; a server started after a crash ends what the attempt records
// name before anything runs again.
//
// The scripts write the pids of the processes that escape into a plain file; the test
// reads them once all are there.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/process_records.h"
#include "engine/process_runner.h"
#include "process_test_support.h"
#include "wait_until.h"

namespace sw {
namespace {

using namespace sw::test;  // NOLINT: the shared helpers of these tests

class ProcessContainmentTest : public ProcessRunnerTest {
 protected:
  // Shell text that starts `count` processes that leave the attempt's session and group,
  // each writing its pid to `file`: the first a background child that calls setsid, the
  // others double forks (the parent subshell exits at once, the process is orphaned).
  std::string Escapes(int count, const std::string& file) const {
    const std::string escapee =
        "setsid sh -c 'echo $$ >> " + file + "; exec sleep " + std::string(kLongSleep) + "'";
    std::string script = escapee + " & ";
    if (count > 1) {
      script += "for i in $(seq " + std::to_string(count - 1) + "); do (" + escapee + " &); done; ";
    }
    return script;
  }

  std::string File(const std::string& name) const { return (dir_ / name).string(); }

  // The pids in `file` once it holds `count` of them; empty if they did not come.
  static std::vector<pid_t> WaitForPids(const std::string& file, size_t count) {
    std::vector<pid_t> pids;
    WaitUntil(
        [&] {
          pids.clear();
          std::ifstream in(file);
          for (pid_t pid; in >> pid;) {
            pids.push_back(pid);
          }
          return pids.size() >= count;
        },
        kGenerous);
    return pids.size() >= count ? pids : std::vector<pid_t>{};
  }

  static bool AllGone(const std::vector<pid_t>& pids) {
    for (pid_t pid : pids) {
      if (kill(pid, 0) == 0 || errno != ESRCH) {
        return false;
      }
    }
    return true;
  }

  static bool AllEventuallyDead(const std::vector<pid_t>& pids) {
    for (pid_t pid : pids) {
      if (!EventuallyDead([pid] { return Alive(pid); })) {
        return false;
      }
    }
    return true;
  }

  // A stand-in for the server: a child process that runs `spec` on a runner of this
  // test's containment (with records in `record_dir`) and waits to be killed.
  pid_t StartServer(const ProcessSpec& spec, const std::string& record_dir) {
    pid_t server = fork();
    if (server == 0) {
      std::unique_ptr<ProcessRunner> runner = MakeRunner(record_dir);
      if (runner == nullptr) {
        _exit(1);
      }
      runner->Run(spec, nullptr, [](Result<ProcessResult>) {});
      pause();
      _exit(0);
    }
    return server;
  }

  // StartServer in a child that is a subreaper (as a container's init may be) and reaps
  // until it has no child left. When the server dies, its keeper goes to that child, in
  // the same session: the keeper's group is not orphaned, so a stopped keeper stays
  // stopped (the kernel continues the stopped members of a group orphaned by a death).
  pid_t StartServerUnderSubreaper(const ProcessSpec& spec, const std::string& record_dir) {
    pid_t reaper = fork();
    if (reaper == 0) {
      prctl(PR_SET_CHILD_SUBREAPER, 1);
      StartServer(spec, record_dir);
      int status;
      while (waitpid(-1, &status, 0) > 0 || errno == EINTR) {
      }
      _exit(0);
    }
    return reaper;
  }

  // A server (under a subreaper) running an attempt with records, its leader's pid in
  // `leader`, three processes escaped from its group.
  struct RecordedAttempt {
    std::string records;
    pid_t reaper = -1;
    pid_t server = -1;
    pid_t keeper = -1;
    pid_t leader = -1;
    std::vector<pid_t> escaped;
  };

  std::optional<RecordedAttempt> StartRecordedAttempt() {
    RecordedAttempt a;
    a.records = File("records");
    if (!CreateRecordDir(a.records).ok()) {
      return std::nullopt;
    }
    const std::string pids_file = File("pids");
    const std::string leader_file = File("leader");
    a.reaper = StartServerUnderSubreaper(
        Sh("echo $$ > " + leader_file + "; " + Escapes(3, pids_file) + "exec sleep " + kLongSleep),
        a.records);
    a.escaped = WaitForPids(pids_file, 3);
    std::vector<pid_t> leader = WaitForPids(leader_file, 1);
    if (a.escaped.size() != 3 || leader.size() != 1) {
      return std::nullopt;
    }
    a.leader = leader[0];
    a.keeper = ReadStat(a.leader).value_or(ProcStat{}).ppid;
    a.server = ReadStat(a.keeper).value_or(ProcStat{}).ppid;
    if (a.keeper <= 1 || a.server <= 1 ||
        !WaitUntil([&] { return RecordCount(a.records) == 1; }, kGenerous)) {
      return std::nullopt;
    }
    return a;
  }

  static void Reap(pid_t pid) {
    int status;
    waitpid(pid, &status, 0);
  }

  static size_t RecordCount(const std::string& dir) {
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      n += entry.path().extension() == ".attempt";
    }
    return n;
  }
};

TEST_P(ProcessContainmentTest, EscapedDescendantsDieWithACancel) {
  auto token = std::make_shared<CancellationToken>();
  const std::string pids_file = File("pids");
  auto outcome = Start(Sh(Escapes(20, pids_file) + "exec sleep " + kLongSleep), token);
  std::vector<pid_t> pids = WaitForPids(pids_file, 20);
  ASSERT_EQ(pids.size(), 20u);
  token->Fire(CancelReason::kUser);
  std::optional<Result<ProcessResult>> r = outcome->Wait();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(IsCancelled(*r)) << r->status().message();
  // The keeper reaped them before `done`: their pids are free.
  EXPECT_TRUE(AllGone(pids));
}

TEST_P(ProcessContainmentTest, EscapedDescendantsDieWithATimeout) {
  const std::string pids_file = File("pids");
  // They ignore SIGTERM: the SIGKILL after the grace ends them.
  ProcessSpec spec = Sh("trap '' TERM; " + Escapes(3, pids_file) + "exec sleep " + kLongSleep);
  spec.timeout_ms = 1000;
  spec.kill_grace_ms = 100;
  auto outcome = Start(spec);
  std::vector<pid_t> pids = WaitForPids(pids_file, 3);
  std::optional<Result<ProcessResult>> r = outcome->Wait();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status().reason(), "timeout");
  ASSERT_EQ(pids.size(), 3u);
  EXPECT_TRUE(AllGone(pids));
}

TEST_P(ProcessContainmentTest, EscapedDescendantsDieWhenTheProcessExits) {
  const std::string pids_file = File("pids");
  Result<ProcessResult> r =
      RunToEnd(Sh("touch " + pids_file + "; " + Escapes(3, pids_file) + "while [ $(wc -l < " +
                  pids_file + ") -lt 3 ]; do sleep 0.01; done; echo done"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_text, "done\n");
  std::vector<pid_t> pids = WaitForPids(pids_file, 3);
  ASSERT_EQ(pids.size(), 3u);
  EXPECT_TRUE(AllGone(pids));
}

TEST_P(ProcessContainmentTest, EscapedDescendantsDieWhenTheServerDies) {
  const std::string pids_file = File("pids");
  pid_t server = StartServer(Sh(Escapes(3, pids_file) + "exec sleep " + kLongSleep), "");
  ASSERT_GT(server, 0);
  std::vector<pid_t> pids = WaitForPids(pids_file, 3);
  ASSERT_EQ(kill(server, SIGKILL), 0);
  Reap(server);
  ASSERT_EQ(pids.size(), 3u);
  EXPECT_TRUE(AllEventuallyDead(pids));
}

TEST_P(ProcessContainmentTest, RecordIsKeptWhileTheAttemptRunsAndRemovedAfter) {
  const std::string records = File("records");
  ASSERT_TRUE(CreateRecordDir(records).ok());
  runner_ = MakeRunner(records);
  auto token = std::make_shared<CancellationToken>();
  const std::string leader_file = File("leader");
  auto outcome = Start(Sh("echo $$ > " + leader_file + "; exec sleep " + kLongSleep), token);
  std::vector<pid_t> leader = WaitForPids(leader_file, 1);
  ASSERT_EQ(leader.size(), 1u);
  std::optional<ProcStat> stat = ReadStat(leader[0]);
  ASSERT_TRUE(stat.has_value());
  const pid_t keeper = stat->ppid;
  EXPECT_NE(keeper, getpid());  // the child runs under its keeper
  ASSERT_TRUE(WaitUntil([&] { return RecordCount(records) == 1; }, kGenerous));
  std::ifstream in(records + "/" + std::to_string(keeper) + ".attempt");
  std::string format, boot;
  pid_t recorded_keeper = 0, recorded_child = 0;
  uint64_t keeper_start = 0, child_start = 0;
  in >> format >> boot >> recorded_keeper >> keeper_start >> recorded_child >> child_start;
  EXPECT_EQ(recorded_keeper, keeper);
  EXPECT_EQ(recorded_child, leader[0]);
  EXPECT_EQ(keeper_start, ProcessStartTime(keeper).value_or(0));
  token->Fire(CancelReason::kUser);
  ASSERT_TRUE(outcome->Wait().has_value());
  EXPECT_EQ(RecordCount(records), 0u);
}

// The keeper is stopped when the server dies, so it cannot act on the server's death
// (as if it were still at its work when the next server starts): the next server's
// KillLeftoverAttempts has it kill the attempt, and waits for it.
TEST_P(ProcessContainmentTest, LeftoversOfACrashedServerAreKilledBeforeItStartsAgain) {
  std::optional<RecordedAttempt> attempt = StartRecordedAttempt();
  ASSERT_TRUE(attempt.has_value());
  ASSERT_EQ(kill(attempt->keeper, SIGSTOP), 0);
  ASSERT_TRUE(
      WaitUntil([&] { return ReadStat(attempt->keeper).value_or(ProcStat{}).state == 'T'; }));
  ASSERT_EQ(kill(attempt->server, SIGKILL), 0);
  ASSERT_TRUE(EventuallyDead([&] { return Alive(attempt->server); }));
  for (pid_t pid : attempt->escaped) {
    EXPECT_TRUE(Alive(pid)) << "the stopped keeper cannot have killed " << pid;
  }

  Result<LeftoverAttempts> found = KillLeftoverAttempts(attempt->records);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->records, 1u);
  EXPECT_EQ(found->running, 1u);
  EXPECT_FALSE(Alive(attempt->keeper));
  EXPECT_FALSE(Alive(attempt->leader));
  for (pid_t pid : attempt->escaped) {
    EXPECT_FALSE(Alive(pid)) << pid;
  }
  EXPECT_EQ(RecordCount(attempt->records), 0u);
  Reap(attempt->reaper);
}

// Keeper and server killed at once: only the attempt's cgroup still holds the processes
// that left the child's group.
TEST_P(ProcessContainmentTest, CgroupEndsWhatOutlivedTheKeeper) {
  if (GetParam() != ProcessContainment::kCgroup) {
    GTEST_SKIP() << "without a cgroup, a process that left the group is out of reach once "
                    "its keeper is killed";
  }
  std::optional<RecordedAttempt> attempt = StartRecordedAttempt();
  ASSERT_TRUE(attempt.has_value());
  ASSERT_EQ(kill(attempt->keeper, SIGKILL), 0);
  ASSERT_EQ(kill(attempt->server, SIGKILL), 0);
  ASSERT_TRUE(EventuallyDead([&] { return Alive(attempt->server); }));

  Result<LeftoverAttempts> found = KillLeftoverAttempts(attempt->records);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->running, 1u);
  EXPECT_TRUE(AllEventuallyDead(attempt->escaped));
  Reap(attempt->reaper);
}

TEST_P(ProcessContainmentTest, AttemptRunsInACgroupOfItsOwnRemovedAfterwards) {
  if (GetParam() != ProcessContainment::kCgroup) {
    GTEST_SKIP() << "cgroup containment only";
  }
  Result<ProcessResult> r = RunToEnd(Sh("grep '^0::' /proc/self/cgroup"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::string own;
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) {
      own = line.substr(3);
    }
  }
  const std::string child = r->stdout_text.substr(3, r->stdout_text.size() - 4);
  const std::string prefix = own == "/" ? "/stepwell-" : own + "/stepwell-";
  EXPECT_EQ(child.rfind(prefix, 0), 0u) << child;
  // runner_->containment_note() is "under <the server's cgroup directory>".
  const std::string root = runner_->containment_note().substr(6);
  const std::string dir = root + child.substr(own == "/" ? 0 : own.size());
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST(AttemptRecordsTest, RecordsOfAnotherBootOrOfAReusedPidKillNothing) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sw_records_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  const std::string self = std::to_string(getpid());
  const std::string start = std::to_string(ProcessStartTime(getpid()).value_or(0));
  // This very process, named with another boot's id, then with another start time.
  std::ofstream(tmpl + "/1.attempt") << "stepwell-attempt-1 0000-other-boot " << self << ' '
                                     << start << ' ' << self << ' ' << start << " -\n";
  std::ofstream(tmpl + "/2.attempt")
      << "stepwell-attempt-1 " << boot << ' ' << self << " 1 " << self << " 1 -\n";
  std::ofstream(tmpl + "/3.attempt") << "not a record\n";
  std::ofstream(tmpl + "/other-file") << "left alone\n";
  Result<LeftoverAttempts> found = KillLeftoverAttempts(tmpl);
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->records, 3u);
  EXPECT_EQ(found->running, 0u);
  EXPECT_FALSE(std::filesystem::exists(tmpl + "/1.attempt"));
  EXPECT_FALSE(std::filesystem::exists(tmpl + "/2.attempt"));
  EXPECT_FALSE(std::filesystem::exists(tmpl + "/3.attempt"));
  EXPECT_TRUE(std::filesystem::exists(tmpl + "/other-file"));
  std::filesystem::remove_all(tmpl);
}

TEST(AttemptRecordsTest, MissingDirectoryHasNoLeftovers) {
  Result<LeftoverAttempts> found = KillLeftoverAttempts("/nonexistent/sw-records");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->records, 0u);
}

INSTANTIATE_TEST_SUITE_P(Containments, ProcessContainmentTest,
                         ::testing::Values(ProcessContainment::kSubreaper,
                                           ProcessContainment::kCgroup),
                         ContainmentName);

}  // namespace
}  // namespace sw
