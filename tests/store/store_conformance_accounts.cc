// Store conformance: workspaces, tokens, UI sessions, workflow versions and the audit
// entries written with them. See store_conformance.h.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store_conformance.h"

namespace sw::store_test {
namespace {

using nlohmann::json;

TEST_P(StoreConformanceTest, WorkspaceIsFoundBySlugAndIdAndSlugsAreUnique) {
  ASSERT_TRUE(store_->CreateWorkspace({"ws_1", "acme", kT0}).ok());
  Result<WorkspaceRecord> by_slug = store_->FindWorkspaceBySlug("acme");
  ASSERT_TRUE(by_slug.ok());
  EXPECT_EQ(by_slug->id, "ws_1");
  EXPECT_EQ(by_slug->created_at, kT0);
  Result<WorkspaceRecord> by_id = store_->FindWorkspace("ws_1");
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->slug, "acme");

  Result<WorkspaceRecord> dup = store_->CreateWorkspace({"ws_2", "acme", kT0});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->FindWorkspaceBySlug("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->FindWorkspace("ws_2").status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, TokensAreFoundByHashListedAndRevoked) {
  TokenRecord admin{"tok_1", "ws_1", "admin", Role::kAdmin, "hash-1", kT0, 0};
  TokenRecord op{"tok_2", "ws_1", "ci", Role::kOperator, "hash-2", kT0 + 1, 0};
  TokenRecord other{"tok_3", "ws_2", "x", Role::kViewer, "hash-3", kT0, 0};
  ASSERT_TRUE(store_->CreateToken(admin, std::nullopt).ok());
  ASSERT_TRUE(store_->CreateToken(op, MakeAudit("aud_1", "ws_1", "token.create", "tok_2")).ok());
  ASSERT_TRUE(store_->CreateToken(other, std::nullopt).ok());

  Result<TokenRecord> found = store_->FindTokenByHash("hash-2");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, "tok_2");
  EXPECT_EQ(found->workspace_id, "ws_1");
  EXPECT_EQ(found->name, "ci");
  EXPECT_EQ(found->role, Role::kOperator);
  EXPECT_EQ(found->created_at, kT0 + 1);
  EXPECT_EQ(store_->FindTokenByHash("hash-9").status().code(), StatusCode::kNotFound);

  Result<std::vector<TokenRecord>> listed = store_->ListTokens("ws_1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "tok_2");  // newest first
  EXPECT_EQ((*listed)[1].id, "tok_1");

  // Another workspace cannot revoke it.
  EXPECT_EQ(
      store_->RevokeToken("ws_2", "tok_2", kT0 + 5, MakeAudit("aud_x", "ws_2", "r", "t")).code(),
      StatusCode::kNotFound);
  ASSERT_TRUE(store_
                  ->RevokeToken("ws_1", "tok_2", kT0 + 5,
                                MakeAudit("aud_2", "ws_1", "token.revoke", "tok_2"))
                  .ok());
  EXPECT_EQ(store_->FindTokenByHash("hash-2").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindTokenByHash("hash-1").ok());
  // A second revoke finds no active token.
  EXPECT_EQ(
      store_->RevokeToken("ws_1", "tok_2", kT0 + 6, MakeAudit("aud_3", "ws_1", "r", "t")).code(),
      StatusCode::kNotFound);

  listed = store_->ListTokens("ws_1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].revoked_at, kT0 + 5);
  EXPECT_EQ((*listed)[1].revoked_at, 0);

  Result<std::vector<AuditEntry>> audit = store_->ListAudit("ws_1", "tok_2", "", 10);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 2u);
  EXPECT_EQ((*audit)[0].action, "token.revoke");
  EXPECT_EQ((*audit)[1].action, "token.create");
  // The failed revokes wrote no audit entry.
  Result<std::vector<AuditEntry>> other_audit = store_->ListAudit("ws_2", "", "", 10);
  ASSERT_TRUE(other_audit.ok());
  EXPECT_TRUE(other_audit->empty());
}

TEST_P(StoreConformanceTest, SessionStandsForItsTokenUntilExpiryOrDeletion) {
  ASSERT_TRUE(
      store_->CreateToken({"tok_1", "ws_1", "admin", Role::kAdmin, "h1", kT0, 0}, std::nullopt)
          .ok());
  ASSERT_TRUE(store_->CreateSession("s-1", "tok_1", kT0 + 1000).ok());
  ASSERT_TRUE(store_->CreateSession("s-2", "tok_1", kT0 + 1000).ok());

  Result<TokenRecord> t = store_->FindSessionToken("s-1", kT0 + 999);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->id, "tok_1");
  EXPECT_EQ(t->role, Role::kAdmin);
  EXPECT_EQ(store_->FindSessionToken("s-1", kT0 + 1000).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->FindSessionToken("unknown", kT0).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->DeleteSession("s-1").ok());
  EXPECT_EQ(store_->FindSessionToken("s-1", kT0).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->FindSessionToken("s-2", kT0).ok());
}

TEST_P(StoreConformanceTest, RevokedTokenEndsItsSessions) {
  ASSERT_TRUE(
      store_->CreateToken({"tok_1", "ws_1", "a", Role::kAdmin, "h1", kT0, 0}, std::nullopt).ok());
  ASSERT_TRUE(
      store_->CreateToken({"tok_2", "ws_1", "b", Role::kViewer, "h2", kT0, 0}, std::nullopt).ok());
  ASSERT_TRUE(store_->CreateSession("s-1", "tok_1", kT0 + 1000).ok());
  ASSERT_TRUE(store_->CreateSession("s-2", "tok_2", kT0 + 1000).ok());
  ASSERT_TRUE(
      store_->RevokeToken("ws_1", "tok_1", kT0 + 1, MakeAudit("aud_1", "ws_1", "r", "tok_1")).ok());
  EXPECT_EQ(store_->FindSessionToken("s-1", kT0 + 2).status().code(), StatusCode::kNotFound);
  Result<TokenRecord> still = store_->FindSessionToken("s-2", kT0 + 2);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->id, "tok_2");
}

TEST_P(StoreConformanceTest, PutWorkflowVersionsOnlyChangedDefinitions) {
  WorkflowRecord wf;
  wf.workspace_id = "ws_1";
  wf.id = "charge";
  wf.kind = "workflow";
  wf.mode = "standard";
  wf.definition = json{{"steps", json::array({{{"id", "a"}, {"type", "noop"}}})}};
  wf.created_at = wf.updated_at = kT0;

  Result<PutWorkflowResult> first =
      store_->PutWorkflow(wf, MakeAudit("aud_1", "ws_1", "a", "charge"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->workflow.version, 1);

  wf.updated_at = kT0 + 10;
  Result<PutWorkflowResult> same =
      store_->PutWorkflow(wf, MakeAudit("aud_2", "ws_1", "a", "charge"));
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->created);
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(same->workflow.version, 1);
  EXPECT_EQ(same->workflow.definition, wf.definition);

  const json v1 = wf.definition;
  wf.definition["steps"].push_back({{"id", "b"}, {"type", "noop"}});
  wf.updated_at = kT0 + 20;
  Result<PutWorkflowResult> changed =
      store_->PutWorkflow(wf, MakeAudit("aud_3", "ws_1", "a", "charge"));
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->created);
  EXPECT_TRUE(changed->changed);
  EXPECT_EQ(changed->workflow.version, 2);

  Result<WorkflowRecord> got = store_->GetWorkflow("ws_1", "charge");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->definition, wf.definition);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_EQ(got->updated_at, kT0 + 20);
  EXPECT_EQ(got->status, "active");

  Result<json> def1 = store_->GetDefinition("ws_1", "charge", 1);
  ASSERT_TRUE(def1.ok());
  EXPECT_EQ(*def1, v1);
  Result<json> def2 = store_->GetDefinition("ws_1", "charge", 2);
  ASSERT_TRUE(def2.ok());
  EXPECT_EQ(*def2, wf.definition);
  EXPECT_EQ(store_->GetDefinition("ws_1", "charge", 3).status().code(), StatusCode::kNotFound);
  // Workflows are per workspace.
  EXPECT_EQ(store_->GetWorkflow("ws_2", "charge").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetDefinition("ws_2", "charge", 1).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreConformanceTest, WorkflowStatusIsSetListedAndKeptAcrossNewVersions) {
  WorkflowRecord wf;
  wf.workspace_id = "ws_1";
  wf.id = "b-flow";
  wf.kind = "workflow";
  wf.mode = "standard";
  wf.definition = json{{"v", 1}};
  ASSERT_TRUE(store_->PutWorkflow(wf, MakeAudit("aud_1", "ws_1", "a", "b-flow")).ok());
  wf.id = "a-flow";
  ASSERT_TRUE(store_->PutWorkflow(wf, MakeAudit("aud_2", "ws_1", "a", "a-flow")).ok());

  Result<WorkflowRecord> disabled =
      store_->SetWorkflowStatus("ws_1", "b-flow", "disabled", kT0 + 5,
                                MakeAudit("aud_3", "ws_1", "workflow.status", "b-flow"));
  ASSERT_TRUE(disabled.ok());
  EXPECT_EQ(disabled->status, "disabled");
  EXPECT_EQ(disabled->updated_at, kT0 + 5);
  EXPECT_EQ(store_
                ->SetWorkflowStatus("ws_1", "missing", "disabled", kT0,
                                    MakeAudit("aud_4", "ws_1", "workflow.status", "missing"))
                .status()
                .code(),
            StatusCode::kNotFound);

  wf.id = "b-flow";
  wf.definition = json{{"v", 2}};
  Result<PutWorkflowResult> v2 = store_->PutWorkflow(wf, MakeAudit("aud_5", "ws_1", "a", "b-flow"));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->workflow.version, 2);
  EXPECT_EQ(store_->GetWorkflow("ws_1", "b-flow")->status, "disabled");

  Result<std::vector<WorkflowRecord>> listed = store_->ListWorkflows("ws_1");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "a-flow");
  EXPECT_EQ((*listed)[0].status, "active");
  EXPECT_EQ((*listed)[1].id, "b-flow");
  EXPECT_EQ((*listed)[1].version, 2);
  EXPECT_TRUE(store_->ListWorkflows("ws_2")->empty());
  // The failed status change wrote no audit entry.
  EXPECT_TRUE(store_->ListAudit("ws_1", "missing", "", 10)->empty());
}

}  // namespace
}  // namespace sw::store_test
