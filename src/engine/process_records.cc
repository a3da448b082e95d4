#include "engine/process_records.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/process_cgroup.h"
#include "engine/process_spawn.h"
#include "engine/unique_fd.h"

namespace sw {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRecordSuffix = ".attempt";
constexpr std::string_view kRecordFormat = "stepwell-attempt-1";
// How long a leftover keeper may take to kill its attempt, and a leftover child to die.
constexpr auto kKeeperWait = std::chrono::seconds(10);
constexpr auto kChildWait = std::chrono::seconds(5);
constexpr auto kPoll = std::chrono::milliseconds(10);
constexpr size_t kMaxRecordBytes = 64 * 1024;

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  in >> id;
  return id;
}

bool Runs(pid_t pid, uint64_t start) {
  std::optional<uint64_t> now = ProcessStartTime(pid);
  return now && *now == start;
}

bool WaitGone(pid_t pid, uint64_t start, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (Runs(pid, start)) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(kPoll);
  }
  return true;
}

struct StoredRecord {
  std::string boot_id;
  AttemptRecord attempt;
};

std::optional<StoredRecord> Parse(const std::string& text) {
  std::istringstream in(text);
  std::string format;
  StoredRecord r;
  in >> format >> r.boot_id >> r.attempt.keeper >> r.attempt.keeper_start >> r.attempt.child >>
      r.attempt.child_start;
  if (!in || format != kRecordFormat || r.attempt.keeper <= 1 || in.get() != ' ') {
    return std::nullopt;
  }
  std::string cgroup;
  std::getline(in, cgroup);
  if (cgroup.empty()) {
    return std::nullopt;
  }
  r.attempt.cgroup = cgroup == "-" ? "" : cgroup;
  return r;
}

// Ends what `r` names that still runs; true when something did.
bool EndAttempt(const AttemptRecord& r) {
  bool running = false;
  if (Runs(r.keeper, r.keeper_start)) {
    running = true;
    kill(r.keeper, SIGTERM);  // the keeper kills its attempt and exits
    kill(r.keeper, SIGCONT);
    if (!WaitGone(r.keeper, r.keeper_start, kKeeperWait)) {
      spdlog::warn("leftover keeper {} did not end its attempt in time: killed", r.keeper);
      kill(r.keeper, SIGKILL);
    }
  }
  if (r.child > 1 && Runs(r.child, r.child_start)) {
    running = true;
    kill(-r.child, SIGKILL);  // the child leads its group: the id is still its own
    kill(r.child, SIGKILL);
    WaitGone(r.child, r.child_start, kChildWait);
  }
  if (!r.cgroup.empty()) {
    Result<bool> killed = KillCgroup(r.cgroup);
    if (!killed.ok()) {
      spdlog::warn("leftover attempt cgroup: {}", killed.status().message());
    }
    running = running || (killed.ok() && *killed);
  }
  return running;
}

}  // namespace

std::optional<uint64_t> ProcessStartTime(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) {
    return std::nullopt;
  }
  // "pid (comm) state ppid ... starttime(22) ...": the command may hold spaces and ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) {
    return std::nullopt;
  }
  std::istringstream rest(line.substr(close + 2));
  std::string state, skip;
  rest >> state;
  if (state == "Z" || state == "X") {
    return std::nullopt;
  }
  for (int field = 4; field < 22; ++field) {
    rest >> skip;
  }
  uint64_t start = 0;
  if (!(rest >> start)) {
    return std::nullopt;
  }
  return start;
}

std::string AttemptRecords::Add(const AttemptRecord& record) const {
  if (dir_.empty()) {
    return "";
  }
  const std::string path = dir_ + "/" + std::to_string(record.keeper) + std::string(kRecordSuffix);
  std::ostringstream text;
  text << kRecordFormat << ' ' << BootId() << ' ' << record.keeper << ' ' << record.keeper_start
       << ' ' << record.child << ' ' << record.child_start << ' '
       << (record.cgroup.empty() ? "-" : record.cgroup) << '\n';
  const std::string bytes = text.str();
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid() || write(fd.get(), bytes.data(), bytes.size()) != ssize_t(bytes.size())) {
    unlink(path.c_str());
    return "";
  }
  return path;
}

void AttemptRecords::Remove(const std::string& path) const {
  if (!path.empty()) {
    unlink(path.c_str());
  }
}

Status CreateRecordDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status(StatusCode::kUnavailable, "cannot create " + dir + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

Result<LeftoverAttempts> KillLeftoverAttempts(const std::string& dir) {
  LeftoverAttempts found;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return found;
  }
  const std::string boot_id = BootId();
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != kRecordSuffix) {
      continue;
    }
    ++found.records;
    std::ifstream in(entry.path());
    std::string text(kMaxRecordBytes, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    std::optional<StoredRecord> record = Parse(text);
    if (!record) {
      spdlog::warn("unreadable attempt record {}: removed", entry.path().string());
    } else if (record->boot_id == boot_id && EndAttempt(record->attempt)) {
      ++found.running;
    }
    fs::remove(entry.path(), ec);
  }
  if (ec) {
    return Status(StatusCode::kUnavailable, "cannot read " + dir + ": " + ec.message());
  }
  return found;
}

}  // namespace sw
