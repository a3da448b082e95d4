// sql::Savepoint on a real SQLite connection: a write that fails is undone alone and
// the transaction goes on; when the database lost the transaction with the write, the
// answer is the savepoint's own failure, or the write's when that failure passes (a
// full disk, a lost database), so that the store treats the batch as transient.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sql/connection.h"
#include "store/sqlite/db.h"
#include "store/store.h"

namespace sw {
namespace {

class SavepointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw_savepoint_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Result<std::unique_ptr<sqlite::SqliteConnection>> opened =
        sqlite::SqliteConnection::Open(dir_ + "/t.db", sqlite::SqliteConnection::Mode::kWrite);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    db_ = std::move(opened).value();
    ASSERT_TRUE(db_->Exec("CREATE TABLE t(v INTEGER)").ok());
    ASSERT_TRUE(db_->Exec("BEGIN").ok());
    ASSERT_TRUE(db_->Exec("INSERT INTO t VALUES(1)").ok());
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The rows of t, as committed once the test's transaction is.
  int64_t CommittedRows() {
    Status committed = db_->Exec("COMMIT");
    EXPECT_TRUE(committed.ok() || committed.message().find("no transaction") != std::string::npos)
        << committed.message();
    Result<sql::Statement*> count = db_->Prepare("SELECT count(*) FROM t");
    EXPECT_TRUE(count.ok());
    EXPECT_TRUE(*(*count)->Step());
    const int64_t rows = (*count)->Int(0);
    (*count)->Reset();
    return rows;
  }

  std::string dir_;
  std::unique_ptr<sqlite::SqliteConnection> db_;
  const sql::Savepoint savepoint_{"w"};
};

TEST_F(SavepointTest, AWriteThatSucceedsIsKept) {
  Status written;
  Status kept = savepoint_.Run(
      *db_, [&] { return db_->Exec("INSERT INTO t VALUES(2)"); }, written);
  EXPECT_TRUE(kept.ok()) << kept.message();
  EXPECT_TRUE(written.ok());
  EXPECT_EQ(CommittedRows(), 2);
}

TEST_F(SavepointTest, AFailedWriteIsUndoneAloneAndTheTransactionGoesOn) {
  Status written;
  Status kept = savepoint_.Run(
      *db_,
      [&] {
        EXPECT_TRUE(db_->Exec("INSERT INTO t VALUES(2)").ok());
        return db_->Exec("INSERT INTO no_such_table VALUES(3)");
      },
      written);
  EXPECT_TRUE(kept.ok()) << kept.message();
  EXPECT_FALSE(written.ok());
  EXPECT_EQ(CommittedRows(), 1);  // the insert before the failure is undone with it
}

// The database rolled the whole transaction back with the write (here the write ends
// it itself, as SQLite does after an I/O error): the savepoint is gone, and the answer
// says the transaction is in doubt.
TEST_F(SavepointTest, ALostTransactionAnswersTheSavepointsFailure) {
  Status written;
  Status kept = savepoint_.Run(
      *db_,
      [&] {
        EXPECT_TRUE(db_->Exec("ROLLBACK").ok());
        return Status(StatusCode::kInternal, "sqlite: disk I/O error");
      },
      written);
  EXPECT_FALSE(kept.ok());
  EXPECT_NE(kept.message().find("no such savepoint"), std::string::npos) << kept.message();
  EXPECT_FALSE(IsTransientWriteFailure(kept));
  EXPECT_EQ(written.message(), "sqlite: disk I/O error");
  EXPECT_EQ(CommittedRows(), 0);
}

// A write that ran out of disk, or lost the database, says best why the transaction was
// lost: the answer passes (IsTransientWriteFailure), so the store's writer recovers once
// there is space again rather than stop for good.
TEST_F(SavepointTest, ALostTransactionAnswersTheWritesFailureWhenItPasses) {
  for (std::string_view reason : {kDiskFull, kDatabaseUnavailable}) {
    SCOPED_TRACE(reason);
    Status written;
    Status kept = savepoint_.Run(
        *db_,
        [&] {
          EXPECT_TRUE(db_->Exec("ROLLBACK").ok());
          return Status(StatusCode::kResourceExhausted, "the write failed", std::string(reason));
        },
        written);
    EXPECT_FALSE(kept.ok());
    EXPECT_EQ(kept.reason(), reason);
    EXPECT_TRUE(IsTransientWriteFailure(kept));
    EXPECT_EQ(CommittedRows(), 0);
    ASSERT_TRUE(db_->Exec("BEGIN").ok());
  }
}

}  // namespace
}  // namespace sw
