#include "control/notification_channels.h"

#include <set>
#include <string_view>

#include "engine/http_url.h"

namespace sw {

using nlohmann::json;

namespace {

constexpr size_t kMaxAddress = 254;  // RFC 5321's path limit
constexpr size_t kMaxLocalPart = 64;

Status FieldError(const std::string& field, const std::string& message) {
  return InvalidArgument("'" + field + "' " + message, {.field = field});
}

// An object with only `allowed` keys, or an error naming the first other one.
Status OnlyKeys(const json& v, const std::string& field,
                std::initializer_list<std::string_view> allowed) {
  if (!v.is_object()) {
    return field.empty() ? InvalidArgument("The request body must be a JSON object")
                         : FieldError(field, "must be an object");
  }
  for (const auto& [key, value] : v.items()) {
    bool known = false;
    for (std::string_view a : allowed) {
      known = known || key == a;
    }
    if (!known) {
      const std::string name = field.empty() ? key : field + "." + key;
      return FieldError(name, "is not a known field");
    }
  }
  return Status::Ok();
}

bool IsAtext(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~-";
  return std::isalnum(static_cast<unsigned char>(c)) || kSpecials.find(c) != std::string::npos;
}

// A plain address, "local@domain": dot-separated atoms of RFC 5322's atext before the
// "@", dot-separated labels of letters, digits and hyphens after it. No display names,
// quotes or comments: what goes into an SMTP envelope as it is.
bool IsEmailAddress(std::string_view s) {
  const size_t at = s.rfind('@');
  if (s.size() > kMaxAddress || at == std::string_view::npos || at == 0 || at > kMaxLocalPart) {
    return false;
  }
  const std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  char prev = '.';
  for (char c : local) {
    if (!(IsAtext(c) || (c == '.' && prev != '.'))) {
      return false;
    }
    prev = c;
  }
  if (prev == '.' || domain.empty()) {
    return false;
  }
  size_t label = 0;
  for (size_t i = 0; i <= domain.size(); ++i) {
    const char c = i < domain.size() ? domain[i] : '.';
    if (c == '.') {
      if (label == 0 || label > 63 || domain[i - 1] == '-' || domain[i - label] == '-') {
        return false;
      }
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      ++label;
    } else {
      return false;
    }
  }
  return true;
}

Status ParseEmail(const json& email, NotificationChannels& out) {
  if (Status s = OnlyKeys(email, "email", {"to"}); !s.ok()) {
    return s;
  }
  if (!email.contains("to")) {
    return Status::Ok();
  }
  const json& to = email["to"];
  if (!to.is_array() || to.size() > kMaxEmailRecipients) {
    return FieldError("email.to", "must be a list of at most " +
                                      std::to_string(kMaxEmailRecipients) + " addresses");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < to.size(); ++i) {
    const std::string field = "email.to[" + std::to_string(i) + "]";
    if (!to[i].is_string() || !IsEmailAddress(to[i].get<std::string>())) {
      return FieldError(field, "must be an email address like ops@example.com");
    }
    if (!seen.insert(to[i].get<std::string>()).second) {
      return FieldError(field, "is listed twice");
    }
    out.email_to.push_back(to[i].get<std::string>());
  }
  return Status::Ok();
}

Status ParseWebhooks(const json& hooks, NotificationChannels& out) {
  if (!hooks.is_array() || hooks.size() > kMaxWebhooks) {
    return FieldError("webhooks",
                      "must be a list of at most " + std::to_string(kMaxWebhooks) + " webhooks");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < hooks.size(); ++i) {
    const std::string field = "webhooks[" + std::to_string(i) + "]";
    if (Status s = OnlyKeys(hooks[i], field, {"url", "format"}); !s.ok()) {
      return s;
    }
    const json& url = hooks[i].value("url", json());
    if (!url.is_string() || !ParseHttpUrl(url.get<std::string>()).ok()) {
      return FieldError(field + ".url", "must be an absolute http or https URL");
    }
    std::optional<DeliveryFormat> format = DeliveryFormat::kJson;
    if (hooks[i].contains("format")) {
      const json& f = hooks[i]["format"];
      format = f.is_string() ? ParseDeliveryFormat(f.get<std::string>()) : std::nullopt;
      if (!format || *format == DeliveryFormat::kText) {
        return FieldError(field + ".format", "must be json or slack");
      }
    }
    const NotificationChannels::Webhook hook{url.get<std::string>(), *format};
    if (!seen.insert(hook.url).second) {
      return FieldError(field + ".url", "is listed twice");
    }
    out.webhooks.push_back(hook);
  }
  return Status::Ok();
}

}  // namespace

Result<NotificationChannels> ParseNotificationChannels(const json& body) {
  if (Status s = OnlyKeys(body, "", {"email", "webhooks"}); !s.ok()) {
    return s;
  }
  NotificationChannels out;
  if (body.contains("email") && !body["email"].is_null()) {
    if (Status s = ParseEmail(body["email"], out); !s.ok()) {
      return s;
    }
  }
  if (body.contains("webhooks") && !body["webhooks"].is_null()) {
    if (Status s = ParseWebhooks(body["webhooks"], out); !s.ok()) {
      return s;
    }
  }
  return out;
}

json NotificationChannelsJson(const NotificationChannels& channels) {
  json hooks = json::array();
  for (const NotificationChannels::Webhook& hook : channels.webhooks) {
    hooks.push_back({{"url", hook.url}, {"format", ToString(hook.format)}});
  }
  return json{{"email", {{"to", channels.email_to}}}, {"webhooks", hooks}};
}

}  // namespace sw
