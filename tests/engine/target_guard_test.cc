// TargetGuard over a fake interface list: the host's own addresses are refused whatever
// their range, the list is read again after the refresh interval, and the http client
// refuses a URL whose host is one of them before connecting.

#include "engine/target_guard.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/http_client.h"

namespace sw {
namespace {

using boost::asio::ip::address;
using boost::asio::ip::make_address;

// An interface list the test changes; `fail` makes the next reads fail.
struct FakeInterfaces {
  std::mutex mu;
  std::vector<std::string> addresses;
  bool fail = false;
  int reads = 0;

  TargetGuard::InterfaceLister Lister() {
    return [this]() -> std::optional<std::vector<address>> {
      std::lock_guard lock(mu);
      ++reads;
      if (fail) {
        return std::nullopt;
      }
      std::vector<address> out;
      for (const std::string& a : addresses) {
        out.push_back(make_address(a));
      }
      return out;
    };
  }
};

constexpr auto kNeverRefresh = std::chrono::hours(1);

TEST(TargetGuard, RefusesTheHostsOwnPublicAddresses) {
  FakeInterfaces interfaces;
  interfaces.addresses = {"127.0.0.1", "203.0.113.9", "::1", "2001:db8:5::7"};
  TargetGuard guard(false, interfaces.Lister(), kNeverRefresh);
  EXPECT_FALSE(guard.Allows(make_address("203.0.113.9")));
  EXPECT_FALSE(guard.Allows(make_address("2001:db8:5::7")));
  EXPECT_FALSE(guard.Allows(make_address("::ffff:203.0.113.9")));  // IPv4-mapped
  EXPECT_TRUE(guard.Allows(make_address("203.0.113.10")));
  EXPECT_TRUE(guard.Allows(make_address("2001:db8:5::8")));
  EXPECT_TRUE(guard.Allows(make_address("::ffff:203.0.113.10")));
}

TEST(TargetGuard, RefusesTheUnspecifiedAddressAndPrivateRangesWithoutInterfaces) {
  FakeInterfaces interfaces;
  TargetGuard guard(false, interfaces.Lister(), kNeverRefresh);
  for (const char* a : {"0.0.0.0", "::", "::ffff:0.0.0.0", "127.0.0.1", "10.0.0.1",
                        "169.254.169.254", "fd00::1", "::ffff:127.0.0.1"}) {
    EXPECT_FALSE(guard.Allows(make_address(a))) << a;
  }
  EXPECT_TRUE(guard.Allows(make_address("198.51.100.1")));
}

TEST(TargetGuard, AllowPrivateTargetsAllowsEverythingAndReadsNoInterfaces) {
  FakeInterfaces interfaces;
  interfaces.addresses = {"203.0.113.9"};
  TargetGuard guard(true, interfaces.Lister(), std::chrono::seconds(0));
  EXPECT_TRUE(guard.Allows(make_address("203.0.113.9")));
  EXPECT_TRUE(guard.Allows(make_address("127.0.0.1")));
  EXPECT_TRUE(guard.Allows(make_address("0.0.0.0")));
  EXPECT_EQ(interfaces.reads, 0);
}

TEST(TargetGuard, ReadsTheInterfacesAgainAfterTheRefreshInterval) {
  FakeInterfaces interfaces;
  interfaces.addresses = {"203.0.113.9"};
  TargetGuard guard(false, interfaces.Lister(), std::chrono::seconds(0));
  EXPECT_FALSE(guard.Allows(make_address("203.0.113.9")));
  {
    std::lock_guard lock(interfaces.mu);
    interfaces.addresses = {"198.51.100.4"};  // the host's address changed
  }
  EXPECT_TRUE(guard.Allows(make_address("203.0.113.9")));
  EXPECT_FALSE(guard.Allows(make_address("198.51.100.4")));
  {
    std::lock_guard lock(interfaces.mu);
    interfaces.fail = true;  // a failed read keeps what the last good one found
  }
  EXPECT_FALSE(guard.Allows(make_address("198.51.100.4")));
}

TEST(TargetGuard, WithinTheRefreshIntervalTheListIsNotReadAgain) {
  FakeInterfaces interfaces;
  interfaces.addresses = {"203.0.113.9"};
  TargetGuard guard(false, interfaces.Lister(), kNeverRefresh);
  EXPECT_EQ(interfaces.reads, 1);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(guard.Allows(make_address("198.51.100.4")));
  }
  EXPECT_EQ(interfaces.reads, 1);
}

TEST(TargetGuard, SystemInterfacesIncludeLoopback) {
  std::optional<std::vector<address>> own = SystemInterfaceAddresses();
  ASSERT_TRUE(own.has_value());
  bool loopback = false;
  for (const address& a : *own) {
    loopback = loopback || a.is_loopback();
  }
  EXPECT_TRUE(loopback);
}

TEST(TargetGuard, HttpClientRefusesAnOwnAddressBeforeConnecting) {
  FakeInterfaces interfaces;
  interfaces.addresses = {"203.0.113.9"};
  std::unique_ptr<HttpClient> client =
      MakeBeastHttpClient(std::make_unique<TargetGuard>(false, interfaces.Lister()), 1);
  std::promise<Result<HttpResponse>> answered;
  HttpRequest request;
  request.url = "http://203.0.113.9:8080/admin";
  request.timeout_ms = 60000;
  client->Send(request, nullptr,
               [&answered](Result<HttpResponse> r) { answered.set_value(std::move(r)); });
  std::future<Result<HttpResponse>> result = answered.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  Result<HttpResponse> r = result.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "target_not_allowed") << r.status().message();
}

}  // namespace
}  // namespace sw
