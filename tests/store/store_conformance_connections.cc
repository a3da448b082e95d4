// Store conformance: connections (create with unique names and idempotency keys, reads
// that return the secrets the store sealed, the compare-and-set on a connection's
// version with its audit entry and notifications, delete), the runs waiting for a
// reconnect, and OAuth flow states used once. See store_conformance.h.
#include <gtest/gtest.h>

#include <string>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

ConnectionRecord MakeConnection(const std::string& id, const std::string& name,
                                const std::string& workspace_id = "ws_1") {
  ConnectionRecord c;
  c.id = id;
  c.workspace_id = workspace_id;
  c.name = name;
  c.app = "slack";
  c.oauth2.token_url = "https://auth.example.test/token";
  c.oauth2.client_id = "client-1";
  c.oauth2.client_secret = "s3cret-client";
  c.oauth2.refresh_token = "rt-one";
  c.oauth2.access_token = "at-one";
  c.oauth2.expires_at = kT0 + 3600000;
  c.oauth2.scopes = {"chat:write", "users:read"};
  c.created_at = kT0;
  c.updated_at = kT0;
  return c;
}

TEST_P(StoreConformanceTest, AConnectionKeepsItsSecretsAndItsNameIsUniquePerWorkspace) {
  ConnectionRecord c = MakeConnection("conn_1", "billing");
  ASSERT_TRUE(
      store_
          ->CreateConnection(c, MakeAudit("aud_1", "ws_1", "connection.create", c.id), std::nullopt)
          .ok());
  Reopen();
  Result<ConnectionRecord> read = store_->FindConnectionByName("ws_1", "billing");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->id, "conn_1");
  EXPECT_EQ(read->oauth2.client_secret, "s3cret-client");
  EXPECT_EQ(read->oauth2.refresh_token, "rt-one");
  EXPECT_EQ(read->oauth2.access_token, "at-one");
  EXPECT_EQ(read->oauth2.scopes, (std::vector<std::string>{"chat:write", "users:read"}));
  EXPECT_EQ(read->status, ConnectionStatus::kActive);

  Result<ConnectionRecord> twice =
      store_->CreateConnection(MakeConnection("conn_2", "billing"),
                               MakeAudit("aud_2", "ws_1", "connection.create", "c"), std::nullopt);
  EXPECT_EQ(twice.status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(store_
                  ->CreateConnection(MakeConnection("conn_3", "billing", "ws_2"),
                                     MakeAudit("aud_3", "ws_2", "connection.create", "c"),
                                     std::nullopt)
                  .ok());
  EXPECT_EQ(store_->GetConnection("conn_2").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, AnIdempotencyKeyAnswersTheFirstConnection) {
  IdempotencyKey key{"k1", "hash-a", kT0 - 1};
  ASSERT_TRUE(store_
                  ->CreateConnection(MakeConnection("conn_1", "a"),
                                     MakeAudit("aud_1", "ws_1", "x", "conn_1"), key)
                  .ok());
  Result<ConnectionRecord> again = store_->CreateConnection(
      MakeConnection("conn_2", "a"), MakeAudit("aud_2", "ws_1", "x", "conn_2"), key);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->id, "conn_1");
  key.request_hash = "hash-b";
  EXPECT_EQ(store_
                ->CreateConnection(MakeConnection("conn_3", "b"),
                                   MakeAudit("aud_3", "ws_1", "x", "conn_3"), key)
                .status()
                .reason(),
            "idempotency_conflict");
}

TEST_P(StoreConformanceTest, AConnectionChangesByCompareAndSetWithItsAuditAndNotification) {
  ConnectionRecord c = MakeConnection("conn_1", "billing");
  ASSERT_TRUE(
      store_->CreateConnection(c, MakeAudit("aud_1", "ws_1", "create", c.id), std::nullopt).ok());
  ConnectionWrite w;
  w.connection = c;
  w.expected_version = 1;
  w.connection.status = ConnectionStatus::kError;
  w.connection.error_message = "invalid_grant: revoked";
  w.connection.error_at = kT0 + 5;
  w.audit = MakeAudit("aud_2", "ws_1", "connection.error", c.id);
  NotificationRecord n;
  n.id = "ntf_1";
  n.workspace_id = "ws_1";
  n.kind = "connection_error";
  n.title = "Slack reauth required";
  n.link = "/acme/connections/conn_1";
  n.created_at = kT0 + 5;
  w.notify.push_back(n);
  Result<ConnectionRecord> written = store_->UpdateConnection(w);
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written->version, 2);
  EXPECT_EQ(store_->UpdateConnection(w).status().code(), StatusCode::kAborted);  // stale

  Result<ConnectionPage> errors =
      store_->ListConnections("ws_1", {ConnectionStatus::kError, "", 50});
  ASSERT_TRUE(errors.ok());
  ASSERT_EQ(errors->items.size(), 1u);
  EXPECT_EQ(errors->items[0].error_message, "invalid_grant: revoked");
  EXPECT_EQ(store_->ListConnections("ws_1", {ConnectionStatus::kActive, "", 50})->items.size(), 0u);
  EXPECT_EQ(store_->ListAudit("ws_1", c.id, "", 10)->size(), 2u);
  EXPECT_EQ(store_->ListNotifications("ws_1", {})->items.size(), 1u);

  ASSERT_TRUE(
      store_->DeleteConnection("ws_1", c.id, MakeAudit("aud_3", "ws_1", "delete", c.id)).ok());
  EXPECT_EQ(store_->GetConnection(c.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      store_->DeleteConnection("ws_1", c.id, MakeAudit("aud_4", "ws_1", "delete", c.id)).code(),
      StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, RunsWaitingForAReconnectWakeTogether) {
  ASSERT_TRUE(store_
                  ->CreateConnection(MakeConnection("conn_1", "a"),
                                     MakeAudit("aud_1", "ws_1", "x", "conn_1"), std::nullopt)
                  .ok());
  for (const char* id : {"run_a", "run_b"}) {
    RunRecord run = CreateRunning(id);
    RunTransition t;
    t.run_id = id;
    t.expected_version = run.version;
    t.expected_status = RunStatus::kRunning;
    t.next_status = RunStatus::kWaiting;
    t.wait = json{{"kind", "reauth"},
                  {"connection_id", std::string(id) == "run_a" ? "conn_1" : "conn_gone"},
                  {"step_id", "call"}};
    t.now = kT0 + 2;
    ASSERT_TRUE(store_->TransitionRun(t).ok());
  }
  EXPECT_EQ(*store_->WakeReauthWaits("conn_1", kT0 + 3), std::vector<std::string>{"run_a"});
  Result<RunRecord> a = store_->GetRun("run_a", false);
  EXPECT_EQ(a->status, RunStatus::kRunning);
  EXPECT_TRUE(a->wait.is_null());
  EXPECT_EQ(a->version, 4);
  EXPECT_EQ(Changed().count("run_a"), 1u);
  EXPECT_TRUE(store_->WakeReauthWaits("conn_1", kT0 + 4)->empty());  // once
  // "": those whose connection is active or gone.
  EXPECT_EQ(*store_->WakeReauthWaits("", kT0 + 5), std::vector<std::string>{"run_b"});
}

TEST_P(StoreConformanceTest, AnOAuthStateIsTakenOnceAndNotAfterItExpires) {
  OAuthStateRecord st{"hash-1",     "conn_1", "ws_1", "verifier-xyz", "http://x/oauth/callback",
                      kT0 + 600000, kT0};
  ASSERT_TRUE(store_->CreateOAuthState(st).ok());
  Result<OAuthStateRecord> taken = store_->TakeOAuthState("hash-1", kT0 + 1);
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  EXPECT_EQ(taken->code_verifier, "verifier-xyz");
  EXPECT_EQ(store_->TakeOAuthState("hash-1", kT0 + 2).status().code(), StatusCode::kNotFound);
  st.state_hash = "hash-2";
  ASSERT_TRUE(store_->CreateOAuthState(st).ok());
  EXPECT_EQ(store_->TakeOAuthState("hash-2", kT0 + 600001).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sw::store_test
