// The "stepwell-wal" VFS (store/sqlite/wal_batching_vfs.h) over the fault-injecting VFS,
// which counts the writes that reach the disk: a commit's frames go down in one write,
// other connections read every commit, and a transaction bigger than the VFS gathers, or
// one that rewrites its own frames, reads back whole after a reopen and a power loss.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "fault_injection_vfs.h"
#include "store/sqlite/db.h"

namespace sw {
namespace {

using fault::FaultInjectionVfs;
using sqlite::SqliteConnection;

class WalBatchingVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw_walvfs_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/test.db";
    OpenWriter();
    ASSERT_TRUE(writer_->Exec("PRAGMA journal_mode=WAL").ok());
    ASSERT_TRUE(writer_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)").ok());
  }
  void TearDown() override {
    writer_.reset();
    vfs_.PowerOn();
    std::filesystem::remove_all(dir_);
  }
  void OpenWriter() {
    Result<std::unique_ptr<SqliteConnection>> writer =
        SqliteConnection::Open(path_, SqliteConnection::Mode::kWriteFullSync);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    writer_ = std::move(writer).value();
    ASSERT_TRUE(writer_->Exec("PRAGMA synchronous=FULL").ok());
  }
  // One value of the first column of `sql`'s first row, on `conn`.
  static std::string One(SqliteConnection& conn, const std::string& sql) {
    Result<sql::Statement*> stmt = conn.Prepare(sql);
    EXPECT_TRUE(stmt.ok()) << stmt.status().message();
    if (!stmt.ok()) {
      return "";
    }
    Result<bool> row = (*stmt)->Step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    std::string value = row.ok() && *row ? (*stmt)->Text(0) : "";
    (*stmt)->Reset();
    return value;
  }

  FaultInjectionVfs& vfs_ = FaultInjectionVfs::Install();
  std::string dir_;
  std::string path_;
  std::unique_ptr<SqliteConnection> writer_;
};

TEST_F(WalBatchingVfsTest, ACommitsFramesReachTheDiskInOneWriteAndEveryReaderSeesThem) {
  Result<std::unique_ptr<SqliteConnection>> reader =
      SqliteConnection::Open(path_, SqliteConnection::Mode::kRead);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(writer_->Exec("INSERT INTO t (body) VALUES (zeroblob(100))").ok());  // WAL begun
  for (int i = 1; i <= 20; ++i) {
    const fault::VfsCounters before = vfs_.Counters();
    // Five pages of overflow, a table page and the header: a commit of several frames.
    ASSERT_TRUE(writer_->Exec("INSERT INTO t (body) VALUES (randomblob(16000))").ok());
    const fault::VfsCounters after = vfs_.Counters();
    EXPECT_EQ(after.writes - before.writes, 1) << "commit " << i;
    EXPECT_EQ(after.syncs - before.syncs, 1) << "commit " << i;
    EXPECT_EQ(One(**reader, "SELECT count(*) FROM t"), std::to_string(i + 1));
    EXPECT_EQ(One(**reader, "SELECT length(body) FROM t ORDER BY id DESC LIMIT 1"), "16000");
  }
}

TEST_F(WalBatchingVfsTest, ABigTransactionThatRewritesItsFramesReadsBackWholeAfterAPowerLoss) {
  // A page cache of 8 pages spills the transaction's pages to the WAL while it runs, so
  // SQLite reads and rewrites its own frames before the commit; 24 MiB passes the
  // VFS's 4 MiB of gathering several times and each write's 120 KiB.
  ASSERT_TRUE(writer_->Exec("PRAGMA cache_size=8").ok());
  ASSERT_TRUE(writer_->Exec("BEGIN").ok());
  ASSERT_TRUE(writer_
                  ->Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < 3000) INSERT INTO t (id, body) SELECT i, "
                         "randomblob(8000) FROM n")
                  .ok());
  ASSERT_TRUE(writer_->Exec("UPDATE t SET body = zeroblob(8000) WHERE id % 2 = 0").ok());
  ASSERT_TRUE(writer_->Exec("COMMIT").ok());
  // Bytes from the start, middle and end of every 7th row's random body.
  const std::string kSample =
      "SELECT group_concat(hex(substr(body, 1, 4)) || hex(substr(body, 4000, 4)) || "
      "hex(substr(body, 7997, 4)), '') FROM t WHERE id % 7 = 1";
  const std::string sample = One(*writer_, kSample);
  ASSERT_EQ(sample.size(), 429u * 24);
  EXPECT_EQ(One(*writer_, "SELECT sum(body = zeroblob(8000)) || '/' || count(*) FROM t"),
            "1500/3000");

  vfs_.LosePower(fault::LossMode::kSomeTorn, 7);
  writer_.reset();
  ASSERT_EQ(vfs_.OpenFiles(), 0);
  vfs_.PowerOn();
  OpenWriter();
  EXPECT_EQ(One(*writer_, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(One(*writer_, "SELECT sum(body = zeroblob(8000)) || '/' || count(*) FROM t"),
            "1500/3000");
  EXPECT_EQ(One(*writer_, kSample), sample);
}

TEST_F(WalBatchingVfsTest, ACommitWithoutItsSyncIsLostWholeAtAPowerLoss) {
  ASSERT_TRUE(writer_->Exec("INSERT INTO t (id, body) VALUES (1, zeroblob(10))").ok());
  vfs_.FailSyncs(1);  // the next commit's frames are written, its fsync fails
  EXPECT_FALSE(writer_->Exec("INSERT INTO t (id, body) VALUES (2, randomblob(20000))").ok());
  vfs_.LosePower(fault::LossMode::kSomeLand, 3);
  writer_.reset();
  vfs_.PowerOn();
  OpenWriter();
  EXPECT_EQ(One(*writer_, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(One(*writer_, "SELECT group_concat(id) FROM t"), "1");
}

}  // namespace
}  // namespace sw
