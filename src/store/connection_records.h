// The records of connections: an integration's OAuth 2.0 credentials that `http` steps
// use (`with.connection`), and the state of an authorization-code flow under way. The
// secrets are plain here; the store seals them at rest (store/secret_box.h) and never
// writes them anywhere else. Times are milliseconds since the Unix epoch; 0 means "not
// set". Value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/notification_records.h"
#include "store/records.h"

namespace sw {

enum class ConnectionStatus { kActive, kError };
std::string_view ToString(ConnectionStatus s);
std::optional<ConnectionStatus> ParseConnectionStatus(std::string_view s);

struct OAuth2Settings {
  std::string token_url;
  std::string client_id;
  std::string authorize_url;  // "" when the provider has no authorization-code flow
  std::vector<std::string> scopes;
  // Secrets.
  std::string client_secret;
  std::string refresh_token;
  std::string access_token;  // "" until the first refresh
  int64_t expires_at = 0;    // of the access token; 0: unknown
};

struct ConnectionRecord {
  std::string id;  // "conn_…"
  std::string workspace_id;
  std::string name;
  std::string app;
  ConnectionStatus status = ConnectionStatus::kActive;
  std::string error_message;  // set while status is kError
  int64_t error_at = 0;
  OAuth2Settings oauth2;
  int64_t version = 1;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// A change of a connection: a compare-and-set on its version, committed with its audit
// entry and notifications. The store sets version and keeps created_at.
struct ConnectionWrite {
  ConnectionRecord connection;
  int64_t expected_version = 0;
  std::optional<AuditEntry> audit;
  std::vector<NotificationRecord> notify;
};

struct ConnectionFilter {
  std::optional<ConnectionStatus> status;
  std::string cursor;  // exclusive: connections with smaller ids
  int limit = 50;
};

struct ConnectionPage {
  std::vector<ConnectionRecord> items;  // newest first
  std::string next_cursor;              // empty when there is no further page
};

// An authorization-code flow started by `GET /connections/{id}/authorize`, kept until
// its callback uses it (once) or it expires. Only the hash of `state` is kept; the
// PKCE verifier is a secret.
struct OAuthStateRecord {
  std::string state_hash;  // hex SHA-256 of the state
  std::string connection_id;
  std::string workspace_id;
  std::string code_verifier;
  std::string redirect_uri;
  int64_t expires_at = 0;
  int64_t created_at = 0;
};

}  // namespace sw
