#include "store/notification_records.h"

#include <array>
#include <utility>

namespace sw {

namespace {

template <typename E, size_t N>
std::optional<E> ParseByName(std::string_view s,
                             const std::array<std::pair<E, std::string_view>, N>& names) {
  for (const auto& [value, name] : names) {
    if (name == s) {
      return value;
    }
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view NameOf(E value, const std::array<std::pair<E, std::string_view>, N>& names) {
  for (const auto& [v, name] : names) {
    if (v == value) {
      return name;
    }
  }
  return names[0].second;
}

constexpr std::array<std::pair<DeliveryChannel, std::string_view>, 2> kChannelNames = {
    {{DeliveryChannel::kEmail, "email"}, {DeliveryChannel::kWebhook, "webhook"}}};
constexpr std::array<std::pair<DeliveryFormat, std::string_view>, 3> kFormatNames = {
    {{DeliveryFormat::kText, "text"},
     {DeliveryFormat::kJson, "json"},
     {DeliveryFormat::kSlack, "slack"}}};
constexpr std::array<std::pair<DeliveryStatus, std::string_view>, 3> kStatusNames = {
    {{DeliveryStatus::kPending, "pending"},
     {DeliveryStatus::kDelivered, "delivered"},
     {DeliveryStatus::kFailed, "failed"}}};

}  // namespace

std::string_view ToString(DeliveryChannel c) { return NameOf(c, kChannelNames); }
std::string_view ToString(DeliveryFormat f) { return NameOf(f, kFormatNames); }
std::string_view ToString(DeliveryStatus s) { return NameOf(s, kStatusNames); }

std::optional<DeliveryChannel> ParseDeliveryChannel(std::string_view s) {
  return ParseByName(s, kChannelNames);
}
std::optional<DeliveryFormat> ParseDeliveryFormat(std::string_view s) {
  return ParseByName(s, kFormatNames);
}
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view s) {
  return ParseByName(s, kStatusNames);
}

}  // namespace sw
