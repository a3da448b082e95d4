// WalCheckpointer: the thread checkpoints once the WAL passes its mark, so the WAL is
// written from its start again without a commit paying for it; a commit at the
// in-place mark checkpoints itself; what the thread copied reads back after a reopen.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "store/sqlite/db.h"
#include "store/sqlite/wal_checkpointer.h"

namespace sw::sqlite {
namespace {

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw_wal_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/test.db";
    Result<std::unique_ptr<SqliteConnection>> writer =
        SqliteConnection::Open(path_, SqliteConnection::Mode::kWriteFullSync);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    writer_ = std::move(writer).value();
    ASSERT_TRUE(writer_->Exec("PRAGMA journal_mode=WAL").ok());
    ASSERT_TRUE(writer_->Exec("PRAGMA synchronous=FULL").ok());
    ASSERT_TRUE(writer_->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)").ok());
  }
  void TearDown() override {
    writer_.reset();
    std::filesystem::remove_all(dir_);
  }

  // `n` commits of a row of a page or more each.
  void Commit(int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(writer_->Exec("INSERT INTO t (body) VALUES (zeroblob(4096))").ok());
    }
  }
  template <typename Pred>
  static bool Eventually(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<SqliteConnection> writer_;
};

TEST_F(WalCheckpointerTest, TheThreadCheckpointsPastTheMarkAndTheWalStartsOver) {
  Result<std::unique_ptr<WalCheckpointer>> checkpointer = WalCheckpointer::Start(
      path_, {.background_pages = 20, .step_pages = 10, .in_place_pages = 100000});
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status().message();
  (*checkpointer)->Attach(*writer_);
  Commit(3);
  EXPECT_EQ((*checkpointer)->counts().background, 0);  // below the mark
  Commit(30);
  ASSERT_TRUE(Eventually([&] { return (*checkpointer)->counts().background > 0; }));
  // Once every frame is copied (the thread looks again until it is), the next commit
  // writes the WAL from its start.
  ASSERT_TRUE(Eventually([&] {
    Commit(1);
    return (*checkpointer)->counts().wal_pages < 20;
  }));
  EXPECT_EQ((*checkpointer)->counts().in_place, 0);
}

TEST_F(WalCheckpointerTest, ACommitAtTheInPlaceMarkCheckpointsItself) {
  Result<std::unique_ptr<WalCheckpointer>> checkpointer = WalCheckpointer::Start(
      path_, {.background_pages = 100000, .step_pages = 10, .in_place_pages = 20});
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status().message();
  (*checkpointer)->Attach(*writer_);
  Commit(30);
  EXPECT_GE((*checkpointer)->counts().in_place, 1);
  EXPECT_EQ((*checkpointer)->counts().background, 0);
  Commit(1);
  EXPECT_LT((*checkpointer)->counts().wal_pages, 20);
}

TEST_F(WalCheckpointerTest, WhatTheThreadCopiedReadsBackAfterAReopen) {
  {
    Result<std::unique_ptr<WalCheckpointer>> checkpointer = WalCheckpointer::Start(
        path_, {.background_pages = 5, .step_pages = 5, .in_place_pages = 100000});
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status().message();
    (*checkpointer)->Attach(*writer_);
    Commit(200);
    ASSERT_TRUE(Eventually([&] { return (*checkpointer)->counts().background > 3; }));
  }
  Commit(1);  // after the checkpointer is gone: the writer still commits
  writer_.reset();
  Result<std::unique_ptr<SqliteConnection>> reader =
      SqliteConnection::Open(path_, SqliteConnection::Mode::kRead);
  ASSERT_TRUE(reader.ok());
  Result<sql::Statement*> count = (*reader)->Prepare("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count.ok());
  Result<bool> row = (*count)->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ((*count)->Int(0), 201);
}

}  // namespace
}  // namespace sw::sqlite
