// The PostgreSQL store: the conformance suite (store_conformance.h) on an empty
// database per test, on a real PostgreSQL server the test run starts (ctest's fixture
// `postgres`, tests/support/pg_cluster.py), and two instances' delivery claims racing.
//
// A test's database is one of kDatabases, `sw_test_<i>`, migrated when first used and
// emptied (every table but schema_migrations, and the sequences) before each test takes
// it. Creating and migrating a database costs seconds, copying one (CREATE DATABASE …
// TEMPLATE) and dropping it most of one, emptying its small tables milliseconds; so a
// test sees what a fresh database shows at a fraction of the cost. ctest runs each test
// in a process of its own, several at once: a test holds a session advisory lock on its
// database until it ends, so two never share one.
//
// The server's base URL (a role that may create databases) comes from
// STEPWELL_TEST_PG_URL, or else the file the fixture wrote (SW_PG_URL_FILE).
#include <gtest/gtest.h>
#include <stdlib.h>

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
#include "store/postgres/schema.h"
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

// Bounds how many tests use the server at once without waiting for one another.
constexpr int kDatabases = 16;
// Database i is held under lock kDatabaseLock + i (any numbers apart from the store's
// own migration lock).
constexpr int64_t kDatabaseLock = 0x5377546573740000;

// Deletes every row but the schema's version and restarts the sequences, so ids come
// out as on a new database.
constexpr char kEmptyTables[] = R"sql(
DO $$
DECLARE
  t text;
  s regclass;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables
           WHERE schemaname = 'public' AND tablename <> 'schema_migrations' LOOP
    EXECUTE format('DELETE FROM %I', t);
  END LOOP;
  FOR s IN SELECT c.oid::regclass FROM pg_class c
           WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace LOOP
    PERFORM setval(s, 1, false);
  END LOOP;
END $$)sql";

Result<bool> QueryBool(sql::Connection& db, const std::string& sql) {
  Result<sql::Statement*> stmt = db.Prepare(sql);
  if (!stmt.ok()) {
    return stmt.status();
  }
  Result<bool> row = (*stmt)->Step();
  const bool value = row.ok() && *row && (*stmt)->Int(0) != 0;
  (*stmt)->Reset();
  if (!row.ok()) {
    return row.status();
  }
  return value;
}

// Takes one of the databases for the session of `admin` (waiting when every one is
// taken) and answers its index.
Result<int> LockDatabase(sql::Connection& admin) {
  for (int i = 0; i < kDatabases; ++i) {
    Result<bool> got = QueryBool(
        admin, "SELECT pg_try_advisory_lock(" + std::to_string(kDatabaseLock + i) + ")::int");
    if (!got.ok() || *got) {
      return got.ok() ? Result<int>(i) : Result<int>(got.status());
    }
  }
  const int i = ::getpid() % kDatabases;
  if (Status s = admin.Exec("SELECT pg_advisory_lock(" + std::to_string(kDatabaseLock + i) + ")");
      !s.ok()) {
    return s;
  }
  return i;
}

// Database `name` at this build's schema with no rows: created when missing, migrated
// forward, made again when it is newer than this build understands (left by another
// build on a server that outlives a test run), then emptied.
Status PrepareDatabase(sql::Connection& admin, const std::string& base, const std::string& name,
                       bool remade = false) {
  Result<bool> exists =
      QueryBool(admin, "SELECT count(*)::int FROM pg_database WHERE datname = '" + name + "'");
  if (!exists.ok()) {
    return exists.status();
  }
  if (!*exists) {
    if (Status s = admin.Exec("CREATE DATABASE " + name); !s.ok()) {
      return s;
    }
  }
  Result<std::unique_ptr<postgres::PgConnection>> conn =
      postgres::PgConnection::Open(WithDatabase(base, name));
  if (!conn.ok()) {
    return conn.status();
  }
  Status migrated = postgres::Migrate(**conn);
  if (migrated.code() == StatusCode::kFailedPrecondition && !remade) {
    conn->reset();
    if (Status s = admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); !s.ok()) {
      return s;
    }
    return PrepareDatabase(admin, base, name, /*remade=*/true);
  }
  if (!migrated.ok()) {
    return migrated;
  }
  return (*conn)->Exec(kEmptyTables);
}

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sw_pgstore_XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

// An empty database on the test server, held until the backend goes (and a directory
// for its secret key).
class PostgresBackend final : public store_test::StoreBackend {
 public:
  PostgresBackend() : base_(BaseUrl()), dir_(MakeTempDir()) { created_ = TakeDatabase(); }
  ~PostgresBackend() override { std::filesystem::remove_all(dir_); }

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
  Status TakeDatabase() {
    Result<std::unique_ptr<postgres::PgConnection>> admin =
        postgres::PgConnection::Open(WithDatabase(base_, "postgres"));
    if (!admin.ok()) {
      return admin.status();
    }
    admin_ = std::move(admin).value();
    Result<int> taken = LockDatabase(*admin_);
    if (!taken.ok()) {
      return taken.status();
    }
    name_ = "sw_test_" + std::to_string(*taken);
    return PrepareDatabase(*admin_, base_, name_);
  }

  std::string base_;
  std::string dir_;
  // Its session holds the lock on database name_ until the backend goes.
  std::unique_ptr<postgres::PgConnection> admin_;
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
