#include "control/connection_settings.h"

#include <algorithm>
#include <iterator>
#include <regex>

#include "core/time_format.h"

namespace sw {

using nlohmann::json;

namespace {

constexpr size_t kMaxFieldLength = 4096;

bool IsHttpUrl(const std::string& s) {
  return (s.starts_with("http://") || s.starts_with("https://")) && s.size() <= kMaxFieldLength &&
         s.find_first_of(" \t\r\n") == std::string::npos;
}

// A string field of `obj`: kInvalidArgument when present but not a non-empty string
// (or, `required`, absent).
Status ReadString(const json& obj, const std::string& prefix, const char* key, bool required,
                  std::string& into) {
  const std::string field = prefix + key;
  if (!obj.contains(key) || obj[key].is_null()) {
    return required ? ConnectionFieldError(field, "'" + field + "' is required") : Status::Ok();
  }
  if (!obj[key].is_string() || obj[key].get<std::string>().empty() ||
      obj[key].get<std::string>().size() > kMaxFieldLength) {
    return ConnectionFieldError(field,
                                "'" + field + "' must be a non-empty string of at most 4096 bytes");
  }
  into = obj[key].get<std::string>();
  return Status::Ok();
}

}  // namespace

Status ConnectionFieldError(const std::string& field, const std::string& message) {
  return InvalidArgument(message, {.field = field});
}

Status ParseOAuth2Settings(const json& oauth2, bool creating, OAuth2Settings& into) {
  if (!oauth2.is_object()) {
    return ConnectionFieldError("oauth2", "'oauth2' must be an object");
  }
  static const char* const kKnown[] = {"token_url",     "client_id",    "client_secret",
                                       "refresh_token", "access_token", "expires_at",
                                       "authorize_url", "scopes"};
  for (const auto& [key, value] : oauth2.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return ConnectionFieldError("oauth2." + key, "Unknown field 'oauth2." + key + "'");
    }
  }
  struct Field {
    const char* key;
    bool required;
    std::string* into;
  };
  for (const Field& f : {Field{"token_url", creating, &into.token_url},
                         Field{"client_id", creating, &into.client_id},
                         Field{"client_secret", creating, &into.client_secret},
                         Field{"refresh_token", creating, &into.refresh_token},
                         Field{"access_token", false, &into.access_token},
                         Field{"authorize_url", false, &into.authorize_url}}) {
    if (Status s = ReadString(oauth2, "oauth2.", f.key, f.required, *f.into); !s.ok()) {
      return s;
    }
  }
  for (const char* key : {"token_url", "authorize_url"}) {
    const std::string& url = std::string(key) == "token_url" ? into.token_url : into.authorize_url;
    if (oauth2.contains(key) && !IsHttpUrl(url)) {
      return ConnectionFieldError(std::string("oauth2.") + key,
                                  std::string("'oauth2.") + key + "' must be an http or https URL");
    }
  }
  if (oauth2.contains("access_token")) {
    into.expires_at = 0;  // a new token's expiry is what comes with it, or unknown
  }
  if (oauth2.contains("expires_at") && !oauth2["expires_at"].is_null()) {
    Result<int64_t> at = oauth2["expires_at"].is_string()
                             ? ParseTime(oauth2["expires_at"].get<std::string>())
                             : Result<int64_t>(InvalidArgument(""));
    if (!at.ok()) {
      return ConnectionFieldError("oauth2.expires_at",
                                  "'oauth2.expires_at' must be an RFC 3339 time");
    }
    into.expires_at = *at;
  }
  if (oauth2.contains("scopes") && !oauth2["scopes"].is_null()) {
    const json& scopes = oauth2["scopes"];
    if (!scopes.is_array() || scopes.size() > 100 ||
        !std::all_of(scopes.begin(), scopes.end(), [](const json& s) {
          return s.is_string() && !s.get<std::string>().empty() &&
                 s.get<std::string>().find(' ') == std::string::npos;
        })) {
      return ConnectionFieldError("oauth2.scopes", "'oauth2.scopes' must be a list of scope names");
    }
    into.scopes = scopes.get<std::vector<std::string>>();
  }
  return Status::Ok();
}

Result<ConnectionRecord> ParseNewConnection(const json& body) {
  static const std::regex kName("[a-z0-9][a-z0-9_-]{0,62}");
  ConnectionRecord c;
  if (Status s = ReadString(body, "", "name", true, c.name); !s.ok()) {
    return s;
  }
  if (!std::regex_match(c.name, kName)) {
    return ConnectionFieldError("name", "'name' must match [a-z0-9][a-z0-9_-]{0,62}");
  }
  if (Status s = ReadString(body, "", "app", true, c.app); !s.ok()) {
    return s;
  }
  if (c.app.size() > 64) {
    return ConnectionFieldError("app", "'app' must be at most 64 bytes");
  }
  if (!body.contains("oauth2")) {
    return ConnectionFieldError("oauth2", "'oauth2' is required");
  }
  if (Status s = ParseOAuth2Settings(body["oauth2"], /*creating=*/true, c.oauth2); !s.ok()) {
    return s;
  }
  return c;
}

}  // namespace sw
