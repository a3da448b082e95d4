// HttpClient performs the `http` step's request: http or https (OpenSSL), a method,
// headers, a body, a timeout, redirects (at most kMaxRedirects), and an abort when
// the step's CancellationToken fires (the socket is closed, so the remote end sees the
// connection go). Targets are checked by a TargetGuard after name resolution and on
// every redirect: loopback, private, link-local, unique-local, unspecified and metadata
// addresses and the server's own interfaces' addresses are refused unless private
// targets are allowed.
//
// Thread-safe. Owns its I/O threads; `done` runs on one of them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/cancellation.h"
#include "engine/target_guard.h"

namespace sw {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ms = 30000;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// Largest response body kept (the step output limit).
inline constexpr size_t kMaxResponseBody = 1 << 20;
inline constexpr int kMaxRedirects = 5;

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Errors: kUnavailable (connect/read failures, reason "connection_error"),
  // kDeadlineExceeded with reason "timeout", kPermissionDenied with reason
  // "target_not_allowed", kCancelled with "cancelled" when the token fired.
  virtual void Send(HttpRequest request, std::shared_ptr<CancellationToken> token,
                    std::function<void(Result<HttpResponse>)> done) = 0;
};

// The real client on Boost.Beast. `threads` I/O threads; targets checked against this
// host's interfaces (MakeSystemTargetGuard).
std::unique_ptr<HttpClient> MakeBeastHttpClient(bool allow_private_targets, int threads);
// The same with the guard given (tests: a fake interface list).
std::unique_ptr<HttpClient> MakeBeastHttpClient(std::unique_ptr<TargetGuard> guard, int threads);

}  // namespace sw
