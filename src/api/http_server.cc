#include "api/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/connection_slots.h"
#include "api/http_request.h"
#include "core/thread_name.h"

namespace sw {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A request's body may take this long after its headers.
constexpr auto kBodyTimeout = std::chrono::seconds(60);
// What a read of a request asks for; the buffer grows by this much while a request is
// longer (the parser's limits bound it).
constexpr size_t kReadBytes = 4096;
// The acceptor's pauses. At the cap it evicts the oldest idle connection and waits for a
// slot to free, looking again after kFullRetry at the latest (when no connection was
// idle). When accept fails (out of descriptors or memory, mostly) it waits
// kAcceptBackoffMin, doubling up to kAcceptBackoffMax while the failures go on: an
// accept retried at once would fail again at once, spinning a core.
constexpr auto kFullRetry = std::chrono::milliseconds(100);
constexpr auto kAcceptBackoffMin = std::chrono::milliseconds(10);
constexpr auto kAcceptBackoffMax = std::chrono::milliseconds(1000);
constexpr size_t kFdsPerIoContext = 3;

class Server;

// One connection. All its state is touched only on its io_context's thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server& server);
  void Start() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

  auto executor() { return socket_.get_executor(); }
  void WriteResponse(Response r, bool keep_alive, std::chrono::steady_clock::time_point start);
  void WriteRaw(std::string data, bool end_after);
  void Close();
  bool closed() const { return closed_.load(); }
  void AddTimer(std::shared_ptr<net::steady_timer> t) { timers_.push_back(std::move(t)); }
  // While an answer is deferred (a long-poll), notices the client hanging up: the
  // connection is closed, which fires the deferred callbacks early (they see Done()).
  void WatchForHangup();
  ~Session();

 private:
  using Clock = std::chrono::steady_clock;

  // A request is read in three phases, each with its own time limit: its first byte
  // (the idle timeout between requests; the header timeout on a new connection), its
  // headers (the header timeout), its body (kBodyTimeout). Until the request is whole the
  // connection is idle, i.e. it may be evicted for a new one at the cap. A request that
  // arrives whole in one read (the usual) is parsed from the buffer at once.
  enum class Phase { kFirstByte, kHeader, kBody };
  void DoRead();
  void ReadMore();
  void OnBytes();
  void OnReadFailed(beast::error_code ec);
  void OnRead(beast::error_code ec);
  void AfterResponse(bool keep_alive, Clock::time_point start);
  void FlushRaw();
  void MarkIdle();
  void MarkBusy();

  // The phase's time limit: one timer per connection, moved lazily. Setting a deadline
  // is a store; the timer, armed for the earliest it may be due, looks at the deadline
  // when it fires and arms itself again for a later one. So a busy connection sets no
  // timer per request (a timer set or cancelled per request is a timerfd update and a
  // completion to run).
  void SetDeadline(Clock::duration from_now);
  void ClearDeadline() { deadline_ = Clock::time_point::max(); }
  void ArmTimer(Clock::time_point at);
  void OnTimer();

  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  Phase phase_ = Phase::kFirstByte;
  Server& server_;
  std::atomic<bool> closed_{false};
  std::deque<std::string> raw_queue_;
  bool raw_writing_ = false;
  bool end_after_raw_ = false;
  std::vector<std::shared_ptr<net::steady_timer>> timers_;
  bool watching_ = false;
  bool first_request_ = true;
  net::steady_timer deadline_timer_;
  Clock::time_point deadline_ = Clock::time_point::max();  // max: none (a request in hand)
  std::optional<Clock::time_point> timer_at_;  // when the armed timer fires; none: not armed
  uint64_t timer_arming_ = 0;                  // which arming a firing belongs to
  // While idle: the ticket in the server's ConnectionSlots, and which idle spell it is
  // (an eviction meant for an earlier spell closes nothing).
  std::optional<ConnectionSlots::IdleTicket> idle_ticket_;
  uint64_t idle_spell_ = 0;
};

class ExchangeImpl final : public Exchange, public std::enable_shared_from_this<ExchangeImpl> {
 public:
  ExchangeImpl(std::shared_ptr<Session> session, Request req, bool keep_alive)
      : session_(std::move(session)),
        req_(std::move(req)),
        keep_alive_(keep_alive),
        start_(std::chrono::steady_clock::now()) {}

  const Request& request() const override { return req_; }

  void Respond(Response response) override {
    if (done_.exchange(true)) {
      return;
    }
    // Written at once when on the connection's thread: the send starts before the
    // handler goes on with anything else.
    net::dispatch(session_->executor(),
                  [s = session_, r = std::move(response), k = keep_alive_,
                   start = start_]() mutable { s->WriteResponse(std::move(r), k, start); });
  }

  void Post(std::function<void()> fn) override { net::post(session_->executor(), std::move(fn)); }

  void Dispatch(std::function<void()> fn) override {
    net::dispatch(session_->executor(), std::move(fn));
  }

  void After(int64_t ms, std::function<void()> fn) override {
    net::post(session_->executor(),
              [s = session_, ms, fn = std::move(fn), self = shared_from_this()]() mutable {
                auto timer = std::make_shared<net::steady_timer>(s->executor());
                timer->expires_after(std::chrono::milliseconds(ms));
                s->AddTimer(timer);
                s->WatchForHangup();
                // `fn` runs even when the connection closed first, so it can release what it
                // holds; it checks Done() itself.
                timer->async_wait([timer, fn = std::move(fn), self](beast::error_code) { fn(); });
              });
  }

  void StartStream(Response head) override {
    if (streaming_.exchange(true)) {
      return;
    }
    std::string text = "HTTP/1.1 " + std::to_string(head.status) +
                       " OK\r\nContent-Type: " + head.content_type + "\r\nConnection: close\r\n";
    for (const auto& [k, v] : head.headers) {
      text += k + ": " + v + "\r\n";
    }
    text += "\r\n";
    Send(std::move(text));
  }

  void Send(std::string chunk) override {
    net::post(session_->executor(),
              [s = session_, c = std::move(chunk)]() mutable { s->WriteRaw(std::move(c), false); });
  }

  void EndStream() override {
    if (done_.exchange(true)) {
      return;
    }
    net::post(session_->executor(), [s = session_] { s->WriteRaw("", true); });
  }

  bool Done() const override { return done_.load() || session_->closed(); }

 private:
  std::shared_ptr<Session> session_;
  Request req_;
  bool keep_alive_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> done_{false};
  std::atomic<bool> streaming_{false};
};

// One io_context per thread, each run by that thread alone, and connections dealt to
// them in turn: a request is read, handled and answered on one thread. (A shared
// io_context would have the thread that polls hand each ready socket to another.) A
// handler that waits holds the connections dealt to its thread, so handlers wait only
// for short things (a commit); longer waits are handed off (see Api). The acceptor has
// a thread of its own, so new connections are taken whatever the handlers do.
class Server final : public HttpServer {
 public:
  Server(Handler handler, const HttpServerOptions& options)
      : handler_(std::move(handler)), options_(options) {
    for (int i = 0; i < std::max(1, options.threads); ++i) {
      contexts_.push_back(std::make_unique<net::io_context>(1));
    }
    acceptor_.emplace(accept_context_);
  }

  // The accept in flight holds a socket of one of contexts_, which go before
  // accept_context_: its handler runs here (aborted) while that io_context still exists;
  // left queued, accept_context_'s destructor would move the socket after it.
  ~Server() override {
    beast::error_code ec;
    acceptor_->close(ec);
    accept_context_.restart();
    accept_context_.poll();
  }

  // Fixes the connection cap; once, before Run, with the listening socket open. Each I/O
  // thread's poller (epoll, eventfd, timerfd) is opened on its first connection: counted
  // as taken already.
  void LimitConnections(size_t requested) {
    const size_t fits = DefaultMaxConnections(kFdsPerIoContext * (contexts_.size() + 1));
    if (requested > fits) {
      spdlog::warn("--max-connections {} does not fit the descriptor limit (ulimit -n): using {}",
                   requested, fits);
    }
    slots_.emplace(requested == 0 ? fits : std::min(requested, fits));
    // The acceptor waits for this slot (DoAccept found none): it resumes at once. The
    // post runs after DoAccept has started the wait, both being on the acceptor's thread.
    slots_->SetOnFree([this] { net::post(accept_context_, [this] { accept_timer_.cancel(); }); });
  }

  Status Bind(const std::string& listen) {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgument("--listen must be HOST:PORT, got '" + listen + "'");
    }
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    beast::error_code ec;
    auto addr = net::ip::make_address(host, ec);
    if (ec) {
      return InvalidArgument("--listen host must be an IP address, got '" + host + "'");
    }
    int port = 0;
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (...) {
      return InvalidArgument("--listen port is not a number");
    }
    tcp::endpoint endpoint(addr, static_cast<unsigned short>(port));
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status(StatusCode::kUnavailable, "cannot listen on " + listen + ": " + ec.message());
    }
    auto local = acceptor_->local_endpoint();
    address_ = (local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                        : local.address().to_string()) +
               ":" + std::to_string(local.port());
    return Status::Ok();
  }

  std::string address() const override { return address_; }

  void Run() override {
    DoAccept();
    std::vector<std::thread> pool;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running;
    for (auto& ioc : contexts_) {
      keep_running.push_back(net::make_work_guard(*ioc));
      pool.emplace_back([&ioc, n = "sw-http-" + std::to_string(pool.size() + 1)] {
        NameThisThread(n);
        ioc->run();
      });
    }
    accept_context_.run();
    for (auto& t : pool) {
      t.join();
    }
  }

  void Stop() override {
    accept_context_.stop();
    for (auto& ioc : contexts_) {
      ioc->stop();
    }
  }

  HttpLatencyStats Latency() const override {
    std::lock_guard lock(stats_mu_);
    return latency_;
  }

  void Record(std::chrono::steady_clock::duration d) {
    const double seconds = std::chrono::duration<double>(d).count();
    static constexpr double kBounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25};
    std::lock_guard lock(stats_mu_);
    int bucket = HttpLatencyStats::kBuckets - 1;
    for (int i = 0; i < HttpLatencyStats::kBuckets - 1; ++i) {
      if (seconds <= kBounds[i]) {
        bucket = i;
        break;
      }
    }
    latency_.buckets[bucket]++;
    latency_.count++;
    latency_.sum_seconds += seconds;
  }

  size_t max_connections() const override { return slots_->max(); }

  const Handler& handler() const { return handler_; }
  size_t max_body() const { return options_.max_body_bytes; }
  std::chrono::milliseconds header_timeout() const { return options_.header_timeout; }
  std::chrono::milliseconds idle_timeout() const { return options_.idle_timeout; }
  ConnectionSlots& slots() { return *slots_; }

 private:
  // On accept_context_'s thread, like everything of the acceptor's below.
  void DoAccept() {
    if (!acceptor_->is_open()) {
      return;
    }
    if (!slots_->TryAcquire()) {
      slots_->EvictOldest(1);
      PauseAccept(kFullRetry);
      return;
    }
    net::io_context& next = *contexts_[next_context_++ % contexts_.size()];
    acceptor_->async_accept(next, [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        slots_->Release();
        if (ec != net::error::operation_aborted) {
          OnAcceptFailed(ec);
        }
        return;
      }
      accept_backoff_ = kAcceptBackoffMin;
      s.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(s), *this)->Start();
      DoAccept();
    });
  }

  void OnAcceptFailed(beast::error_code ec) {
    if (ec == net::error::no_descriptors || ec == std::errc::too_many_files_open_in_system ||
        ec == net::error::no_buffer_space || ec == net::error::no_memory) {
      slots_->EvictOldest(1);
    }
    if (accept_backoff_ == kAcceptBackoffMin) {
      spdlog::warn("accept failed: {} ({} connections open); retrying with back-off", ec.message(),
                   slots_->open());
    }
    PauseAccept(accept_backoff_);
    accept_backoff_ = std::min(accept_backoff_ * 2, kAcceptBackoffMax);
  }

  // Accepts again after `delay`, or sooner when the slot it waits for frees.
  void PauseAccept(std::chrono::milliseconds delay) {
    accept_timer_.expires_after(delay);
    accept_timer_.async_wait([this](beast::error_code) { DoAccept(); });
  }

  // Declared in this order so that the sessions, destroyed with contexts_, can still
  // release their slots and tell the acceptor.
  Handler handler_;
  const HttpServerOptions options_;
  net::io_context accept_context_{1};
  std::optional<ConnectionSlots> slots_;  // set by LimitConnections
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  size_t next_context_ = 0;  // used on accept_context_'s thread only
  std::optional<tcp::acceptor> acceptor_;
  net::steady_timer accept_timer_{accept_context_};
  std::chrono::milliseconds accept_backoff_ = kAcceptBackoffMin;  // accept thread only
  std::string address_;
  mutable std::mutex stats_mu_;
  HttpLatencyStats latency_;  // guarded by stats_mu_
};

Session::Session(tcp::socket socket, Server& server)
    : socket_(std::move(socket)), server_(server), deadline_timer_(socket_.get_executor()) {
  // Answers are written at once where the socket takes them; only the rest waits.
  beast::error_code ec;
  socket_.non_blocking(true, ec);
}

Session::~Session() {
  if (!closed_) {
    MarkBusy();
    server_.slots().Release();
  }
}

void Session::MarkIdle() {
  const uint64_t spell = ++idle_spell_;
  std::weak_ptr<Session> weak = weak_from_this();
  idle_ticket_ = server_.slots().MarkIdle([weak, spell, executor = socket_.get_executor()] {
    net::post(executor, [weak, spell] {
      std::shared_ptr<Session> self = weak.lock();
      if (self != nullptr && self->idle_ticket_ && self->idle_spell_ == spell) {
        self->Close();
      }
    });
  });
}

void Session::MarkBusy() {
  if (idle_ticket_) {
    server_.slots().MarkBusy(*idle_ticket_);
    idle_ticket_.reset();
  }
}

void Session::SetDeadline(Clock::duration from_now) {
  deadline_ = Clock::now() + from_now;
  if (!timer_at_ || deadline_ < *timer_at_) {
    ArmTimer(deadline_);
  }
}

void Session::ArmTimer(Clock::time_point at) {
  timer_at_ = at;
  const uint64_t arming = ++timer_arming_;
  deadline_timer_.expires_at(at);  // cancels the wait of an earlier arming
  deadline_timer_.async_wait([weak = weak_from_this(), arming](beast::error_code) {
    std::shared_ptr<Session> self = weak.lock();
    if (self != nullptr && self->timer_arming_ == arming) {
      self->OnTimer();
    }
  });
}

void Session::OnTimer() {
  timer_at_.reset();
  if (closed_ || deadline_ == Clock::time_point::max()) {
    return;  // armed again by the next deadline
  }
  if (Clock::now() >= deadline_) {
    Close();  // the client stayed silent, or too slow, too long
    return;
  }
  ArmTimer(deadline_);
}

void Session::DoRead() {
  parser_.emplace();
  LimitRequestParser(*parser_, server_.max_body());
  phase_ = Phase::kFirstByte;
  MarkIdle();
  if (buffer_.size() > 0) {
    OnBytes();  // a pipelined request has begun already
    return;
  }
  SetDeadline(first_request_ ? server_.header_timeout() : server_.idle_timeout());
  ReadMore();
}

void Session::ReadMore() {
  socket_.async_read_some(buffer_.prepare(kReadBytes),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->buffer_.commit(n);
                            if (ec) {
                              self->OnReadFailed(ec);
                              return;
                            }
                            self->OnBytes();
                          });
}

void Session::OnBytes() {
  first_request_ = false;
  beast::error_code ec;
  const auto bytes = buffer_.data();
  buffer_.consume(FeedRequestParser(
      *parser_, std::string_view(static_cast<const char*>(bytes.data()), bytes.size()), ec));
  if (ec || parser_->is_done()) {
    OnRead(ec);
    return;
  }
  // The rest of the request is on its way: the header timeout runs from its first
  // bytes, the body's from the end of its headers.
  if (!parser_->is_header_done() && phase_ != Phase::kHeader) {
    phase_ = Phase::kHeader;
    SetDeadline(server_.header_timeout());
  } else if (parser_->is_header_done() && phase_ != Phase::kBody) {
    phase_ = Phase::kBody;
    SetDeadline(kBodyTimeout);
  }
  ReadMore();
}

void Session::OnReadFailed(beast::error_code ec) {
  if (ec == net::error::eof && parser_->got_some()) {
    parser_->put_eof(ec);  // a request cut short: http::error::partial_message
    OnRead(ec);
    return;
  }
  Close();  // the client left, or the connection was closed (its time ran out)
}

void Session::OnRead(beast::error_code ec) {
  MarkBusy();
  ClearDeadline();
  if (ec == http::error::body_limit) {
    Response r;
    r.status = 413;
    r.body = R"({"error":{"code":"payload_too_large","message":"Request body exceeds )" +
             std::to_string(server_.max_body()) + R"( bytes"}})";
    WriteResponse(std::move(r), /*keep_alive=*/false, Clock::now());
    return;
  }
  if (ec) {
    Response r;
    r.status = 400;
    r.body = R"({"error":{"code":"invalid_request","message":"Malformed HTTP request"}})";
    WriteResponse(std::move(r), false, Clock::now());
    return;
  }
  auto msg = parser_->release();
  auto exchange =
      std::make_shared<ExchangeImpl>(shared_from_this(), ToRequest(msg), msg.keep_alive());
  try {
    server_.handler()(exchange);
  } catch (const std::exception& e) {
    spdlog::error("handler threw: {}", e.what());
    Response r;
    r.status = 500;
    r.body = R"({"error":{"code":"internal","message":"Internal error"}})";
    exchange->Respond(std::move(r));
  }
}

void Session::WriteResponse(Response r, bool keep_alive, Clock::time_point start) {
  if (closed_) {
    return;
  }
  // One write of the answer's bytes, prepared once; the socket's buffer takes a usual
  // answer whole, and only what it did not take is written when it can.
  std::string bytes = ResponseBytes(r, keep_alive);
  beast::error_code ec;
  size_t written = socket_.write_some(net::buffer(bytes), ec);
  if (ec == net::error::would_block || ec == net::error::try_again) {
    ec = {};
    written = 0;
  }
  if (ec) {
    Close();
    return;
  }
  if (written == bytes.size()) {
    AfterResponse(keep_alive, start);
    return;
  }
  auto rest = std::make_shared<std::string>(std::move(bytes));
  net::async_write(
      socket_, net::buffer(*rest) + written,
      [self = shared_from_this(), rest, keep_alive, start](beast::error_code ec, size_t) {
        if (ec) {
          self->Close();
          return;
        }
        self->AfterResponse(keep_alive, start);
      });
}

void Session::AfterResponse(bool keep_alive, Clock::time_point start) {
  server_.Record(Clock::now() - start);
  if (!keep_alive) {
    Close();
    return;
  }
  if (buffer_.size() > 0) {
    // A pipelined request: read on the next turn, so that a long pipeline does not
    // answer request after request deeper on this stack.
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
    return;
  }
  DoRead();
}

void Session::WriteRaw(std::string data, bool end_after) {
  if (closed_) {
    return;
  }
  if (!data.empty()) {
    raw_queue_.push_back(std::move(data));
  }
  end_after_raw_ = end_after_raw_ || end_after;
  if (!raw_writing_) {
    FlushRaw();
  }
}

void Session::FlushRaw() {
  if (raw_queue_.empty()) {
    raw_writing_ = false;
    if (end_after_raw_) {
      Close();
    }
    return;
  }
  raw_writing_ = true;
  auto data = std::make_shared<std::string>(std::move(raw_queue_.front()));
  raw_queue_.pop_front();
  net::async_write(socket_, net::buffer(*data),
                   [self = shared_from_this(), data](beast::error_code ec, size_t) {
                     if (ec) {
                       self->Close();
                       return;
                     }
                     self->FlushRaw();
                   });
}

void Session::WatchForHangup() {
  if (closed_ || watching_) {
    return;
  }
  watching_ = true;
  auto on_readable = [self = shared_from_this()](beast::error_code ec) {
    self->watching_ = false;
    if (ec || self->closed_) {
      return;
    }
    // Readable: the end of the stream (the client left), the next pipelined request
    // (it stays in the socket for the next read), or a spurious wake-up (watch again).
    // Never a blocking read: that would stall every connection on this thread.
    char byte;
    const ssize_t n = ::recv(self->socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      self->Close();
    } else if (n < 0) {
      self->WatchForHangup();
    }
  };
  socket_.async_wait(tcp::socket::wait_read, std::move(on_readable));
}

void Session::Close() {
  if (closed_.exchange(true)) {
    return;
  }
  MarkBusy();
  for (auto& t : timers_) {
    t->cancel();
  }
  timers_.clear();
  deadline_timer_.cancel();
  beast::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  server_.slots().Release();
}

}  // namespace

Result<std::unique_ptr<HttpServer>> MakeHttpServer(const std::string& listen, Handler handler,
                                                   const HttpServerOptions& options) {
  auto server = std::make_unique<Server>(std::move(handler), options);
  if (Status s = server->Bind(listen); !s.ok()) {
    return s;
  }
  server->LimitConnections(options.max_connections);
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace sw
