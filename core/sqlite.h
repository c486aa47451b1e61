// A thin owner of SQLite handles: open (WAL), prepared statements, RAII
// transactions, errors carrying sqlite3_errmsg. A Db and its statements are
// used from one thread at a time; statements must die before their Db.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace lifeline::sqlite {

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// "context: <sqlite3_errmsg> (<extended code>)", exit code 3.
Status SqliteError(std::string_view context, sqlite3* db);

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : stmt_(s) {}

  // Parameters are 1-based, as in SQLite.
  Stmt& Bind(int index, int64_t v);
  Stmt& Bind(int index, double v);
  Stmt& Bind(int index, std::string_view text);  // copied (SQLITE_TRANSIENT)
  Stmt& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Stmt& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Stmt& BindBlob(int index, std::string_view bytes);
  Stmt& BindNull(int index);
  Stmt& Bind(int index, const std::optional<std::string>& text);  // nullopt → NULL

  // True when a row is available, false when done.
  Result<bool> Step();
  // Runs to completion, for statements that return no rows.
  Status Run();
  void Reset();  // also clears bindings

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
  double Double(int col) const { return sqlite3_column_double(stmt_.get(), col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }
  std::string Text(int col) const;
  int columns() const { return sqlite3_column_count(stmt_.get()); }
  const char* column_name(int col) const { return sqlite3_column_name(stmt_.get(), col); }
  int column_type(int col) const { return sqlite3_column_type(stmt_.get(), col); }
  sqlite3_stmt* raw() const { return stmt_.get(); }  // for column access beyond these helpers

 private:
  std::unique_ptr<sqlite3_stmt, StmtDeleter> stmt_;
};

class Db {
 public:
  enum class Mode { kReadOnly, kReadWrite, kCreate };

  // Opens `path` (":memory:" for an in-memory database). Read-write handles
  // use WAL journaling and a busy timeout.
  static Result<Db> Open(const std::string& path, Mode mode);

  Status Exec(std::string_view sql);
  Result<Stmt> Prepare(std::string_view sql);
  // Runs `sql` and returns the first column of the first row as an integer.
  Result<int64_t> QueryInt(std::string_view sql);

  sqlite3* handle() const { return db_.get(); }
  const std::string& path() const { return path_; }

 private:
  std::unique_ptr<sqlite3, DbDeleter> db_;
  std::string path_;
};

// Begins on construction; rolls back on destruction unless committed.
class Transaction {
 public:
  explicit Transaction(Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  const Status& begun() const { return begun_; }
  Status Commit();

 private:
  Db& db_;
  Status begun_;
  bool done_ = false;
};

}  // namespace lifeline::sqlite
