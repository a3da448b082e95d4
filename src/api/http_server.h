// HttpServer: the HTTP/1.1 server on Boost.Beast. It reads requests (bodies over the
// limit are answered 413 without reading them whole), hands each to one Handler as an
// Exchange, and writes answers in order, keeping connections alive.
//
// Bounded against floods: at most `max_connections` are open (below the descriptor
// limit); at the cap a new connection takes the place of the oldest idle one (see
// ConnectionSlots), and when accept fails for lack of descriptors the acceptor backs off
// instead of retrying at once. A request's headers must arrive within `header_timeout`
// of its first byte (or of the connection's opening), a kept-alive connection may stay
// idle `idle_timeout` between requests.
//
// Thread-safe. Owns `threads` I/O threads; handlers run on them and may block
// briefly (a commit), never for long (long-polls use Exchange::After).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "core/result.h"

namespace sw {

struct HttpLatencyStats {
  static constexpr int kBuckets = 8;  // <=0.5, 1, 2, 5, 10, 50, 250 ms, more
  uint64_t buckets[kBuckets] = {};
  uint64_t count = 0;
  double sum_seconds = 0;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // The bound address, e.g. "127.0.0.1:43123".
  virtual std::string address() const = 0;
  // Runs until Stop (blocks the caller).
  virtual void Run() = 0;
  virtual void Stop() = 0;
  virtual HttpLatencyStats Latency() const = 0;
  // The connection cap in force.
  virtual size_t max_connections() const = 0;
};

struct HttpServerOptions {
  int threads = 1;
  size_t max_body_bytes = 1 << 20;
  // 0: DefaultMaxConnections() (connection_slots.h). Larger values are cut to it.
  size_t max_connections = 0;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
};

// Binds `listen` ("HOST:PORT"; port 0 picks one).
Result<std::unique_ptr<HttpServer>> MakeHttpServer(const std::string& listen, Handler handler,
                                                   const HttpServerOptions& options);

}  // namespace sw
