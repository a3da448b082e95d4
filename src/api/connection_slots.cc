#include "api/connection_slots.h"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "core/result.h"

namespace sw {

namespace {

// Descriptors kept free for work that opens them after start-up: an attempt of a shell
// step holds about eight while it runs, an http step one socket, SMTP one. A quarter of
// the limit, within these bounds.
constexpr uint64_t kMinReservedFds = 64;
constexpr uint64_t kMaxReservedFds = 1024;

}  // namespace

size_t MaxConnectionsFor(uint64_t fd_limit, size_t fds_open) {
  const uint64_t reserve = std::clamp<uint64_t>(fd_limit / 4, kMinReservedFds, kMaxReservedFds);
  const uint64_t taken = reserve + fds_open;
  const uint64_t free = fd_limit > taken ? fd_limit - taken : 0;
  return static_cast<size_t>(std::clamp<uint64_t>(free, kMinConnections, kMaxConnections));
}

size_t DefaultMaxConnections(size_t fds_to_come) {
  rlimit limit{};
  uint64_t fd_limit = 1024;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    fd_limit = limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : limit.rlim_cur;
  }
  size_t fds_open = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* entry = readdir(dir)) {
      fds_open += entry->d_name[0] != '.';
    }
    closedir(dir);
  }
  return MaxConnectionsFor(fd_limit, fds_open + fds_to_come);
}

ConnectionSlots::ConnectionSlots(size_t max) : max_(max) { SW_CHECK(max >= 1); }

bool ConnectionSlots::TryAcquire() {
  std::lock_guard lock(mu_);
  if (open_ >= max_) {
    waiting_ = true;
    return false;
  }
  ++open_;
  return true;
}

void ConnectionSlots::Release() {
  bool notify = false;
  {
    std::lock_guard lock(mu_);
    SW_CHECK(open_ > 0);
    --open_;
    notify = std::exchange(waiting_, false);
  }
  if (notify && on_free_) {
    on_free_();
  }
}

ConnectionSlots::IdleTicket ConnectionSlots::MarkIdle(std::function<void()> evict) {
  std::lock_guard lock(mu_);
  const IdleTicket ticket = next_ticket_++;
  idle_.emplace(ticket, std::move(evict));
  return ticket;
}

void ConnectionSlots::MarkBusy(IdleTicket ticket) {
  std::function<void()> dropped;  // destroyed outside the lock: it may own a connection
  std::lock_guard lock(mu_);
  auto it = idle_.find(ticket);
  if (it != idle_.end()) {
    dropped = std::move(it->second);
    idle_.erase(it);
  }
}

size_t ConnectionSlots::EvictOldest(size_t count) {
  std::vector<std::function<void()>> evicted;
  {
    std::lock_guard lock(mu_);
    while (evicted.size() < count && !idle_.empty()) {
      evicted.push_back(std::move(idle_.begin()->second));
      idle_.erase(idle_.begin());
    }
  }
  for (auto& evict : evicted) {
    evict();
  }
  return evicted.size();
}

size_t ConnectionSlots::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

size_t ConnectionSlots::idle() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

}  // namespace sw
