// The fields of a connection as `POST /api/v1/connections` and its reconnect take them:
// the name, the app and the OAuth2 settings, validated before anything is stored.
//
// Pure functions; thread-safe. Connections (control/connections.h) uses them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"
#include "store/connection_records.h"

namespace sw {

// kInvalidArgument (reason invalid_request) with detail.field naming `field`.
Status ConnectionFieldError(const std::string& field, const std::string& message);

// Reads `oauth2` into `into`, replacing what it carries. `creating`: the fields a new
// connection needs are required. kInvalidArgument naming the field for an unknown key,
// a wrong type, a URL that is not http(s), a time that is not RFC 3339.
Status ParseOAuth2Settings(const nlohmann::json& oauth2, bool creating, OAuth2Settings& into);

// The body of a new connection: `name` (lower-case slug), `app` and `oauth2`; the
// record's ids, times and status are left for the caller to fill.
Result<ConnectionRecord> ParseNewConnection(const nlohmann::json& body);

}  // namespace sw
