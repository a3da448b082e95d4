// The SQLite store: the conformance suite (store_conformance.h) on a fresh database
// file per test, and what is SQLite's own: the pre-sized WAL a killed store recovers
// from, and the schema version kept across opens.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/db.h"
#include "store/sqlite/sqlite_store.h"
#include "store_conformance.h"

namespace sw {
namespace {

using nlohmann::json;
using store_test::kT0;
using store_test::StoreConformanceTest;

std::string MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sw_store_XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

// A temporary directory for the database file, removed with the backend.
class SqliteBackend final : public store_test::StoreBackend {
 public:
  SqliteBackend() : dir_(MakeTempDir()) {}
  ~SqliteBackend() override { std::filesystem::remove_all(dir_); }

  Result<std::unique_ptr<Store>> Open() override {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    if (!opened.ok()) {
      return opened.status();
    }
    return std::unique_ptr<Store>(std::move(opened).value());
  }

  Status ExecRaw(const std::string& sql) override {
    Result<std::unique_ptr<sqlite::SqliteConnection>> conn = sqlite::SqliteConnection::Open(
        dir_ + "/stepwell.db", sqlite::SqliteConnection::Mode::kWrite);
    if (!conn.ok()) {
      return conn.status();
    }
    return (*conn)->Exec(sql);
  }

 private:
  std::string dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformanceTest,
                         ::testing::Values(store_test::BackendParam{
                             "sqlite", [] { return std::make_unique<SqliteBackend>(); }}),
                         store_test::BackendParamName);

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    Open();
  }

  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
  }

  RunRecord NewRun(const std::string& id) {
    RunRecord r;
    r.id = id;
    r.workspace_id = "ws_1";
    r.workflow_id = "charge";
    r.workflow_version = 1;
    r.created_at = r.updated_at = kT0;
    return r;
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
};

int64_t ReadUserVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

void SetUserVersion(const std::string& path, int64_t v) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  const std::string sql = "PRAGMA user_version = " + std::to_string(v);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

// The WAL is pre-sized with zeros. A copy of the files taken while the store is open
// (what a killed process leaves) recovers every commit from the WAL, the zeros after
// them are ignored, and the recovered store writes on.
TEST_F(SqliteStoreTest, AKilledStoresWalRecoversEveryCommitDespiteItsZeroTail) {
  EXPECT_GE(std::filesystem::file_size(dir_ + "/stepwell.db-wal"), 16u << 20);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->CreateRun(NewRun("run_" + std::to_string(i)), std::nullopt).ok());
  }
  const std::string copy = MakeTempDir();
  for (const char* name : {"stepwell.db", "stepwell.db-wal", "stepwell.db-shm"}) {
    std::filesystem::copy_file(dir_ + "/" + name, copy + "/" + name);
  }
  Result<std::unique_ptr<SqliteStore>> recovered = SqliteStore::Open(copy);
  ASSERT_TRUE(recovered.ok()) << recovered.status().message();
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE((*recovered)->GetRun("run_" + std::to_string(i), false).ok()) << i;
  }
  EXPECT_TRUE((*recovered)->CreateRun(NewRun("run_after"), std::nullopt).ok());
  EXPECT_TRUE((*recovered)->GetRun("run_after", false).ok());
  recovered->reset();
  std::filesystem::remove_all(copy);
}

TEST_F(SqliteStoreTest, ReopenKeepsTheSchemaVersionAndRefusesANewerOne) {
  ASSERT_TRUE(store_->CreateWorkspace({"ws_1", "acme", kT0}).ok());
  store_.reset();
  const std::string db_path = dir_ + "/stepwell.db";
  const int64_t version = ReadUserVersion(db_path);
  EXPECT_GE(version, 1);
  Open();
  store_.reset();
  EXPECT_EQ(ReadUserVersion(db_path), version);

  SetUserVersion(db_path, version + 1);
  Result<std::unique_ptr<SqliteStore>> newer = SqliteStore::Open(dir_);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);

  SetUserVersion(db_path, version);
  Open();
  EXPECT_EQ(store_->FindWorkspaceBySlug("acme")->id, "ws_1");
}

// A database migrated from before the field index holds runs with no rows in it
// (fields_indexed = 0): field filters still find them, by their JSON, beside new runs.
TEST_F(SqliteStoreTest, FieldFiltersFindRunsWrittenBeforeTheFieldIndex) {
  RunRecord old = NewRun("run_1");
  old.input = nlohmann::json{{"customer", {{"id", 42}}}};
  ASSERT_TRUE(store_->CreateRun(old, std::nullopt).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ + "/stepwell.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DELETE FROM run_fields; UPDATE runs SET fields_indexed = 0 WHERE id = "
                         "'run_1'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Open();
  RunRecord fresh = NewRun("run_2");
  fresh.input = old.input;
  ASSERT_TRUE(store_->CreateRun(fresh, std::nullopt).ok());

  RunFilter f;
  f.json_matches = {RunJsonMatch{RunJsonMatch::Field::kInput, {"customer", "id"}, 42}};
  Result<RunPage> page = store_->ListRuns("ws_1", f);
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, "run_2");
  EXPECT_EQ(page->items[1].id, "run_1");
  f.json_matches[0].value = 43;
  EXPECT_TRUE(store_->ListRuns("ws_1", f)->items.empty());
}

}  // namespace
}  // namespace sw
