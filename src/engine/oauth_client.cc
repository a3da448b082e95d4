#include "engine/oauth_client.h"

#include <nlohmann/json.hpp>

namespace sw {

namespace {

using nlohmann::json;

constexpr int64_t kTokenRequestTimeoutMs = 15000;

std::string PercentEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Status Transient(const std::string& why) {
  return Status(StatusCode::kUnavailable, "the token endpoint did not refresh: " + why,
                kRefreshFailedCode);
}

// The provider's own words for a refused grant: "<error>: <error_description>".
std::string ProviderError(const json& body, int status) {
  if (!body.is_object() || !body.contains("error") || !body["error"].is_string()) {
    return "the token endpoint answered HTTP " + std::to_string(status);
  }
  std::string message = body["error"].get<std::string>();
  if (body.contains("error_description") && body["error_description"].is_string()) {
    message += ": " + body["error_description"].get<std::string>();
  }
  return message;
}

Result<TokenGrant> ReadAnswer(const Result<HttpResponse>& r, int64_t now) {
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kCancelled) {
      return r.status();
    }
    if (r.status().code() == StatusCode::kPermissionDenied) {
      // A refused target will not start working by itself.
      return Status(StatusCode::kFailedPrecondition, r.status().message(), kNeedsReauthCode);
    }
    return Transient(r.status().message());
  }
  const json body = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (r->status == 400 || r->status == 401) {
    return Status(StatusCode::kFailedPrecondition, ProviderError(body, r->status),
                  kNeedsReauthCode);
  }
  if (r->status < 200 || r->status >= 300) {
    return Transient("HTTP " + std::to_string(r->status));
  }
  if (!body.is_object() || !body.contains("access_token") || !body["access_token"].is_string() ||
      body["access_token"].get<std::string>().empty()) {
    return Transient("the answer holds no access_token");
  }
  TokenGrant grant;
  grant.access_token = body["access_token"].get<std::string>();
  if (body.contains("refresh_token") && body["refresh_token"].is_string()) {
    grant.refresh_token = body["refresh_token"].get<std::string>();
  }
  if (body.contains("expires_in") && body["expires_in"].is_number()) {
    grant.expires_at = now + static_cast<int64_t>(body["expires_in"].get<double>() * 1000);
  }
  return grant;
}

void Post(HttpClient& http, const std::string& url,
          const std::vector<std::pair<std::string, std::string>>& fields, int64_t now,
          std::shared_ptr<CancellationToken> cancel, TokenDone done) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.timeout_ms = kTokenRequestTimeoutMs;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  request.body = FormEncode(fields);
  if (cancel == nullptr) {
    cancel = std::make_shared<CancellationToken>();
  }
  http.Send(std::move(request), std::move(cancel),
            [now, done = std::move(done)](Result<HttpResponse> r) { done(ReadAnswer(r, now)); });
}

}  // namespace

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) {
      out += '&';
    }
    out += PercentEncode(name) + "=" + PercentEncode(value);
  }
  return out;
}

void RequestRefresh(HttpClient& http, const OAuth2Settings& settings, int64_t now,
                    std::shared_ptr<CancellationToken> cancel, TokenDone done) {
  Post(http, settings.token_url,
       {{"grant_type", "refresh_token"},
        {"refresh_token", settings.refresh_token},
        {"client_id", settings.client_id},
        {"client_secret", settings.client_secret}},
       now, std::move(cancel), std::move(done));
}

void RequestCodeExchange(HttpClient& http, const OAuth2Settings& settings, const std::string& code,
                         const std::string& redirect_uri, const std::string& code_verifier,
                         int64_t now, TokenDone done) {
  Post(http, settings.token_url,
       {{"grant_type", "authorization_code"},
        {"code", code},
        {"redirect_uri", redirect_uri},
        {"client_id", settings.client_id},
        {"client_secret", settings.client_secret},
        {"code_verifier", code_verifier}},
       now, nullptr, std::move(done));
}

}  // namespace sw
