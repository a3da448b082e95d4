// ConnectionSlots counts the HTTP server's open connections against a cap and keeps the
// idle ones (between requests, or still reading one) in the order they became idle, so
// that a new connection at the cap takes the slot of the oldest idle one: a flood of
// connections that send nothing cannot lock out /healthz or a client that does send a
// request. Connections that are handling a request (a long-poll, an event stream) are
// never taken.
//
// Thread-safe. The evict callbacks run on the thread that calls EvictOldest, outside the
// lock; a callback must not close the connection there but hand the close to the
// connection's own thread, which then calls Release.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace sw {

// The connection cap derived from the descriptor limit: `fd_limit` minus the descriptors
// already open (`fds_open`: the store, the I/O threads' pollers, the clients) minus a
// reserve for work that opens descriptors later (step processes, HTTP steps, SMTP),
// clamped to [kMinConnections, kMaxConnections].
inline constexpr size_t kMinConnections = 8;
inline constexpr size_t kMaxConnections = 16384;
size_t MaxConnectionsFor(uint64_t fd_limit, size_t fds_open);

// MaxConnectionsFor this process: its descriptor limit (RLIMIT_NOFILE), what is open
// now, and `fds_to_come` more.
size_t DefaultMaxConnections(size_t fds_to_come = 0);

class ConnectionSlots {
 public:
  using IdleTicket = uint64_t;

  // REQUIRES: max >= 1.
  explicit ConnectionSlots(size_t max);

  // Called (outside the lock) by the first Release after a TryAcquire failed: the accept
  // loop that waits for a slot resumes. Set before the first connection.
  void SetOnFree(std::function<void()> on_free) { on_free_ = std::move(on_free); }

  // Takes a slot for a connection about to be accepted; false at the cap, and then the
  // next Release calls on_free (checked and set under one lock, so no wake-up is lost).
  bool TryAcquire();
  void Release();

  // The connection waits for (or reads) a request and may be evicted: `evict` is called
  // at most once, when it is the oldest idle connection and a slot is needed.
  IdleTicket MarkIdle(std::function<void()> evict);
  // The connection handles a request (or closes): no longer evictable. An unknown or
  // already evicted ticket is ignored.
  void MarkBusy(IdleTicket ticket);

  // Evicts up to `count` of the oldest idle connections; returns how many.
  size_t EvictOldest(size_t count);

  size_t max() const { return max_; }
  size_t open() const;
  size_t idle() const;

 private:
  const size_t max_;
  std::function<void()> on_free_;
  mutable std::mutex mu_;
  size_t open_ = 0;                                   // guarded by mu_
  bool waiting_ = false;                              // guarded by mu_
  IdleTicket next_ticket_ = 1;                        // guarded by mu_
  std::map<IdleTicket, std::function<void()>> idle_;  // guarded by mu_; oldest first
};

}  // namespace sw
