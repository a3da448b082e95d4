// The HTTP server on a real loopback socket: how it reads requests (whole, in pieces,
// pipelined, cut short, over the limit), how it writes answers (ResponseBytes; an answer
// larger than the socket takes at once), its time limits, and its lifetime (stopped and
// destroyed with an accept in flight, as on SIGTERM: under AddressSanitizer a use after
// free in the destructor fails here).

#include "api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "api/http_request.h"

namespace sw {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::unique_ptr<HttpServer> Listen(HttpServerOptions options, Handler handler) {
  Result<std::unique_ptr<HttpServer>> server =
      MakeHttpServer("127.0.0.1:0", std::move(handler), options);
  EXPECT_TRUE(server.ok()) << server.status().message();
  return server.ok() ? std::move(*server) : nullptr;
}

std::unique_ptr<HttpServer> Listen(int threads) {
  HttpServerOptions options;
  options.threads = threads;
  return Listen(options, [](std::shared_ptr<Exchange>) {});
}

TEST(HttpServerTest, DestroyedAfterStopWithAnAcceptInFlight) {
  std::unique_ptr<HttpServer> server = Listen(2);
  ASSERT_NE(server, nullptr);
  server->Stop();
  server->Run();  // starts the accept and returns at once: the server is stopped
  server.reset();
}

TEST(HttpServerTest, DestroyedAfterRunIsStoppedFromAnotherThread) {
  std::unique_ptr<HttpServer> server = Listen(2);
  ASSERT_NE(server, nullptr);
  std::thread runner([&server] { server->Run(); });
  server->Stop();
  runner.join();
  server.reset();
}

TEST(ResponseBytesTest, WritesTheStatusLineHeadersLengthAndBody) {
  Response r;
  r.status = 201;
  r.headers = {{"Location", "/api/v1/runs/run_1"}, {"ETag", "\"3\""}};
  r.body = R"({"id":"run_1"})";
  EXPECT_EQ(ResponseBytes(r, /*keep_alive=*/true),
            "HTTP/1.1 201 Created\r\n"
            "Content-Type: application/json\r\n"
            "Location: /api/v1/runs/run_1\r\n"
            "ETag: \"3\"\r\n"
            "Content-Length: 14\r\n"
            "\r\n"
            R"({"id":"run_1"})");
}

TEST(ResponseBytesTest, SaysWhenTheConnectionEnds) {
  Response r;
  r.status = 413;
  r.body = "{}";
  EXPECT_EQ(ResponseBytes(r, /*keep_alive=*/false),
            "HTTP/1.1 413 Payload Too Large\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 2\r\n"
            "Connection: close\r\n"
            "\r\n"
            "{}");
}

TEST(ResponseBytesTest, AnswersWithoutABodyHaveNoLength) {
  Response no_content;
  no_content.status = 204;
  EXPECT_EQ(ResponseBytes(no_content, true), "HTTP/1.1 204 No Content\r\n\r\n");
  Response not_modified;
  not_modified.status = 304;
  not_modified.content_type = "text/html";
  not_modified.headers = {{"ETag", "\"abc\""}};
  EXPECT_EQ(ResponseBytes(not_modified, true),
            "HTTP/1.1 304 Not Modified\r\nContent-Type: text/html\r\nETag: \"abc\"\r\n\r\n");
}

// A server on a thread of its own whose handler answers each request with its method,
// path and body (and, for the path /big, `big_body`).
class LoopbackServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options = {}) {
    server_ = Listen(options, [this](std::shared_ptr<Exchange> ex) {
      Response r;
      r.content_type = "text/plain";
      const Request& req = ex->request();
      r.body = req.path == "/big" ? big_body_ : req.method + " " + req.path + " " + req.body;
      ex->Respond(std::move(r));
    });
    ASSERT_NE(server_, nullptr);
    runner_ = std::thread([this] { server_->Run(); });
    const std::string address = server_->address();
    port_ = std::stoi(address.substr(address.rfind(':') + 1));
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Stop();
      runner_.join();
    }
  }

  // A connected socket (with a receive buffer of `receive_buffer` bytes, when not 0);
  // closed by the test's end.
  int Connect(int receive_buffer = 0) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {  // before connect, so that the window is small from the start
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fds_.push_back(fd);
    return fd;
  }

  static void Send(int fd, std::string_view bytes) {
    ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // What arrives within `wait` (until the server closes, or `until` bytes arrived).
  static std::string Receive(int fd, size_t until, milliseconds wait = milliseconds(5000)) {
    std::string got;
    const auto deadline = Clock::now() + wait;
    while (got.size() < until && Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0))) <= 0) {
        break;
      }
      char buf[65536];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

  static HttpServerOptions Timeouts(milliseconds header, milliseconds idle) {
    HttpServerOptions options;
    options.header_timeout = header;
    options.idle_timeout = idle;
    return options;
  }

  // The server closes `fd` (within 10 s), and no sooner than `at_least` after `since`.
  static void ExpectClosedNoSooner(int fd, Clock::time_point since, milliseconds at_least) {
    pollfd p{fd, POLLIN, 0};
    char c;
    EXPECT_TRUE(::poll(&p, 1, 10000) == 1 && ::recv(fd, &c, 1, 0) <= 0) << "not closed";
    EXPECT_GE(Clock::now() - since, at_least);
  }

  static std::string Answer(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  ~LoopbackServerTest() override {
    for (int fd : fds_) {
      ::close(fd);
    }
  }

  std::unique_ptr<HttpServer> server_;
  std::thread runner_;
  int port_ = 0;
  std::vector<int> fds_;
  std::string big_body_;
};

TEST_F(LoopbackServerTest, AnswersPipelinedRequestsInOrder) {
  Start();
  const int fd = Connect();
  Send(fd,
       "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
       "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
       "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string expected = Answer("GET /a ") + Answer("POST /b hello") + Answer("GET /c ");
  EXPECT_EQ(Receive(fd, expected.size()), expected);
}

TEST_F(LoopbackServerTest, ReadsARequestThatArrivesInPieces) {
  Start();
  const int fd = Connect();
  for (std::string_view piece : {"PO", "ST /pieces HTTP/1.1\r\nHo", "st: x\r\nContent-Len",
                                 "gth: 11\r\n\r\n", "hello", " world"}) {
    Send(fd, piece);
    // So that each piece is most likely a read of its own; the answer is the same if not.
    std::this_thread::sleep_for(milliseconds(20));
  }
  const std::string expected = Answer("POST /pieces hello world");
  EXPECT_EQ(Receive(fd, expected.size()), expected);
}

TEST_F(LoopbackServerTest, ReadsAChunkedBody) {
  Start();
  const int fd = Connect();
  Send(fd, "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
  std::this_thread::sleep_for(milliseconds(20));  // the rest most likely a read of its own
  Send(fd, "lo\r\n6\r\n world\r\n0\r\n\r\n");
  const std::string expected = Answer("POST /chunked hello world");
  EXPECT_EQ(Receive(fd, expected.size()), expected);
}

TEST_F(LoopbackServerTest, AnswersABodyOverTheLimit413AndCloses) {
  HttpServerOptions options;
  options.max_body_bytes = 16;
  Start(options);
  const int fd = Connect();
  Send(fd, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n");
  const std::string got = Receive(fd, SIZE_MAX);
  EXPECT_EQ(got.rfind("HTTP/1.1 413 Payload Too Large\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("payload_too_large"), std::string::npos) << got;
}

TEST_F(LoopbackServerTest, AnswersAMalformedRequest400AndCloses) {
  Start();
  const int fd = Connect();
  Send(fd, "GET /x HTTP/1.1\r\nHost x\r\n\r\n");
  const std::string got = Receive(fd, SIZE_MAX);
  EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("invalid_request"), std::string::npos) << got;
}

TEST_F(LoopbackServerTest, AnswersARequestCutShort400) {
  Start();
  const int fd = Connect();
  Send(fd, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf");
  ::shutdown(fd, SHUT_WR);
  const std::string got = Receive(fd, SIZE_MAX);
  EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got;
}

TEST_F(LoopbackServerTest, WritesAnAnswerLargerThanTheSocketTakesAtOnce) {
  big_body_.assign(8 << 20, 'x');
  for (size_t i = 0; i < big_body_.size(); i += 4096) {
    big_body_[i] = static_cast<char>('a' + (i / 4096) % 26);
  }
  Start();
  const int fd = Connect(/*receive_buffer=*/4096);
  Send(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  // 8 MiB is more than a loopback socket's buffers take: the server's first write is partial.
  const std::string expected = Answer(big_body_) + Answer("GET /after ");
  const std::string got = Receive(fd, expected.size(), milliseconds(30000));
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
}

TEST_F(LoopbackServerTest, ClosesASilentConnectionAfterTheHeaderTimeoutNotBefore) {
  Start(Timeouts(milliseconds(300), milliseconds(60000)));
  const auto start = Clock::now();
  ExpectClosedNoSooner(Connect(), start, milliseconds(290));
}

TEST_F(LoopbackServerTest, ClosesSlowHeadersAfterTheHeaderTimeout) {
  Start(Timeouts(milliseconds(300), milliseconds(60000)));
  const int fd = Connect();
  Send(fd, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string ok = Answer("GET /ok ");
  ASSERT_EQ(Receive(fd, ok.size()), ok);
  // The next request's headers begin and never end: the header timeout runs from their
  // first bytes, although the idle timeout between requests is a minute.
  const auto start = Clock::now();
  Send(fd, "GET /slow HTTP/1.1\r\n");
  ExpectClosedNoSooner(fd, start, milliseconds(290));
}

TEST_F(LoopbackServerTest, KeepsABusyConnectionAndClosesItOnceIdleTooLong) {
  Start(Timeouts(milliseconds(200), milliseconds(400)));
  const int fd = Connect();
  // Requests 100 ms apart for twice the idle timeout: each resets it. (Real time: the
  // server's time limits run on the steady clock, which no fake clock drives.)
  for (int i = 0; i < 8; ++i) {
    Send(fd, "GET /busy HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string expected = Answer("GET /busy ");
    ASSERT_EQ(Receive(fd, expected.size()), expected) << "request " << i;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ExpectClosedNoSooner(fd, Clock::now(), milliseconds(290));  // 400 less the 100 slept
}

}  // namespace
}  // namespace sw
