// BeastHttpClient: the HttpClient on Boost.Beast/Asio with C++20 coroutines.
//
// Longer than our ~600-line guide on purpose: one request's coroutine, its deadline,
// TLS, redirects and the SSRF checks run on one strand and are read together.
//
// Each request is one coroutine on its own strand. Everything that touches the
// request's sockets (the coroutine, its deadline timer and the cancellation) runs on that
// strand, so a cancel from any thread is a post to the strand that closes the socket.
// `done` is delivered exactly once by RequestControl::Deliver, by whichever of the
// coroutine, the deadline or the cancellation comes first; the coroutine notices at its
// next step and unwinds without calling it again. A name lookup cannot be interrupted
// (getaddrinfo runs on Asio's resolver thread): a cancel or the deadline still answers at
// once, and the lookup's result is dropped when it arrives.
//
// Shutdown is a gate: the destructor stops every request in flight (its `done` gets
// kUnavailable "shutting_down" on an I/O thread), lets the io_context run out of work
// and joins the threads.

#include "engine/http_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/thread_name.h"
#include "engine/http_url.h"

namespace sw {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using Done = std::function<void(Result<HttpResponse>)>;
using RawResponse = http::response<http::string_body>;
using RawRequest = http::request<http::string_body>;

constexpr std::string_view kUserAgent = "stepwell/0.1";
// Response headers larger than this are refused like an oversized body.
constexpr uint32_t kMaxResponseHeader = 64 * 1024;
// Resolved addresses tried per hop.
constexpr size_t kMaxConnectAttempts = 8;
// A longer timeout is cut to this, which keeps the timer arithmetic far from overflow.
constexpr int64_t kMaxTimeoutMs = 24LL * 60 * 60 * 1000;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Status ConnectionError(std::string_view what, const beast::error_code& ec) {
  return Status(StatusCode::kUnavailable, std::string(what) + ": " + ec.message(),
                "connection_error");
}

Status TimedOut(int64_t timeout_ms) {
  return Status(StatusCode::kDeadlineExceeded,
                "request timed out after " + std::to_string(timeout_ms) + " ms", "timeout");
}

Status Cancelled() { return Status(StatusCode::kCancelled, "request cancelled", "cancelled"); }

Status ShuttingDown() {
  return Status(StatusCode::kUnavailable, "http client shut down", "shutting_down");
}

Status TargetNotAllowed(std::string_view host) {
  return Status(StatusCode::kPermissionDenied,
                "target " + std::string(host) + " resolves to a private address",
                "target_not_allowed");
}

Status ResponseTooLarge(std::string_view what) {
  return Status(StatusCode::kResourceExhausted, std::string(what), "response_too_large");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

// RFC 9110 tchar: the characters of a method or a header name.
bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

Status ValidateRequest(const HttpRequest& request) {
  if (!IsToken(request.method)) {
    return InvalidArgument("invalid http method \"" + request.method.substr(0, 100) + "\"");
  }
  for (const auto& [name, value] : request.headers) {
    if (!IsToken(name)) {
      return InvalidArgument("invalid http header name \"" + name.substr(0, 100) + "\"");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgument("http header " + name + " contains a line break or NUL");
    }
  }
  if (request.timeout_ms <= 0) {
    return InvalidArgument("timeout_ms must be positive");
  }
  return Status::Ok();
}

RawRequest BuildRequest(const HttpUrl& url, const std::string& method,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body) {
  RawRequest req;
  req.version(11);
  req.method_string(method);
  req.target(url.target);
  req.set(http::field::host, url.HostHeader());
  bool has_user_agent = false;
  for (const auto& [name, value] : headers) {
    // The client owns framing and the Host; a caller's values would contradict them.
    if (EqualsIgnoreCase(name, "host") || EqualsIgnoreCase(name, "content-length") ||
        EqualsIgnoreCase(name, "transfer-encoding")) {
      continue;
    }
    has_user_agent = has_user_agent || EqualsIgnoreCase(name, "user-agent");
    req.insert(name, value);
  }
  if (!has_user_agent) {
    req.set(http::field::user_agent, kUserAgent);
  }
  req.body() = body;
  req.prepare_payload();
  return req;
}

HttpResponse ToResponse(RawResponse raw) {
  HttpResponse out;
  out.status = static_cast<int>(raw.result_int());
  for (const auto& field : raw) {
    std::string name = Lower(field.name_string());
    auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
    if (!inserted) {
      it->second += ", ";
      it->second += field.value();
    }
  }
  out.body = std::move(raw.body());
  return out;
}

bool IsRedirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

class RequestControl;

// What the client shares with its requests. Outlives the io_context.
struct ClientState {
  std::mutex mu;
  bool alive = true;                                            // guarded by mu
  uint64_t next_id = 0;                                         // guarded by mu
  std::map<uint64_t, std::weak_ptr<RequestControl>> in_flight;  // guarded by mu
};

// RequestControl is shared (shared_ptr) by a request's coroutine, its deadline timer and
// the token's callback, which may outlive the client. Stop, Deliver, SetAbort and
// finished() run on the request's strand; PostStop and Unregister are thread-safe.
class RequestControl : public std::enable_shared_from_this<RequestControl> {
 public:
  RequestControl(std::shared_ptr<ClientState> client, uint64_t id, Strand strand, Done done)
      : client_(std::move(client)), id_(id), strand_(std::move(strand)), done_(std::move(done)) {}

  // Asks the request to stop with `why`. A no-op once the request is over.
  void PostStop(Status why) {
    std::lock_guard lock(client_->mu);
    if (!strand_) {
      return;
    }
    asio::post(*strand_, [self = shared_from_this(), why = std::move(why)]() mutable {
      self->Stop(std::move(why));
    });
  }

  // Closes whatever the request is waiting on, then answers `why`.
  void Stop(Status why) {
    if (delivered_) {
      return;
    }
    if (abort_) {
      abort_();
    }
    Deliver(std::move(why));
  }

  void Deliver(Result<HttpResponse> result) {
    if (delivered_) {
      return;
    }
    delivered_ = true;
    Done done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }

  bool finished() const { return delivered_; }

  // The way to interrupt the current wait (close the socket, cancel the resolver).
  void SetAbort(std::function<void()> abort) { abort_ = std::move(abort); }

  // Ends the request's registration. The strand copy goes too: it must not outlive the
  // io_context, and the token may keep this object alive longer than that.
  void Unregister() {
    std::lock_guard lock(client_->mu);
    client_->in_flight.erase(id_);
    strand_.reset();
  }

 private:
  const std::shared_ptr<ClientState> client_;
  const uint64_t id_;
  std::optional<Strand> strand_;  // guarded by client_->mu
  std::function<void()> abort_;   // strand only
  bool delivered_ = false;        // strand only
  Done done_;                     // strand only
};

// Sets the request's abort action for the life of a scope.
class AbortScope {
 public:
  AbortScope(RequestControl& ctl, std::function<void()> abort) : ctl_(ctl) {
    ctl_.SetAbort(std::move(abort));
  }
  ~AbortScope() { ctl_.SetAbort(nullptr); }
  AbortScope(const AbortScope&) = delete;
  AbortScope& operator=(const AbortScope&) = delete;

 private:
  RequestControl& ctl_;
};

// Ends a request however its coroutine ends: if the frame is destroyed before an answer
// (the io_context torn down), `done` still runs once.
class RequestScope {
 public:
  explicit RequestScope(std::shared_ptr<RequestControl> ctl) : ctl_(std::move(ctl)) {}
  ~RequestScope() {
    ctl_->Deliver(ShuttingDown());
    ctl_->Unregister();
  }
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  std::shared_ptr<RequestControl> ctl_;
};

// Closes the socket so that a pending operation completes and the peer sees the close.
void CloseSocket(beast::tcp_stream& stream) {
  beast::error_code ignored;
  stream.cancel();
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.close();
}

struct HopContext {
  RequestControl& ctl;
  ssl::context& ssl_ctx;
  TargetGuard& guard;
};

asio::awaitable<Result<std::vector<tcp::endpoint>>> Resolve(HopContext& hop, const HttpUrl& url) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  AbortScope scope(hop.ctl, [&resolver] { resolver.cancel(); });
  auto [ec, results] = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                       tcp::resolver::numeric_service, kTuple);
  if (hop.ctl.finished()) {
    co_return Cancelled();  // ignored: the answer is out
  }
  if (ec) {
    co_return ConnectionError("resolve " + url.host, ec);
  }
  std::vector<tcp::endpoint> allowed;
  for (const auto& entry : results) {
    if (!hop.guard.Allows(entry.endpoint().address())) {
      continue;
    }
    if (allowed.size() < kMaxConnectAttempts) {
      allowed.push_back(entry.endpoint());
    }
  }
  if (allowed.empty()) {
    if (results.empty()) {
      co_return Status(StatusCode::kUnavailable, "resolve " + url.host + ": no addresses",
                       "connection_error");
    }
    co_return TargetNotAllowed(url.host);
  }
  co_return allowed;
}

asio::awaitable<Status> Connect(HopContext& hop, beast::tcp_stream& stream,
                                const std::vector<tcp::endpoint>& endpoints) {
  beast::error_code last;
  std::string last_target;
  for (const tcp::endpoint& endpoint : endpoints) {
    auto [ec] = co_await stream.async_connect(endpoint, kTuple);
    if (hop.ctl.finished()) {
      co_return Cancelled();
    }
    if (!ec) {
      co_return Status::Ok();
    }
    last = ec;
    std::ostringstream target;
    target << endpoint;
    last_target = target.str();
    stream.close();
  }
  co_return ConnectionError("connect to " + last_target, last);
}

template <typename Stream>
asio::awaitable<Result<RawResponse>> Exchange(HopContext& hop, Stream& stream,
                                              const RawRequest& req) {
  auto [write_ec, written] = co_await http::async_write(stream, req, kTuple);
  if (hop.ctl.finished()) {
    co_return Cancelled();
  }
  if (write_ec) {
    co_return ConnectionError("write request", write_ec);
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  parser.header_limit(kMaxResponseHeader);
  parser.skip(req.method() == http::verb::head);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kTuple);
  if (hop.ctl.finished()) {
    co_return Cancelled();
  }
  if (read_ec == http::error::body_limit) {
    co_return ResponseTooLarge("response body too large");
  }
  if (read_ec == http::error::header_limit) {
    co_return ResponseTooLarge("response headers too large");
  }
  if (read_ec) {
    co_return ConnectionError("read response", read_ec);
  }
  co_return parser.release();
}

asio::awaitable<Result<RawResponse>> HttpsHop(HopContext& hop, const HttpUrl& url,
                                              const std::vector<tcp::endpoint>& endpoints,
                                              const RawRequest& req) {
  beast::ssl_stream<beast::tcp_stream> stream(co_await asio::this_coro::executor, hop.ssl_ctx);
  AbortScope scope(hop.ctl, [&stream] { CloseSocket(beast::get_lowest_layer(stream)); });
  Status connected = co_await Connect(hop, beast::get_lowest_layer(stream), endpoints);
  if (!connected.ok()) {
    co_return connected;
  }
  beast::error_code not_ip;
  asio::ip::make_address(url.host, not_ip);
  // SNI names a host; RFC 6066 leaves it out for an IP literal.
  if (not_ip && SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()) != 1) {
    co_return Status(StatusCode::kUnavailable, "tls: cannot set the server name",
                     "connection_error");
  }
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
  if (hop.ctl.finished()) {
    co_return Cancelled();
  }
  if (ec) {
    co_return ConnectionError("tls handshake with " + url.host, ec);
  }
  co_return co_await Exchange(hop, stream, req);
}

asio::awaitable<Result<RawResponse>> HttpHop(HopContext& hop,
                                             const std::vector<tcp::endpoint>& endpoints,
                                             const RawRequest& req) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  AbortScope scope(hop.ctl, [&stream] { CloseSocket(stream); });
  Status connected = co_await Connect(hop, stream, endpoints);
  if (!connected.ok()) {
    co_return connected;
  }
  co_return co_await Exchange(hop, stream, req);
}

// One request and response on a fresh connection, the target checked after resolution.
asio::awaitable<Result<RawResponse>> Hop(HopContext& hop, const HttpUrl& url,
                                         const RawRequest& req) {
  Result<std::vector<tcp::endpoint>> endpoints = co_await Resolve(hop, url);
  if (!endpoints.ok()) {
    co_return endpoints.status();
  }
  if (url.https) {
    co_return co_await HttpsHop(hop, url, *endpoints, req);
  }
  co_return co_await HttpHop(hop, *endpoints, req);
}

// Drops `names` (case-insensitive) from `headers`.
void EraseHeaders(std::vector<std::pair<std::string, std::string>>& headers,
                  std::initializer_list<std::string_view> names) {
  std::erase_if(headers, [&names](const auto& header) {
    return std::any_of(names.begin(), names.end(),
                       [&header](std::string_view n) { return EqualsIgnoreCase(header.first, n); });
  });
}

asio::awaitable<Result<HttpResponse>> Fetch(HopContext& hop, HttpRequest request) {
  Result<HttpUrl> url = ParseHttpUrl(request.url);
  if (!url.ok()) {
    co_return url.status();
  }
  for (int redirects = 0;; ++redirects) {
    RawRequest req = BuildRequest(*url, request.method, request.headers, request.body);
    Result<RawResponse> raw = co_await Hop(hop, *url, req);
    if (!raw.ok()) {
      co_return raw.status();
    }
    auto location = raw->find(http::field::location);
    if (!IsRedirect(raw->result_int()) || location == raw->end()) {
      co_return ToResponse(std::move(*raw));
    }
    if (redirects == kMaxRedirects) {
      co_return Status(StatusCode::kUnavailable,
                       "more than " + std::to_string(kMaxRedirects) + " redirects",
                       "too_many_redirects");
    }
    Result<HttpUrl> next = ResolveRedirect(*url, location->value());
    if (!next.ok()) {
      co_return Status(next.status().code(), "redirect: " + next.status().message(),
                       next.status().reason());
    }
    if (raw->result_int() == 303 && request.method != "HEAD") {
      request.method = "GET";
      request.body.clear();
      EraseHeaders(request.headers, {"content-type"});
    }
    if (next->Origin() != url->Origin()) {
      // Credentials are for the origin they were given for.
      EraseHeaders(request.headers, {"authorization", "proxy-authorization", "cookie"});
    }
    url = std::move(next);
  }
}

asio::awaitable<void> RunRequest(std::shared_ptr<RequestControl> ctl, HttpRequest request,
                                 bool cancelled_before_send, TargetGuard& guard,
                                 ssl::context& ssl_ctx) {
  RequestScope scope(ctl);
  if (cancelled_before_send) {
    ctl->Deliver(Cancelled());
    co_return;
  }
  Status valid = ValidateRequest(request);
  if (!valid.ok()) {
    ctl->Deliver(std::move(valid));
    co_return;
  }
  int64_t timeout_ms = std::min(request.timeout_ms, kMaxTimeoutMs);
  asio::steady_timer deadline(co_await asio::this_coro::executor);
  deadline.expires_after(std::chrono::milliseconds(timeout_ms));
  deadline.async_wait([ctl, timeout_ms](const beast::error_code& ec) {
    if (!ec) {
      ctl->Stop(TimedOut(timeout_ms));
    }
  });
  HopContext hop{*ctl, ssl_ctx, guard};
  Result<HttpResponse> result = Internal("http client: no result");
  try {
    result = co_await Fetch(hop, std::move(request));
  } catch (const std::exception& e) {
    result = Internal(std::string("http client: ") + e.what());
  } catch (...) {
    result = Internal("http client: unknown exception");
  }
  deadline.cancel();
  ctl->Deliver(std::move(result));
}

class BeastHttpClient final : public HttpClient {
 public:
  BeastHttpClient(std::unique_ptr<TargetGuard> guard, int threads)
      : guard_(std::move(guard)),
        state_(std::make_shared<ClientState>()),
        ssl_ctx_(ssl::context::tls_client),
        ioc_(std::max(threads, 1)),
        work_(asio::make_work_guard(ioc_)) {
    beast::error_code ignored;  // without default paths every peer fails verification
    ssl_ctx_.set_default_verify_paths(ignored);
    ssl_ctx_.set_verify_mode(ssl::verify_peer, ignored);
    for (int i = 0; i < std::max(threads, 1); ++i) {
      threads_.emplace_back([this] {
        NameThisThread("sw-http-out");
        ioc_.run();
      });
    }
  }

  ~BeastHttpClient() override {
    std::vector<std::shared_ptr<RequestControl>> in_flight;
    {
      std::lock_guard lock(state_->mu);
      state_->alive = false;
      for (auto& [id, weak] : state_->in_flight) {
        if (auto ctl = weak.lock()) {
          in_flight.push_back(std::move(ctl));
        }
      }
    }
    for (auto& ctl : in_flight) {
      ctl->PostStop(ShuttingDown());
    }
    in_flight.clear();
    work_.reset();
    for (std::thread& t : threads_) {
      t.join();
    }
  }

  void Send(HttpRequest request, std::shared_ptr<CancellationToken> token, Done done) override {
    Strand strand = asio::make_strand(ioc_);
    std::shared_ptr<RequestControl> ctl;
    {
      std::lock_guard lock(state_->mu);
      SW_CHECK(state_->alive);  // REQUIRES: not called during or after destruction
      uint64_t id = state_->next_id++;
      ctl = std::make_shared<RequestControl>(state_, id, strand, std::move(done));
      state_->in_flight.emplace(id, ctl);
    }
    bool cancelled = token != nullptr && token->fired();
    asio::co_spawn(strand, RunRequest(ctl, std::move(request), cancelled, *guard_, ssl_ctx_),
                   [](const std::exception_ptr& e) {
                     SW_CHECK(e == nullptr);  // only `done` can throw, and it must not
                   });
    if (token != nullptr && !cancelled) {
      token->OnFire([ctl] { ctl->PostStop(Cancelled()); });
    }
  }

 private:
  const std::unique_ptr<TargetGuard> guard_;  // outlives the I/O threads, joined first
  const std::shared_ptr<ClientState> state_;  // shared with every RequestControl
  ssl::context ssl_ctx_;                      // outlives the io_context's streams
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace

std::unique_ptr<HttpClient> MakeBeastHttpClient(bool allow_private_targets, int threads) {
  return MakeBeastHttpClient(MakeSystemTargetGuard(allow_private_targets), threads);
}

std::unique_ptr<HttpClient> MakeBeastHttpClient(std::unique_ptr<TargetGuard> guard, int threads) {
  return std::make_unique<BeastHttpClient>(std::move(guard), threads);
}

}  // namespace sw
