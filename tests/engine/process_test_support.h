// What the ProcessRunner tests share: a runner per test for each containment (the
// cgroup one skipped where the machine does not allow it), the answer of a Run() with
// when it came, and looks at processes in /proc.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/process_runner.h"

namespace sw::test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Every wait in these tests is on an event; this only bounds a wait that would hang.
// Background processes in the scenarios sleep far longer, so they cannot pass a bounded
// wait by ending on their own.
constexpr auto kGenerous = std::chrono::seconds(30);
constexpr const char* kLongSleep = "300";

inline const std::map<std::string, std::string> kPathOnly = {{"PATH", "/usr/bin:/bin"}};

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

inline ProcessSpec Sh(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = kPathOnly;
  return spec;
}

// /proc/<pid>/stat fields after the command: state, ppid, pgrp.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
};

inline std::optional<ProcStat> ReadStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return std::nullopt;
  }
  std::istringstream rest(line.substr(line.rfind(')') + 1));
  ProcStat stat;
  rest >> stat.state >> stat.ppid >> stat.pgrp;
  return stat;
}

// Dead: gone, or a zombie waiting for its parent (init here does not always reap).
inline bool Alive(pid_t pid) {
  std::optional<ProcStat> stat = ReadStat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X';
}

inline bool GroupAlive(pid_t pgid) {
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
inline bool EventuallyDead(const std::function<bool()>& alive) {
  auto until = Clock::now() + kGenerous;
  while (alive()) {
    if (Clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

inline bool IsCancelled(const Result<ProcessResult>& r) {
  return r.status().code() == StatusCode::kCancelled && r.status().reason() == "cancelled";
}

// Parameterized by the containment the runner is made with.
class ProcessRunnerTest : public ::testing::TestWithParam<ProcessContainment> {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw_proc_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = std::filesystem::canonical(tmpl);
    runner_ = MakeRunner();
    if (runner_ == nullptr) {
      GTEST_SKIP() << "no attempt cgroups here: " << cgroup_note_;
    }
  }

  // A runner with this test's containment; null when it is kCgroup and the machine does
  // not allow it.
  std::unique_ptr<ProcessRunner> MakeRunner(const std::string& record_dir = "") {
    ProcessRunnerOptions options;
    options.containment = GetParam();
    options.record_dir = record_dir;
    Result<std::unique_ptr<ProcessRunner>> made = MakeProcessRunner(options);
    if (!made.ok()) {
      cgroup_note_ = made.status().message();
      return nullptr;
    }
    return std::move(made).value();
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
  std::string cgroup_note_;
};

inline std::string ContainmentName(const ::testing::TestParamInfo<ProcessContainment>& info) {
  return info.param == ProcessContainment::kCgroup ? "Cgroup" : "Subreaper";
}

}  // namespace sw::test
