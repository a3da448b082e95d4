// The PostgreSQL store: the conformance suite (store_conformance.h) on a fresh database
// per test, on a real PostgreSQL server the test run starts (ctest's fixture
// `postgres`, tests/support/pg_cluster.py), and what is PostgreSQL's own: the schema
// migrated once however many instances open it, a store that outlives a restart of
// the server, and two instances' delivery claims racing.
//
// The server's base URL (a role that may create databases) comes from
// STEPWELL_TEST_PG_URL, or else the file the fixture wrote (SW_PG_URL_FILE).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres/db.h"
#include "store/postgres/postgres_store.h"
#include "store/secret_box.h"
#include "store_conformance.h"

namespace sw {
namespace {

using store_test::StoreConformanceTest;

std::string BaseUrl() {
  if (const char* url = std::getenv("STEPWELL_TEST_PG_URL"); url != nullptr && *url != '\0') {
    return url;
  }
  std::ifstream in(SW_PG_URL_FILE);
  std::string url;
  std::getline(in, url);
  return url;
}

// `base` (…/DB) with its database replaced by `db`.
std::string WithDatabase(const std::string& base, const std::string& db) {
  return base.substr(0, base.rfind('/') + 1) + db;
}

Status ExecOn(const std::string& url, const std::string& sql) {
  Result<std::unique_ptr<postgres::PgConnection>> conn = postgres::PgConnection::Open(url);
  if (!conn.ok()) {
    return conn.status();
  }
  return (*conn)->Exec(sql);
}

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sw_pgstore_XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

// A fresh database on the test server (and a directory for its secret key), dropped
// with the backend.
class PostgresBackend final : public store_test::StoreBackend {
 public:
  PostgresBackend() : base_(BaseUrl()), dir_(MakeTempDir()) {
    static std::atomic<int> serial{0};
    name_ = "sw_" + std::to_string(::getpid()) + "_" + std::to_string(serial++);
    created_ = ExecOn(WithDatabase(base_, "postgres"), "CREATE DATABASE " + name_);
  }
  ~PostgresBackend() override {
    ExecOn(WithDatabase(base_, "postgres"), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    std::filesystem::remove_all(dir_);
  }

  Result<std::unique_ptr<Store>> Open() override {
    if (!created_.ok()) {
      return created_;
    }
    Result<std::shared_ptr<const SecretBox>> box = SecretBox::ForDataDir(dir_);
    if (!box.ok()) {
      return box.status();
    }
    Result<std::unique_ptr<PostgresStore>> opened =
        PostgresStore::Open(WithDatabase(base_, name_), std::move(box).value());
    if (!opened.ok()) {
      return opened.status();
    }
    return std::unique_ptr<Store>(std::move(opened).value());
  }

  Status ExecRaw(const std::string& sql) override {
    return ExecOn(WithDatabase(base_, name_), sql);
  }

 private:
  std::string base_;
  std::string dir_;
  std::string name_;
  Status created_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformanceTest,
                         ::testing::Values(store_test::BackendParam{
                             "postgres", [] { return std::make_unique<PostgresBackend>(); }}),
                         store_test::BackendParamName);

// Two stores on one database are two instances: their writers commit apart, so their
// claims really race (FOR UPDATE SKIP LOCKED and the compare-and-set on the claim).
TEST(PgDeliveryClaims, TwoInstancesClaimingAtOnceNeverGetOneDelivery) {
  PostgresBackend backend;
  Result<std::unique_ptr<Store>> a = backend.Open();
  ASSERT_TRUE(a.ok()) << a.status().message();
  Result<std::unique_ptr<Store>> b = backend.Open();
  ASSERT_TRUE(b.ok()) << b.status().message();
  NotificationChannels hooks;
  for (int i = 0; i < 25; ++i) {
    hooks.webhooks.push_back({"https://hooks.example.test/" + std::to_string(i)});
  }
  AuditEntry audit;
  audit.id = "aud_1";
  audit.workspace_id = "ws_1";
  audit.action = "notification_channels.update";
  ASSERT_TRUE((*a)->PutNotificationChannels("ws_1", hooks, audit).ok());
  constexpr int64_t kNow = 1'700'000'000'000;
  for (int n = 0; n < 8; ++n) {
    NotificationRecord note;
    note.id = "ntf_0" + std::to_string(n);
    note.workspace_id = "ws_1";
    note.kind = "approval_requested";
    note.created_at = kNow;
    ASSERT_TRUE((*a)->AddNotification(note).ok());
  }
  // Two claimers per instance, each claiming as an outbox does (its own come back).
  std::vector<std::set<std::string>> got(4);
  std::vector<std::thread> threads;
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&, c] {
      Store& store = c % 2 == 0 ? **a : **b;
      const std::string claimer = "i" + std::to_string(c);
      for (int i = 0; i < 40; ++i) {
        const int limit = 4 + static_cast<int>(got[c].size());
        Result<std::vector<OutboxItem>> claimed =
            store.ClaimDueDeliveries(claimer, kNow + i, 60000, limit);
        ASSERT_TRUE(claimed.ok()) << claimed.status().message();
        for (const OutboxItem& item : *claimed) {
          got[c].insert(item.delivery.id);
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  std::set<std::string> all;
  size_t total = 0;
  for (const std::set<std::string>& ids : got) {
    all.insert(ids.begin(), ids.end());
    total += ids.size();
  }
  EXPECT_EQ(total, all.size());  // no delivery went to two claimers
  EXPECT_EQ(all.size(), 200u);   // and every one went to someone
}

TEST(PgPlaceholders, AreNumberedAsSqliteNumbersThemOutsideQuotes) {
  std::vector<bool> used;
  EXPECT_EQ(
      postgres::NumberPlaceholders("SELECT ?, ?3, ? FROM t WHERE a = '?' AND \"b?\" = ?1", used),
      "SELECT $1, $3, $4 FROM t WHERE a = '?' AND \"b?\" = $1");
  EXPECT_EQ(used, (std::vector<bool>{true, false, true, true}));
}

}  // namespace
}  // namespace sw
