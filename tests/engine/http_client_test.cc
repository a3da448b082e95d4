#include "engine/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sw {
namespace {

using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

// Every wait in these tests is on an event; this only bounds a wait that would hang.
constexpr auto kGenerous = std::chrono::seconds(10);

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// A one-shot event that remembers when it happened.
class Event {
 public:
  void Notify() {
    std::lock_guard lock(mu_);
    if (!at_) {
      at_ = std::chrono::steady_clock::now();
    }
    cv_.notify_all();
  }
  // The time of the event, or nullopt when it did not happen within kGenerous.
  std::optional<SteadyTime> Wait() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kGenerous, [this] { return at_.has_value(); });
    return at_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<SteadyTime> at_;
};

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One accepted connection of a TestServer, plain or TLS.
class Conn {
 public:
  Conn(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}

  // Reads one request: the head, then a Content-Length body. False if the peer left.
  bool ReadRequest(ReceivedRequest& out) {
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore()) {
        return false;
      }
    }
    std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t sp1 = request_line.find(' ');
    size_t sp2 = request_line.find(' ', sp1 + 1);
    out.method = request_line.substr(0, sp1);
    out.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    while (line_end != std::string::npos) {
      size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      std::string line = head.substr(start, line_end - start);
      size_t colon = line.find(':');
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      out.headers.emplace(Lower(line.substr(0, colon)), value);
    }
    size_t length =
        out.Header("content-length").empty() ? 0 : std::stoul(out.Header("content-length"));
    while (buffer_.size() < length) {
      if (!ReadMore()) {
        return false;
      }
    }
    out.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return true;
  }

  bool Write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ssl_ != nullptr ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                                  : send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Blocks until the client closes the connection (EOF or reset). False if it did not
  // within kGenerous.
  bool WaitForPeerClose() {
    auto until = std::chrono::steady_clock::now() + kGenerous;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      int ready = poll(&p, 1, 1000);
      if (ready < 0) {
        return false;
      }
      if (ready == 1) {
        char c;
        ssize_t n = recv(fd_, &c, 1, 0);
        if (n <= 0) {
          return true;
        }
      }
    }
    return false;
  }

 private:
  bool ReadMore() {
    char chunk[4096];
    ssize_t n =
        ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof chunk) : recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  SSL* ssl_;
  std::string buffer_;
};

// A one-connection-at-a-time HTTP server on 127.0.0.1:0 in its own thread. `handler`
// answers each request (or not); the connection is closed when it returns.
class TestServer {
 public:
  using Handler = std::function<void(Conn&, const ReceivedRequest&)>;

  explicit TestServer(Handler handler, SSL_CTX* tls = nullptr)
      : handler_(std::move(handler)), tls_(tls) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listen_fd_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~TestServer() {
    shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    close(listen_fd_);
  }

  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int connections() const { return connections_; }
  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (true) {
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        return;
      }
      ++connections_;
      SSL* ssl = nullptr;
      bool ok = true;
      if (tls_ != nullptr) {
        ssl = SSL_new(tls_);
        SSL_set_fd(ssl, fd);
        ok = SSL_accept(ssl) == 1;
      }
      Conn conn(fd, ssl);
      ReceivedRequest request;
      if (ok && conn.ReadRequest(request)) {
        {
          std::lock_guard lock(mu_);
          requests_.push_back(request);
        }
        handler_(conn, request);
      }
      if (ssl != nullptr) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
      }
      close(fd);
    }
  }

  Handler handler_;
  SSL_CTX* tls_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<ReceivedRequest> requests_;  // guarded by mu_
  std::thread thread_;
};

std::string Response(int status, const std::string& body,
                     const std::vector<std::string>& extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  for (const std::string& h : extra_headers) {
    out += h + "\r\n";
  }
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return out;
}

TestServer::Handler Respond(int status, std::string body,
                            std::vector<std::string> extra_headers = {}) {
  return [=](Conn& conn, const ReceivedRequest&) {
    conn.Write(Response(status, body, extra_headers));
  };
}

// Collects `done` calls; each test checks there was exactly one.
class Completion {
 public:
  std::function<void(Result<HttpResponse>)> Callback() {
    return [this](Result<HttpResponse> result) {
      std::lock_guard lock(mu_);
      ++calls_;
      if (!result_) {
        result_.emplace(std::move(result));
        at_ = std::chrono::steady_clock::now();
      }
      cv_.notify_all();
    };
  }

  // The first answer; a failed test and an Internal status if none came within kGenerous.
  Result<HttpResponse> Wait() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, kGenerous, [this] { return result_.has_value(); })) {
      ADD_FAILURE() << "done was not called";
      return Internal("done was not called");
    }
    return *result_;
  }

  SteadyTime at() const {
    std::lock_guard lock(mu_);
    return at_;
  }
  int calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;                               // guarded by mu_
  std::optional<Result<HttpResponse>> result_;  // guarded by mu_
  SteadyTime at_;                               // guarded by mu_
};

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  request.timeout_ms = 5000;
  return request;
}

// Sends `request` on a fresh client, waits for the answer, then destroys the client and
// checks that `done` ran exactly once.
Result<HttpResponse> Fetch(HttpRequest request, bool allow_private = true,
                           std::shared_ptr<CancellationToken> token = nullptr) {
  Completion completion;
  Result<HttpResponse> result = Internal("unset");
  {
    std::unique_ptr<HttpClient> client = MakeBeastHttpClient(allow_private, 2);
    client->Send(std::move(request), std::move(token), completion.Callback());
    result = completion.Wait();
  }
  EXPECT_EQ(completion.calls(), 1);
  return result;
}

void ExpectError(const Result<HttpResponse>& result, StatusCode code, const std::string& api_code) {
  ASSERT_FALSE(result.ok()) << "status " << result->status;
  EXPECT_EQ(result.status().code(), code) << result.status().message();
  EXPECT_EQ(result.status().reason(), api_code) << result.status().message();
}

long long Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<milliseconds>(d).count();
}

class HttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { std::signal(SIGPIPE, SIG_IGN); }
};

TEST(IsPrivateAddress, RefusesLoopbackPrivateLinkLocalAndMetadata) {
  for (const char* address : {"127.0.0.1",
                              "127.255.255.254",
                              "10.0.0.1",
                              "10.255.255.255",
                              "172.16.0.1",
                              "172.31.255.255",
                              "192.168.0.1",
                              "192.168.255.255",
                              "169.254.0.1",
                              "169.254.169.254",
                              "100.64.0.1",
                              "100.127.255.255",
                              "100.100.100.200",
                              "0.0.0.0",
                              "0.1.2.3",
                              "192.0.0.192",
                              "224.0.0.1",
                              "255.255.255.255",
                              "168.63.129.16",
                              "198.18.0.1",
                              "::1",
                              "::",
                              "fc00::1",
                              "fd12:3456::1",
                              "fd00:ec2::254",
                              "fe80::1",
                              "febf::1",
                              "fe80::1%1",
                              "ff02::1",
                              "::ffff:127.0.0.1",
                              "::ffff:10.1.2.3",
                              "::ffff:169.254.169.254",
                              "::ffff:7f00:1",
                              "::127.0.0.1",
                              "64:ff9b::10.0.0.1",
                              "64:ff9b::a9fe:a9fe",
                              "2002:c0a8:0101::1",
                              "not an address",
                              "",
                              "[::1]",
                              "127.1",
                              "0177.0.0.1",
                              "2130706433"}) {
    EXPECT_TRUE(IsPrivateAddress(address)) << address;
  }
}

TEST(IsPrivateAddress, AllowsPublicAddresses) {
  for (const char* address : {"8.8.8.8",
                              "1.1.1.1",
                              "93.184.216.34",
                              "172.15.255.255",
                              "172.32.0.0",
                              "192.167.255.255",
                              "192.169.0.0",
                              "100.63.255.255",
                              "100.128.0.0",
                              "169.253.255.255",
                              "169.255.0.0",
                              "11.0.0.0",
                              "126.255.255.255",
                              "128.0.0.0",
                              "223.255.255.255",
                              "2001:4860:4860::8888",
                              "2606:4700:4700::1111",
                              "::ffff:8.8.8.8",
                              "64:ff9b::8.8.8.8",
                              "2002:0808:0808::1",
                              "fbff::1",
                              "2a00:1450:4001::200e"}) {
    EXPECT_FALSE(IsPrivateAddress(address)) << address;
  }
}

TEST_F(HttpClientTest, GetReturnsStatusHeadersAndBody) {
  TestServer server(Respond(
      200, "hello", {"Content-Type: text/plain", "X-Multi: a", "x-multi: b", "X-Single: c"}));
  Result<HttpResponse> result = Fetch(Get(server.Url("/path?q=1")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "hello");
  EXPECT_EQ(result->headers["content-type"], "text/plain");
  EXPECT_EQ(result->headers["x-multi"], "a, b");
  EXPECT_EQ(result->headers["x-single"], "c");
  EXPECT_EQ(result->headers["content-length"], "5");
  for (const auto& [name, value] : result->headers) {
    EXPECT_EQ(name, Lower(name));
  }
  std::vector<ReceivedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/path?q=1");
  EXPECT_EQ(requests[0].Header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(requests[0].Header("user-agent"), "stepwell/0.1");
  EXPECT_EQ(requests[0].body, "");
}

TEST_F(HttpClientTest, PostSendsBodyAndHeaders) {
  TestServer server(Respond(201, "created"));
  HttpRequest request = Get(server.Url("/items"));
  request.method = "POST";
  request.body = R"({"a":1})";
  request.headers = {{"Content-Type", "application/json"},
                     {"X-Custom", "v1"},
                     {"User-Agent", "mine/1"},
                     {"Content-Length", "999"}};
  Result<HttpResponse> result = Fetch(request);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, 201);
  EXPECT_EQ(result->body, "created");
  std::vector<ReceivedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const ReceivedRequest& got = requests[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/items");
  EXPECT_EQ(got.body, R"({"a":1})");
  EXPECT_EQ(got.Header("content-length"), "7");
  EXPECT_EQ(got.headers.count("content-length"), 1u);
  EXPECT_EQ(got.Header("content-type"), "application/json");
  EXPECT_EQ(got.Header("x-custom"), "v1");
  EXPECT_EQ(got.Header("user-agent"), "mine/1");
  EXPECT_EQ(got.headers.count("user-agent"), 1u);
}

TEST_F(HttpClientTest, NotFoundIsAResponseNotAnError) {
  TestServer server(Respond(404, "no such thing"));
  Result<HttpResponse> result = Fetch(Get(server.Url("/missing")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(result->body, "no such thing");
}

TEST_F(HttpClientTest, SlowServerTimesOutAndSeesTheConnectionClose) {
  Event peer_closed;
  TestServer server([&](Conn& conn, const ReceivedRequest&) {
    if (conn.WaitForPeerClose()) {
      peer_closed.Notify();
    }
  });
  HttpRequest request = Get(server.Url("/slow"));
  request.timeout_ms = 200;
  SteadyTime start = std::chrono::steady_clock::now();
  Result<HttpResponse> result = Fetch(request);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ExpectError(result, StatusCode::kDeadlineExceeded, "timeout");
  EXPECT_EQ(result.status().message(), "request timed out after 200 ms");
  EXPECT_GE(Ms(elapsed), 200);
  EXPECT_LT(Ms(elapsed), 5000);
  EXPECT_TRUE(peer_closed.Wait().has_value()) << "the server never saw the connection close";
}

TEST_F(HttpClientTest, TimeoutCoversEveryRedirectHop) {
  Event peer_closed;
  TestServer server([&](Conn& conn, const ReceivedRequest& request) {
    if (request.target == "/start") {
      conn.Write(Response(302, "", {"Location: /slow"}));
    } else if (conn.WaitForPeerClose()) {
      peer_closed.Notify();
    }
  });
  HttpRequest request = Get(server.Url("/start"));
  request.timeout_ms = 300;
  ExpectError(Fetch(request), StatusCode::kDeadlineExceeded, "timeout");
  EXPECT_TRUE(peer_closed.Wait().has_value());
  EXPECT_EQ(server.requests().size(), 2u);
}

// The key guarantee: a cancel closes the socket at once, so the remote end sees it.
TEST_F(HttpClientTest, CancelDuringRequestClosesTheConnectionPromptly) {
  Event request_arrived;
  Event peer_closed;
  TestServer server([&](Conn& conn, const ReceivedRequest&) {
    request_arrived.Notify();
    if (conn.WaitForPeerClose()) {
      peer_closed.Notify();
    }
  });
  auto token = std::make_shared<CancellationToken>();
  Completion completion;
  std::unique_ptr<HttpClient> client = MakeBeastHttpClient(true, 2);
  HttpRequest request = Get(server.Url("/slow"));
  request.timeout_ms = 60000;
  client->Send(request, token, completion.Callback());
  ASSERT_TRUE(request_arrived.Wait().has_value());

  SteadyTime fired = std::chrono::steady_clock::now();
  std::thread([token] { token->Fire(CancelReason::kUser); }).join();  // from another thread
  Result<HttpResponse> result = completion.Wait();
  std::optional<SteadyTime> closed = peer_closed.Wait();

  ExpectError(result, StatusCode::kCancelled, "cancelled");
  EXPECT_EQ(result.status().message(), "request cancelled");
  ASSERT_TRUE(closed.has_value()) << "the server never saw the connection close";
  auto close_latency = *closed - fired;
  auto done_latency = completion.at() - fired;
  EXPECT_LT(Ms(close_latency), 1000);
  EXPECT_LT(Ms(done_latency), 1000);
  std::printf("cancel -> server saw close: %lld us; cancel -> done: %lld us\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(close_latency).count()),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(done_latency).count()));
  token->Fire(CancelReason::kUser);  // a second fire changes nothing
  client.reset();
  EXPECT_EQ(completion.calls(), 1);
}

TEST_F(HttpClientTest, TokenFiredBeforeSendAnswersWithoutConnecting) {
  TestServer server(Respond(200, "x"));
  auto token = std::make_shared<CancellationToken>();
  token->Fire(CancelReason::kShutdown);
  ExpectError(Fetch(Get(server.Url("/")), true, token), StatusCode::kCancelled, "cancelled");
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(HttpClientTest, CancelAfterCompletionDoesNothing) {
  TestServer server(Respond(200, "x"));
  auto token = std::make_shared<CancellationToken>();
  Completion completion;
  std::unique_ptr<HttpClient> client = MakeBeastHttpClient(true, 1);
  client->Send(Get(server.Url("/")), token, completion.Callback());
  Result<HttpResponse> result = completion.Wait();
  ASSERT_TRUE(result.ok()) << result.status().message();
  token->Fire(CancelReason::kUser);
  client.reset();
  token->Fire(CancelReason::kUser);  // after the client is gone: still harmless
  EXPECT_EQ(completion.calls(), 1);
}

TEST_F(HttpClientTest, DestroyingTheClientAnswersRequestsInFlight) {
  Event request_arrived;
  Event peer_closed;
  TestServer server([&](Conn& conn, const ReceivedRequest&) {
    request_arrived.Notify();
    if (conn.WaitForPeerClose()) {
      peer_closed.Notify();
    }
  });
  auto token = std::make_shared<CancellationToken>();
  Completion completion;
  std::unique_ptr<HttpClient> client = MakeBeastHttpClient(true, 2);
  HttpRequest request = Get(server.Url("/slow"));
  request.timeout_ms = 60000;
  client->Send(request, token, completion.Callback());
  ASSERT_TRUE(request_arrived.Wait().has_value());
  client.reset();
  EXPECT_EQ(completion.calls(), 1);
  ExpectError(completion.Wait(), StatusCode::kUnavailable, "shutting_down");
  EXPECT_TRUE(peer_closed.Wait().has_value());
  token->Fire(CancelReason::kUser);  // the token outlives the client
  EXPECT_EQ(completion.calls(), 1);
}

TEST_F(HttpClientTest, PrivateTargetRefusedWhenNotAllowed) {
  TestServer server(Respond(200, "secret"));
  std::string port = std::to_string(server.port());
  for (const std::string& url : {server.Url("/"), "http://localhost:" + port + "/",
                                 "http://[::1]:" + port + "/", "http://2130706433:" + port + "/"}) {
    Result<HttpResponse> result = Fetch(Get(url), /*allow_private=*/false);
    ExpectError(result, StatusCode::kPermissionDenied, "target_not_allowed");
    EXPECT_NE(result.status().message().find("resolves to a private address"), std::string::npos)
        << result.status().message();
  }
  Result<HttpResponse> result = Fetch(Get(server.Url("/")), /*allow_private=*/false);
  EXPECT_EQ(result.status().message(), "target 127.0.0.1 resolves to a private address");
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(HttpClientTest, PrivateTargetAllowedWhenAllowed) {
  TestServer server(Respond(200, "internal"));
  Result<HttpResponse> result = Fetch(Get(server.Url("/")), /*allow_private=*/true);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->body, "internal");
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpClientTest, RedirectsAreFollowed) {
  int port = 0;
  TestServer server([&port](Conn& conn, const ReceivedRequest& request) {
    if (request.target == "/start") {
      conn.Write(Response(302, "", {"Location: next?x=1"}));
    } else if (request.target == "/next?x=1") {
      conn.Write(
          Response(301, "", {"Location: http://127.0.0.1:" + std::to_string(port) + "/abs"}));
    } else if (request.target == "/abs") {
      conn.Write(Response(308, "", {"Location: /final#fragment"}));
    } else {
      conn.Write(Response(200, "arrived at " + request.target));
    }
  });
  port = server.port();
  Result<HttpResponse> result = Fetch(Get(server.Url("/start")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "arrived at /final");
  EXPECT_EQ(server.requests().size(), 4u);
}

// Answers 302 to each Location in `locations` in turn (one per request), then 200
// with the target it was asked for.
TestServer::Handler RedirectsThrough(std::vector<std::string> locations) {
  auto next = std::make_shared<size_t>(0);
  return [locations = std::move(locations), next](Conn& conn, const ReceivedRequest& request) {
    if (*next < locations.size()) {
      conn.Write(Response(302, "", {"Location: " + locations[(*next)++]}));
    } else {
      conn.Write(Response(200, request.target));
    }
  };
}

// The targets the server was asked for, in order.
std::vector<std::string> TargetsOf(const TestServer& server) {
  std::vector<std::string> targets;
  for (const ReceivedRequest& r : server.requests()) {
    targets.push_back(r.target);
  }
  return targets;
}

TEST_F(HttpClientTest, RedirectTargetsResolveWithDotSegmentsRemoved) {
  TestServer server(RedirectsThrough(
      {"../c/./d", "./e/../f?x=1", "../../../../../g", "/h/%2E%2E/i/.", "j/../?only=query"}));
  Result<HttpResponse> result = Fetch(Get(server.Url("/a/b/start")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(TargetsOf(server), (std::vector<std::string>{"/a/b/start", "/a/c/d", "/a/c/f?x=1", "/g",
                                                         "/i/", "/i/?only=query"}));
  EXPECT_EQ(result->body, "/i/?only=query");
}

TEST_F(HttpClientTest, SchemeRelativeRedirectKeepsTheScheme) {
  TestServer target(Respond(200, "there"));
  const std::string authority = "127.0.0.1:" + std::to_string(target.port());
  TestServer origin(RedirectsThrough({"//" + authority + "/x/../there"}));
  Result<HttpResponse> result = Fetch(Get(origin.Url("/")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->body, "there");
  ASSERT_EQ(target.requests().size(), 1u);
  EXPECT_EQ(target.requests()[0].target, "/there");
}

TEST_F(HttpClientTest, EncodedSlashesAndPlusSurviveRequestsAndRedirects) {
  TestServer server(RedirectsThrough({"next/a%2Fb+c?q=a+b%2B"}));
  Result<HttpResponse> result = Fetch(Get(server.Url("/items/x%2Fy+z?p=1+2")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(TargetsOf(server),
            (std::vector<std::string>{"/items/x%2Fy+z?p=1+2", "/items/next/a%2Fb+c?q=a+b%2B"}));
}

TEST_F(HttpClientTest, DotSegmentsOfTheStepUrlAreRemoved) {
  TestServer server(Respond(200, "ok"));
  ASSERT_TRUE(Fetch(Get(server.Url("/a/./b/../../c/%2e%2E/d"))).ok());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/d");
}

TEST_F(HttpClientTest, CharactersOutsideRfc3986ArePercentEncodedNotRefused) {
  TestServer server(RedirectsThrough({"/r?f={\"a\"}|[1]&p=50%"}));
  Result<HttpResponse> result = Fetch(Get(server.Url("/s?a[]=1&b=x|y^z`")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(TargetsOf(server), (std::vector<std::string>{"/s?a%5B%5D=1&b=x%7Cy%5Ez%60",
                                                         "/r?f=%7B%22a%22%7D%7C%5B1%5D&p=50%25"}));
}

TEST_F(HttpClientTest, InvalidRedirectTargetIsInvalidUrl) {
  for (const std::string location :
       {"ftp://example.com/", "http://user:pw@example.com/", "http://exa$mple.com/",
        "http://[zz::1]/", "http://example.com:99999/", "http://"}) {
    TestServer server(RedirectsThrough({location}));
    Result<HttpResponse> result = Fetch(Get(server.Url("/")));
    ExpectError(result, StatusCode::kInvalidArgument, "invalid_url");
    EXPECT_EQ(result.status().message().rfind("redirect: ", 0), 0u) << result.status().message();
    EXPECT_EQ(server.requests().size(), 1u) << location;
  }
}

TEST_F(HttpClientTest, SeeOtherTurnsPostIntoGetWithoutBody) {
  TestServer server([](Conn& conn, const ReceivedRequest& request) {
    if (request.target == "/form") {
      conn.Write(Response(303, "", {"Location: /result"}));
    } else {
      conn.Write(Response(200, "ok"));
    }
  });
  HttpRequest request = Get(server.Url("/form"));
  request.method = "POST";
  request.body = "a=1";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  ASSERT_TRUE(Fetch(request).ok());
  std::vector<ReceivedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].body, "a=1");
  EXPECT_EQ(requests[1].method, "GET");
  EXPECT_EQ(requests[1].body, "");
  EXPECT_EQ(requests[1].Header("content-type"), "");
}

TEST_F(HttpClientTest, TemporaryRedirectKeepsMethodAndBody) {
  TestServer server([](Conn& conn, const ReceivedRequest& request) {
    if (request.target == "/old") {
      conn.Write(Response(307, "", {"Location: /new"}));
    } else {
      conn.Write(Response(200, "ok"));
    }
  });
  HttpRequest request = Get(server.Url("/old"));
  request.method = "PUT";
  request.body = "payload";
  ASSERT_TRUE(Fetch(request).ok());
  std::vector<ReceivedRequest> requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].body, "payload");
}

TEST_F(HttpClientTest, RedirectToAnotherOriginDropsCredentials) {
  TestServer target(Respond(200, "other origin"));
  TestServer origin([&target](Conn& conn, const ReceivedRequest&) {
    conn.Write(Response(302, "", {"Location: " + target.Url("/landing")}));
  });
  HttpRequest request = Get(origin.Url("/"));
  request.headers = {{"Authorization", "Bearer secret"}, {"Cookie", "s=1"}, {"X-Keep", "1"}};
  Result<HttpResponse> result = Fetch(request);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->body, "other origin");
  ASSERT_EQ(origin.requests().size(), 1u);
  EXPECT_EQ(origin.requests()[0].Header("authorization"), "Bearer secret");
  ASSERT_EQ(target.requests().size(), 1u);
  EXPECT_EQ(target.requests()[0].headers.count("authorization"), 0u);
  EXPECT_EQ(target.requests()[0].headers.count("cookie"), 0u);
  EXPECT_EQ(target.requests()[0].Header("x-keep"), "1");
}

// /hop/N redirects to /hop/N+1 until N reaches `last`, which answers 200.
TestServer::Handler RedirectChain(int last) {
  return [last](Conn& conn, const ReceivedRequest& request) {
    int n = std::stoi(request.target.substr(std::string("/hop/").size()));
    if (n < last) {
      conn.Write(Response(302, "", {"Location: /hop/" + std::to_string(n + 1)}));
    } else {
      conn.Write(Response(200, "end"));
    }
  };
}

TEST_F(HttpClientTest, FollowsExactlyMaxRedirects) {
  TestServer server(RedirectChain(kMaxRedirects));
  Result<HttpResponse> result = Fetch(Get(server.Url("/hop/0")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->body, "end");
  EXPECT_EQ(server.requests().size(), static_cast<size_t>(kMaxRedirects + 1));
}

TEST_F(HttpClientTest, OneRedirectTooManyIsAnError) {
  TestServer server(RedirectChain(kMaxRedirects + 1));
  ExpectError(Fetch(Get(server.Url("/hop/0"))), StatusCode::kUnavailable, "too_many_redirects");
  EXPECT_EQ(server.requests().size(), static_cast<size_t>(kMaxRedirects + 1));
}

TEST_F(HttpClientTest, InvalidUrlsAreRefusedBeforeConnecting) {
  for (const std::string url :
       {"", "127.0.0.1", "ftp://example.com/", "http//example.com", "http://", "http:///path",
        "http://exa mple.com/", "http://example.com/a b", "http://example.com:99999/",
        "http://example.com:0/", "http://example.com:8o/", "http://user:pw@example.com/",
        "http://[::1/", "http://[::1]x/", "http://[zz::1]/", "http://exa$mple.com/",
        "http://example.com/\r\nX-Injected: 1", "http://ex\xc3\xa4mple.com/"}) {
    Result<HttpResponse> result = Fetch(Get(url));
    ExpectError(result, StatusCode::kInvalidArgument, "invalid_url");
  }
}

TEST_F(HttpClientTest, HeaderInjectionIsInvalidArgument) {
  TestServer server(Respond(200, "x"));
  HttpRequest request = Get(server.Url("/"));
  request.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  ExpectError(Fetch(request), StatusCode::kInvalidArgument, "invalid_request");
  request.headers = {{"Bad Name", "v"}};
  ExpectError(Fetch(request), StatusCode::kInvalidArgument, "invalid_request");
  request.headers = {};
  request.method = "GET /x HTTP/1.1\r\n";
  ExpectError(Fetch(request), StatusCode::kInvalidArgument, "invalid_request");
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(HttpClientTest, NonPositiveTimeoutIsInvalidArgument) {
  TestServer server(Respond(200, "x"));
  for (int64_t timeout_ms : {0, -1}) {
    HttpRequest request = Get(server.Url("/"));
    request.timeout_ms = timeout_ms;
    ExpectError(Fetch(request), StatusCode::kInvalidArgument, "invalid_request");
  }
  EXPECT_EQ(server.connections(), 0);
}

TEST_F(HttpClientTest, BodyOfExactlyTheLimitIsKept) {
  TestServer server(Respond(200, std::string(kMaxResponseBody, 'x')));
  Result<HttpResponse> result = Fetch(Get(server.Url("/")));
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->body.size(), kMaxResponseBody);
}

TEST_F(HttpClientTest, DeclaredBodyOverTheLimitIsRefused) {
  TestServer server(Respond(200, std::string(kMaxResponseBody + 1, 'x')));
  Result<HttpResponse> result = Fetch(Get(server.Url("/")));
  ExpectError(result, StatusCode::kResourceExhausted, "response_too_large");
  EXPECT_EQ(result.status().message(), "response body too large");
}

TEST_F(HttpClientTest, StreamedBodyOverTheLimitIsRefused) {
  TestServer server([](Conn& conn, const ReceivedRequest&) {
    conn.Write("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    conn.Write(std::string(kMaxResponseBody + 1, 'x'));
  });
  Result<HttpResponse> result = Fetch(Get(server.Url("/")));
  ExpectError(result, StatusCode::kResourceExhausted, "response_too_large");
}

TEST_F(HttpClientTest, ConnectionRefusedIsConnectionError) {
  int port;
  {
    TestServer gone(Respond(200, ""));
    port = gone.port();
  }
  Result<HttpResponse> result = Fetch(Get("http://127.0.0.1:" + std::to_string(port) + "/"));
  ExpectError(result, StatusCode::kUnavailable, "connection_error");
  EXPECT_NE(result.status().message().find("connect to 127.0.0.1:"), std::string::npos)
      << result.status().message();
}

TEST_F(HttpClientTest, ServerClosingWithoutAnswerIsConnectionError) {
  TestServer server([](Conn&, const ReceivedRequest&) {});
  Result<HttpResponse> result = Fetch(Get(server.Url("/")));
  ExpectError(result, StatusCode::kUnavailable, "connection_error");
  EXPECT_EQ(result.status().message().rfind("read response: ", 0), 0u) << result.status().message();
}

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed certificate for `subject_alt_name` (e.g. "IP:127.0.0.1").
TestCert MakeSelfSignedCert(const std::string& subject_alt_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("stepwell test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, subject_alt_name},
                            std::pair{NID_basic_constraints, std::string("critical,CA:TRUE")}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_GT(X509_sign(cert, key, EVP_sha256()), 0);
  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data;
    long size = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(size));
    BIO_free(bio);
    return out;
  };
  TestCert out{to_pem([cert](BIO* b) { PEM_write_bio_X509(b, cert); }), to_pem([key](BIO* b) {
                 PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
               })};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

// A server-side TLS context presenting `cert`.
std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ServerContext(const TestCert& cert) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        &SSL_CTX_free);
  BIO* cert_bio = BIO_new_mem_buf(cert.cert_pem.data(), static_cast<int>(cert.cert_pem.size()));
  X509* x509 = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO* key_bio = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), x509), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key), 1);
  X509_free(x509);
  EVP_PKEY_free(key);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  return ctx;
}

// Fetches `url` on a client whose trust store is the system's or, when `trusted` is
// given, only that certificate (OpenSSL reads SSL_CERT_FILE when the client is built).
Result<HttpResponse> FetchTls(const std::string& url, const TestCert* trusted) {
  std::string path = ::testing::TempDir() + "/http_client_test_ca.pem";
  if (trusted != nullptr) {
    std::ofstream(path) << trusted->cert_pem;
    setenv("SSL_CERT_FILE", path.c_str(), 1);
  }
  Completion completion;
  Result<HttpResponse> result = Internal("unset");
  {
    std::unique_ptr<HttpClient> client = MakeBeastHttpClient(true, 1);
    unsetenv("SSL_CERT_FILE");
    client->Send(Get(url), nullptr, completion.Callback());
    result = completion.Wait();
  }
  EXPECT_EQ(completion.calls(), 1);
  std::remove(path.c_str());
  return result;
}

TEST_F(HttpClientTest, HttpsWithATrustedCertificateWorks) {
  TestCert cert = MakeSelfSignedCert("IP:127.0.0.1");
  auto tls = ServerContext(cert);
  TestServer server(Respond(200, "secure"), tls.get());
  Result<HttpResponse> result =
      FetchTls("https://127.0.0.1:" + std::to_string(server.port()) + "/s", &cert);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->body, "secure");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/s");
}

TEST_F(HttpClientTest, HttpsWithAnUntrustedCertificateFails) {
  TestCert cert = MakeSelfSignedCert("IP:127.0.0.1");
  auto tls = ServerContext(cert);
  TestServer server(Respond(200, "secure"), tls.get());
  Result<HttpResponse> result =
      FetchTls("https://127.0.0.1:" + std::to_string(server.port()) + "/", nullptr);
  ExpectError(result, StatusCode::kUnavailable, "connection_error");
  EXPECT_NE(result.status().message().find("tls handshake"), std::string::npos)
      << result.status().message();
  EXPECT_TRUE(server.requests().empty());
}

TEST_F(HttpClientTest, HttpsWithACertificateForAnotherHostFails) {
  TestCert cert = MakeSelfSignedCert("IP:10.9.9.9, DNS:example.com");
  auto tls = ServerContext(cert);
  TestServer server(Respond(200, "secure"), tls.get());
  Result<HttpResponse> result =
      FetchTls("https://127.0.0.1:" + std::to_string(server.port()) + "/", &cert);
  ExpectError(result, StatusCode::kUnavailable, "connection_error");
  EXPECT_TRUE(server.requests().empty());
}

}  // namespace
}  // namespace sw
