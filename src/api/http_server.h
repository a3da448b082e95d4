// HttpServer: the HTTP/1.1 server on Boost.Beast. It reads requests (bodies over the
// limit are answered 413 without reading them whole), hands each to one Handler as an
// Exchange, and writes answers in order, keeping connections alive.
//
// Thread-safe. Owns `threads` I/O threads; handlers run on them and may block
// briefly (a commit), never for long (long-polls use Exchange::After).
#pragma once

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
};

// Binds `listen` ("HOST:PORT"; port 0 picks one).
Result<std::unique_ptr<HttpServer>> MakeHttpServer(const std::string& listen, Handler handler,
                                                   int threads, size_t max_body_bytes);

}  // namespace sw
