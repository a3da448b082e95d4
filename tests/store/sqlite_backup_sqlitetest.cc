// Backup and restore of the SQLite store (store/sqlite/backup.h): a backup taken while
// another thread commits holds every commit made before it began, in a bounded number
// of copy steps; a restore brings back the store and the carried files and refuses what
// is not a Stepwell store, is damaged, or is newer than this build.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "../engine/wait_until.h"
#include "store/sqlite/backup.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_store.h"
#include "store_conformance.h"

namespace sw::sqlite {
namespace {

namespace fs = std::filesystem;

std::string MakeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "sw_backup_XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr);
  return tmpl;
}

RunRecord NewRun(int n) {
  RunRecord r;
  r.id = "run_" + std::to_string(1000000 + n);
  r.workspace_id = "ws_1";
  r.workflow_id = "charge";
  r.workflow_version = 1;
  r.input = nlohmann::json{{"n", n}, {"pad", std::string(3000, 'x')}};
  r.created_at = r.updated_at = store_test::kT0 + n;
  return r;
}

void ExecSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
            SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

int64_t CountTables(const std::string& path, const std::string& like) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  const std::string sql =
      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name LIKE '" + like + "'";
  sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

class SqliteBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    out_dir_ = MakeTempDir();
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
  }

  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
    fs::remove_all(out_dir_);
  }

  std::string db() const { return dir_ + "/stepwell.db"; }
  std::string out(const std::string& name) const { return out_dir_ + "/" + name; }

  std::string dir_;
  std::string out_dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteBackupTest, ABackupUnderCommitsHoldsEveryCommitBeforeItInBoundedSteps) {
  std::atomic<int> committed{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int n = 0; !stop.load(); ++n) {
      if (!store_->CreateRun(NewRun(n), std::nullopt).ok()) {
        return;
      }
      committed.store(n + 1);
    }
  });
  ASSERT_TRUE(test::WaitUntil([&] { return committed.load() >= 200; }, std::chrono::seconds(60)));
  const int before = committed.load();
  BackupOptions options;
  options.pages_per_step = 1;  // as many steps as pages, each between the writer's commits
  options.files = {{.name = "secret.key", .content = std::string("k\0ey", 4), .mode = 0600}};
  Result<BackupSummary> backup = BackupStore(db(), out("b"), options);
  const int after_backup = committed.load();
  ASSERT_TRUE(test::WaitUntil([&] { return committed.load() >= after_backup + 50; },
                              std::chrono::seconds(60)));
  stop.store(true);
  writer.join();
  ASSERT_TRUE(backup.ok()) << backup.status().message();
  EXPECT_GE(backup->runs, before);
  EXPECT_LE(backup->runs, after_backup);
  // One step a page, and the copy never restarted for the writer's commits: the store
  // has well over a hundred pages, and no more steps than pages (plus the last).
  EXPECT_GT(backup->steps, 100);
  EXPECT_LE(backup->steps, backup->bytes / 4096 + 2);
  EXPECT_FALSE(fs::exists(out("b.partial")));

  const std::string restored = out_dir_ + "/restored";
  fs::create_directories(restored);
  Result<BackupSummary> staged = StageRestore(out("b"), restored + "/staging");
  ASSERT_TRUE(staged.ok()) << staged.status().message();
  EXPECT_EQ(staged->runs, backup->runs);
  EXPECT_FALSE(staged->plain_store);
  EXPECT_EQ(staged->files, options.files);
  ASSERT_TRUE(InstallRestore(restored + "/staging", restored + "/stepwell.db").ok());
  EXPECT_EQ(CountTables(restored + "/stepwell.db", "stepwell_backup%"), 0);
  Result<std::unique_ptr<SqliteStore>> copy = SqliteStore::Open(restored);
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  for (int n = 0; n < before; ++n) {
    Result<RunRecord> run = (*copy)->GetRun(NewRun(n).id, false);
    ASSERT_TRUE(run.ok()) << n;
    EXPECT_EQ(run->input["n"], n);
  }
  EXPECT_FALSE((*copy)->GetRun(NewRun(committed.load() - 1).id, false).ok());
}

TEST_F(SqliteBackupTest, APlainCopyOfAStoreRestoresWithoutFiles) {
  ASSERT_TRUE(store_->CreateRun(NewRun(1), std::nullopt).ok());
  store_.reset();  // checkpointed: the file alone holds everything
  fs::copy_file(db(), out("plain.db"));
  Result<BackupSummary> staged = StageRestore(out("plain.db"), out("staging"));
  ASSERT_TRUE(staged.ok()) << staged.status().message();
  EXPECT_TRUE(staged->plain_store);
  EXPECT_EQ(staged->runs, 1);
  EXPECT_TRUE(staged->files.empty());
}

TEST_F(SqliteBackupTest, BackupOfAMissingOrForeignStoreIsRefusedAndWritesNothing) {
  Result<BackupSummary> missing = BackupStore(out_dir_ + "/none/stepwell.db", out("b"), {});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  ExecSql(out("foreign.db"), "CREATE TABLE t (x)");
  Result<BackupSummary> foreign = BackupStore(out("foreign.db"), out("b"), {});
  EXPECT_EQ(foreign.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(foreign.status().message().find("not a Stepwell store"), std::string::npos);
  EXPECT_FALSE(fs::exists(out("b")));
  EXPECT_FALSE(fs::exists(out("b.partial")));
}

TEST_F(SqliteBackupTest, RestoreRefusesWhatIsNotAStepwellStoreAndLeavesNoStaging) {
  EXPECT_EQ(StageRestore(out("none"), out("staging")).status().code(), StatusCode::kNotFound);
  {
    std::ofstream junk(out("junk"));
    for (int i = 0; i < 300; ++i) {
      junk << "this is not a database\n";
    }
  }
  Result<BackupSummary> junk = StageRestore(out("junk"), out("staging"));
  EXPECT_EQ(junk.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(junk.status().message(), out("junk") + " is not a SQLite database");
  EXPECT_FALSE(fs::exists(out("staging")));

  ExecSql(out("foreign.db"), "CREATE TABLE t (x)");
  Result<BackupSummary> foreign = StageRestore(out("foreign.db"), out("staging"));
  EXPECT_EQ(foreign.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(foreign.status().message().rfind(out("foreign.db"), 0), 0u);
  EXPECT_FALSE(fs::exists(out("staging")));
}

TEST_F(SqliteBackupTest, RestoreRefusesABackupOfANewerSchema) {
  ASSERT_TRUE(BackupStore(db(), out("b"), {}).ok());
  ExecSql(out("b"), "PRAGMA user_version = " + std::to_string(SchemaVersion() + 1));
  Result<BackupSummary> staged = StageRestore(out("b"), out("staging"));
  EXPECT_EQ(staged.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(staged.status().message().find("newer Stepwell"), std::string::npos);
  EXPECT_FALSE(fs::exists(out("staging")));
}

TEST_F(SqliteBackupTest, RestoreRefusesADamagedBackup) {
  for (int n = 0; n < 100; ++n) {
    ASSERT_TRUE(store_->CreateRun(NewRun(n), std::nullopt).ok());
  }
  ASSERT_TRUE(BackupStore(db(), out("b"), {}).ok());
  const auto size = fs::file_size(out("b"));
  ASSERT_GT(size, 40960u);
  {
    // Garbage over the middle of the file: the pages of the runs table.
    std::fstream f(out("b"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    for (int i = 0; i < 16384; ++i) {
      f.put(static_cast<char>((i * 7919) & 0xff));
    }
  }
  Result<BackupSummary> staged = StageRestore(out("b"), out("staging"));
  EXPECT_EQ(staged.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(staged.status().message().find("damaged"), std::string::npos)
      << staged.status().message();
  EXPECT_FALSE(fs::exists(out("staging")));
}

TEST_F(SqliteBackupTest, InstallReplacesAStoreAndItsWal) {
  ASSERT_TRUE(BackupStore(db(), out("b"), {}).ok());
  ASSERT_TRUE(store_->CreateRun(NewRun(7), std::nullopt).ok());
  store_.reset();
  fs::copy_file(db(), out("stepwell.db"));
  std::ofstream(out("stepwell.db-wal")) << "stale";
  ASSERT_TRUE(StageRestore(out("b"), out("staging")).ok());
  ASSERT_TRUE(InstallRestore(out("staging"), out("stepwell.db")).ok());
  EXPECT_FALSE(fs::exists(out("stepwell.db-wal")));
  EXPECT_FALSE(fs::exists(out("staging")));
  Result<std::unique_ptr<SqliteStore>> copy = SqliteStore::Open(out_dir_);
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  EXPECT_FALSE((*copy)->GetRun(NewRun(7).id, false).ok());
}

}  // namespace
}  // namespace sw::sqlite
