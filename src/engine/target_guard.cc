#include "engine/target_guard.h"

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <utility>

namespace sw {

namespace asio = boost::asio;

namespace {

bool InV4Range(uint32_t address, uint32_t base, int prefix_bits) {
  uint32_t mask = prefix_bits == 0 ? 0 : ~uint32_t{0} << (32 - prefix_bits);
  return (address & mask) == base;
}

bool IsPrivateV4(const asio::ip::address_v4& a) {
  struct Range {
    uint32_t base;
    int bits;
  };
  static constexpr Range kRanges[] = {
      {0x00000000, 8},   // 0.0.0.0/8 "this network"
      {0x0A000000, 8},   // 10/8
      {0x64400000, 10},  // 100.64/10 carrier-grade NAT (and Alibaba's metadata)
      {0x7F000000, 8},   // 127/8 loopback
      {0xA9FE0000, 16},  // 169.254/16 link-local, 169.254.169.254 metadata
      {0xAC100000, 12},  // 172.16/12
      {0xC0000000, 24},  // 192.0.0/24 protocol assignments (Oracle's metadata)
      {0xC0A80000, 16},  // 192.168/16
      {0xC6120000, 15},  // 198.18/15 benchmarking
      {0xE0000000, 4},   // 224/4 multicast
      {0xF0000000, 4},   // 240/4 reserved and the broadcast address
      {0xA83F8110, 32},  // 168.63.129.16 Azure's platform endpoint
  };
  uint32_t v = a.to_uint();
  return std::any_of(std::begin(kRanges), std::end(kRanges),
                     [v](const Range& r) { return InV4Range(v, r.base, r.bits); });
}

asio::ip::address_v4 V4FromBytes(const asio::ip::address_v6::bytes_type& b, size_t at) {
  return asio::ip::address_v4(
      asio::ip::address_v4::bytes_type{b[at], b[at + 1], b[at + 2], b[at + 3]});
}

bool IsPrivateV6(const asio::ip::address_v6& a) {
  const asio::ip::address_v6::bytes_type b = a.to_bytes();
  if (a.is_v4_mapped()) {  // ::ffff:a.b.c.d
    return IsPrivateV4(V4FromBytes(b, 12));
  }
  if (std::all_of(b.begin(), b.begin() + 12, [](unsigned char x) { return x == 0; })) {
    return true;  // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
  }
  if ((b[0] & 0xfe) == 0xfc) {
    return true;  // fc00::/7 unique local, including fd00:ec2::254 (AWS metadata)
  }
  if (b[0] == 0xfe && (b[1] & 0x80) == 0x80) {
    return true;  // fe80::/10 link-local and the deprecated fec0::/10 site-local
  }
  if (b[0] == 0xff) {
    return true;  // multicast
  }
  static constexpr std::array<unsigned char, 12> kNat64 = {0x00, 0x64, 0xff, 0x9b};
  if (std::equal(kNat64.begin(), kNat64.end(), b.begin())) {
    return IsPrivateV4(V4FromBytes(b, 12));  // 64:ff9b::a.b.c.d reaches a.b.c.d
  }
  if (b[0] == 0x20 && b[1] == 0x02) {
    return IsPrivateV4(V4FromBytes(b, 2));  // 6to4 2002:AABB:CCDD::
  }
  return false;
}

// The address as compared with ours: an IPv4-mapped address as the IPv4 address it
// maps (::ffff:a.b.c.d is refused when a.b.c.d is ours), an IPv6 address without its
// scope id (the same address on another interface is still ours).
asio::ip::address Plain(const asio::ip::address& a) {
  if (a.is_v4()) {
    return a;
  }
  if (a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return asio::ip::address_v6(a.to_v6().to_bytes());
}

}  // namespace

bool IsPrivateAddress(const asio::ip::address& address) {
  return address.is_v4() ? IsPrivateV4(address.to_v4()) : IsPrivateV6(address.to_v6());
}

// Anything that does not parse as an address is treated as private: refusing is the
// safe answer for a check that guards outbound requests.
bool IsPrivateAddress(const std::string& address) {
  boost::system::error_code ec;
  asio::ip::address parsed = asio::ip::make_address(address, ec);
  return ec || IsPrivateAddress(parsed);
}

TargetGuard::TargetGuard(bool allow_private_targets, InterfaceLister list_interfaces,
                         std::chrono::steady_clock::duration refresh)
    : allow_private_targets_(allow_private_targets),
      list_interfaces_(std::move(list_interfaces)),
      refresh_(refresh) {
  if (!allow_private_targets_) {
    std::lock_guard lock(mu_);
    ReadInterfaces(std::chrono::steady_clock::now());
  }
}

bool TargetGuard::Allows(const asio::ip::address& address) {
  if (allow_private_targets_) {
    return true;
  }
  const asio::ip::address plain = Plain(address);
  if (IsPrivateAddress(plain)) {
    return false;
  }
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_read_ >= refresh_) {
    ReadInterfaces(now);
  }
  return std::find(own_.begin(), own_.end(), plain) == own_.end();
}

void TargetGuard::ReadInterfaces(std::chrono::steady_clock::time_point now) {
  last_read_ = now;
  std::optional<std::vector<asio::ip::address>> read = list_interfaces_();
  if (!read) {
    return;
  }
  own_.clear();
  for (const asio::ip::address& own : *read) {
    own_.push_back(Plain(own));
  }
}

std::optional<std::vector<asio::ip::address>> SystemInterfaceAddresses() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    return std::nullopt;
  }
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owned(list, ::freeifaddrs);
  std::vector<asio::ip::address> out;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) {
      continue;
    }
    if (it->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
      out.emplace_back(asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
      asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr),
                bytes.begin());
      out.emplace_back(asio::ip::address_v6(bytes));
    }
  }
  return out;
}

std::unique_ptr<TargetGuard> MakeSystemTargetGuard(bool allow_private_targets) {
  return std::make_unique<TargetGuard>(allow_private_targets, SystemInterfaceAddresses);
}

}  // namespace sw
