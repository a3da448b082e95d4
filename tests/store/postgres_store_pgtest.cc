// The PostgreSQL store: the conformance suite (store_conformance.h) on a fresh database
// per test, on a real PostgreSQL server the test run starts (ctest's fixture
// `postgres`, tests/support/pg_cluster.py), and what is PostgreSQL's own: the schema
// migrated once however many instances open it, and a store that outlives a restart of
// the server.
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
#include <string>

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

TEST(PgPlaceholders, AreNumberedAsSqliteNumbersThemOutsideQuotes) {
  std::vector<bool> used;
  EXPECT_EQ(
      postgres::NumberPlaceholders("SELECT ?, ?3, ? FROM t WHERE a = '?' AND \"b?\" = ?1", used),
      "SELECT $1, $3, $4 FROM t WHERE a = '?' AND \"b?\" = $1");
  EXPECT_EQ(used, (std::vector<bool>{true, false, true, true}));
}

}  // namespace
}  // namespace sw
