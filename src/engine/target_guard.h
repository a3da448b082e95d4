// TargetGuard decides which addresses an outbound request (an http step, a webhook
// delivery) may connect to. It is asked after name resolution and again on every
// redirect, so a name that resolves to a refused address is refused too. Refused,
// unless private targets are allowed: loopback, private, link-local, unique-local,
// carrier-grade NAT, multicast, reserved, the unspecified address (0.0.0.0, ::; it
// reaches the host itself) and cloud metadata addresses (the ranges, IsPrivateAddress),
// and every address of the server's own interfaces, whatever its range: a service bound
// to 0.0.0.0 on the server's host answers on the host's public address as well.
//
// The interface addresses are read (getifaddrs, IPv4 and IPv6) when the guard is made
// and again by the first check made `refresh` (30 s by default) or longer after the last
// read, so an address the host gains later is refused from then on. A failed read keeps
// the addresses of the last good one. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is
// checked as the IPv4 address it maps.
//
// Thread-safe: Allows may be called from any thread (a mutex guards the interface list).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sw {

class TargetGuard {
 public:
  // The host's interface addresses, or nothing when they could not be read.
  using InterfaceLister = std::function<std::optional<std::vector<boost::asio::ip::address>>()>;
  static constexpr std::chrono::seconds kDefaultRefresh{30};

  // REQUIRES: `list_interfaces` is callable from any thread.
  TargetGuard(bool allow_private_targets, InterfaceLister list_interfaces,
              std::chrono::steady_clock::duration refresh = kDefaultRefresh);

  // True when a request may connect to `address`.
  bool Allows(const boost::asio::ip::address& address);

 private:
  // REQUIRES: mu_ held.
  void ReadInterfaces(std::chrono::steady_clock::time_point now);

  const bool allow_private_targets_;
  const InterfaceLister list_interfaces_;
  const std::chrono::steady_clock::duration refresh_;
  std::mutex mu_;
  std::vector<boost::asio::ip::address> own_;        // guarded by mu_
  std::chrono::steady_clock::time_point last_read_;  // guarded by mu_
};

// The addresses of this host's interfaces (getifaddrs), IPv4 and IPv6; nothing when
// getifaddrs fails.
std::optional<std::vector<boost::asio::ip::address>> SystemInterfaceAddresses();

// A guard over this host's interfaces (SystemInterfaceAddresses).
std::unique_ptr<TargetGuard> MakeSystemTargetGuard(bool allow_private_targets);

// True when `address` (textual IPv4 or IPv6) is in a refused range: loopback, private,
// link-local, unique-local, unspecified, multicast, reserved, or a cloud metadata
// address. Interfaces are not looked at. Text that is no address counts as private.
bool IsPrivateAddress(const std::string& address);
bool IsPrivateAddress(const boost::asio::ip::address& address);

}  // namespace sw
