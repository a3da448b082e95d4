// The OAuth 2.0 token endpoint, as a client: a refresh (RFC 6749 §6) or an
// authorization-code exchange (§4.1.3, with the PKCE verifier of RFC 7636), sent as a
// form-encoded POST with the client's credentials in the body (client_secret_post),
// and what came back: new tokens, or a failure that is either transient (no answer, a
// timeout, 5xx, 429, an answer that is not a token) or permanent (400 or 401: the
// grant or the client is no longer good; only a reconnection helps).
//
// Goes through the engine's HttpClient, so the token endpoint is held to the http
// step's target rules. Thread-safe (stateless functions).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "engine/cancellation.h"
#include "engine/http_client.h"
#include "store/connection_records.h"

namespace sw {

struct TokenGrant {
  std::string access_token;
  std::string refresh_token;  // "" when the provider did not rotate it
  int64_t expires_at = 0;     // 0: the answer gave no expiry
};

// Error codes of a failed token request: kFailedPrecondition with reason
// "connection_needs_reauth" (permanent; the message is the provider's "<error>:
// <error_description>"), kUnavailable with "refresh_failed" (transient), kCancelled.
inline constexpr char kNeedsReauthCode[] = "connection_needs_reauth";
inline constexpr char kRefreshFailedCode[] = "refresh_failed";
// The contract's sentence for a connection that cannot be refreshed.
inline constexpr char kNeedsReauthMessage[] =
    "Connection cannot be refreshed. Please reconnect your connection.";

using TokenDone = std::function<void(Result<TokenGrant>)>;

// grant_type=refresh_token with `settings.refresh_token`. `now`: for expires_in.
void RequestRefresh(HttpClient& http, const OAuth2Settings& settings, int64_t now,
                    std::shared_ptr<CancellationToken> cancel, TokenDone done);
// grant_type=authorization_code.
void RequestCodeExchange(HttpClient& http, const OAuth2Settings& settings, const std::string& code,
                         const std::string& redirect_uri, const std::string& code_verifier,
                         int64_t now, TokenDone done);

// application/x-www-form-urlencoded (and URL query) encoding of `fields`.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace sw
