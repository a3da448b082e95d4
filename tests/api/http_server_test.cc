// The HTTP server's lifetime: stopped and destroyed with an accept in flight, as on
// SIGTERM. The pending accept holds a socket of an I/O thread's io_context; under
// AddressSanitizer (make test-sanitize) a use after free in the destructor fails here.

#include "api/http_server.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <utility>

namespace sw {
namespace {

std::unique_ptr<HttpServer> Listen(int threads) {
  HttpServerOptions options;
  options.threads = threads;
  Result<std::unique_ptr<HttpServer>> server = MakeHttpServer(
      "127.0.0.1:0", [](std::shared_ptr<Exchange>) {}, options);
  EXPECT_TRUE(server.ok()) << server.status().message();
  return server.ok() ? std::move(*server) : nullptr;
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

}  // namespace
}  // namespace sw
