#include "engine/process_cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/process_spawn.h"

namespace sw {
namespace {

// rmdir of a cgroup whose last process has just been reaped may fail for a moment.
constexpr int kRemoveTries = 100;
constexpr auto kRemoveRetry = std::chrono::milliseconds(2);
// KillCgroup waits this long at most for the killed processes to be gone.
constexpr auto kKillWait = std::chrono::seconds(10);
constexpr auto kKillPoll = std::chrono::milliseconds(10);

Status Unavailable(const std::string& why) {
  return Status(StatusCode::kUnavailable, "no attempt cgroups: " + why);
}

// The server's cgroup v2 path ("0::/a/b" in /proc/self/cgroup), relative to the
// hierarchy's root.
Result<std::string> OwnCgroupPath() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) {
      return line.substr(3);
    }
  }
  return Unavailable("this process is in no cgroup v2 hierarchy");
}

// Where the cgroup v2 hierarchy is mounted, and which of its paths is the mount's root.
Result<std::pair<std::string, std::string>> Cgroup2Mount() {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) {
      continue;
    }
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    return std::pair{mount_point, root};
  }
  return Unavailable("cgroup2 is not mounted");
}

// Moves a forked child, which then exits, into the cgroup `dir`; true when that worked.
bool CanMoveInto(const std::string& dir) {
  UniqueFd procs(open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
  if (!procs.valid()) {
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    _exit(write(procs.get(), "0", 1) == 1 ? 0 : 1);  // async-signal-safe only
  }
  if (pid < 0) {
    return false;
  }
  int status = ReapBlocking(pid);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool Populated(const std::string& path) {
  std::ifstream in(path + "/cgroup.events");
  for (std::string key, value; in >> key >> value;) {
    if (key == "populated") {
      return value != "0";
    }
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<CgroupTree>> CgroupTree::Detect() {
  Result<std::string> own = OwnCgroupPath();
  if (!own.ok()) {
    return own.status();
  }
  Result<std::pair<std::string, std::string>> mount = Cgroup2Mount();
  if (!mount.ok()) {
    return mount.status();
  }
  const auto& [mount_point, mount_root] = *mount;
  std::string relative = *own;
  if (mount_root != "/" && relative.rfind(mount_root, 0) == 0) {
    relative = relative.substr(mount_root.size());
  }
  std::string root = mount_point + (relative == "/" ? "" : relative);
  if (access(root.c_str(), W_OK) != 0) {
    return Unavailable(root + " is not writable (not delegated to this user)");
  }
  auto tree = std::unique_ptr<CgroupTree>(new CgroupTree(root));
  Result<AttemptCgroup> probe = tree->Create();
  if (!probe.ok()) {
    return probe.status();
  }
  const bool has_kill = access((probe->path + "/cgroup.kill").c_str(), W_OK) == 0;
  const bool can_move = has_kill && CanMoveInto(probe->path);
  RemoveCgroup(probe->path);
  if (!has_kill) {
    return Unavailable("no cgroup.kill (Linux 5.14 or later is needed)");
  }
  if (!can_move) {
    return Unavailable("a process cannot be moved into a cgroup under " + root);
  }
  return tree;
}

Result<AttemptCgroup> CgroupTree::Create() {
  AttemptCgroup cgroup;
  cgroup.path = root_ + "/stepwell-" + std::to_string(getpid()) + "-" + std::to_string(next_++);
  if (mkdir(cgroup.path.c_str(), 0755) != 0 && errno != EEXIST) {
    return SpawnUnavailable("mkdir " + cgroup.path, errno);
  }
  cgroup.dir = UniqueFd(open(cgroup.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup.dir.valid()) {
    int err = errno;
    RemoveCgroup(cgroup.path);
    return SpawnUnavailable("open " + cgroup.path, err);
  }
  return cgroup;
}

bool RemoveCgroup(const std::string& path) {
  for (int i = 0; i < kRemoveTries; ++i) {
    if (rmdir(path.c_str()) == 0 || errno == ENOENT) {
      return true;
    }
    if (errno != EBUSY) {
      return false;
    }
    std::this_thread::sleep_for(kRemoveRetry);
  }
  return false;
}

Result<bool> KillCgroup(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0) {
    return false;
  }
  const bool populated = Populated(path);
  {
    std::ofstream kill(path + "/cgroup.kill");
    kill << "1";
  }
  const auto until = std::chrono::steady_clock::now() + kKillWait;
  while (Populated(path)) {
    if (std::chrono::steady_clock::now() > until) {
      return Status(StatusCode::kUnavailable, "processes of " + path + " outlived cgroup.kill");
    }
    std::this_thread::sleep_for(kKillPoll);
  }
  if (!RemoveCgroup(path)) {
    return Status(StatusCode::kUnavailable, "cannot remove " + path + ": " + ErrnoText(errno));
  }
  return populated;
}

}  // namespace sw
