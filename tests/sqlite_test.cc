#include "core/sqlite.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace lifeline::sqlite {
namespace {

TEST(Sqlite, PreparedStatementsBindAndReadBack) {
  auto db = Db::Open(":memory:", Db::Mode::kCreate);
  ASSERT_TRUE(db.ok()) << db.status().message();
  ASSERT_TRUE(db->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, b BLOB, x TEXT)").ok());
  auto insert = db->Prepare("INSERT INTO t VALUES (?, ?, ?, ?)");
  ASSERT_TRUE(insert.ok());
  insert->Bind(1, std::string_view("a")).Bind(2, int64_t{42}).BindBlob(3, std::string("\0z", 2));
  insert->Bind(4, std::optional<std::string>());
  ASSERT_TRUE(insert->Run().ok());
  auto select = db->Prepare("SELECT k, n, b, x FROM t");
  ASSERT_TRUE(select.ok());
  auto row = select->Step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(select->Text(0), "a");
  EXPECT_EQ(select->Int(1), 42);
  EXPECT_EQ(select->Text(2), std::string("\0z", 2));
  EXPECT_TRUE(select->IsNull(3));
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  auto db = Db::Open(":memory:", Db::Mode::kCreate);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db->Exec("CREATE TABLE t (n INTEGER)").ok());
  {
    Transaction txn(*db);
    ASSERT_TRUE(txn.begun().ok());
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
  }
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 0);
  {
    Transaction txn(*db);
    ASSERT_TRUE(db->Exec("INSERT INTO t VALUES (1)").ok());
    ASSERT_TRUE(txn.Commit().ok());
  }
  EXPECT_EQ(*db->QueryInt("SELECT count(*) FROM t"), 1);
}

TEST(Sqlite, ErrorsCarrySqliteMessage) {
  auto db = Db::Open(":memory:", Db::Mode::kCreate);
  ASSERT_TRUE(db.ok());
  auto bad = db->Prepare("SELECT * FROM missing_table");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no such table: missing_table"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(bad.status().code(), ExitCode::kInfrastructure);
}

TEST(Sqlite, FileDatabasesUseWal) {
  const std::string path = ::testing::TempDir() + "/lifeline_sqlite_test.db";
  std::remove(path.c_str());
  {
    auto db = Db::Open(path, Db::Mode::kCreate);
    ASSERT_TRUE(db.ok());
    auto mode = db->Prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode.ok() && *mode->Step());
    EXPECT_EQ(mode->Text(0), "wal");
  }
  auto ro = Db::Open(path + ".nope", Db::Mode::kReadOnly);
  EXPECT_FALSE(ro.ok());
  std::remove(path.c_str());
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
}

}  // namespace
}  // namespace lifeline::sqlite
