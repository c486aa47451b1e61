#include "core/sqlite.h"

#include <fmt/format.h>

namespace lifeline::sqlite {

Status SqliteError(std::string_view context, sqlite3* db) {
  if (!db) return Status::Infra(fmt::format("{}: out of memory", context));
  return Status::Infra(fmt::format("{}: {} (sqlite code {})", context, sqlite3_errmsg(db),
                                   sqlite3_extended_errcode(db)));
}

Stmt& Stmt::Bind(int index, int64_t v) {
  sqlite3_bind_int64(stmt_.get(), index, v);
  return *this;
}
Stmt& Stmt::Bind(int index, double v) {
  sqlite3_bind_double(stmt_.get(), index, v);
  return *this;
}
Stmt& Stmt::Bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
Stmt& Stmt::BindBlob(int index, std::string_view bytes) {
  sqlite3_bind_blob64(stmt_.get(), index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindNull(int index) {
  sqlite3_bind_null(stmt_.get(), index);
  return *this;
}
Stmt& Stmt::Bind(int index, const std::optional<std::string>& text) {
  return text ? Bind(index, std::string_view(*text)) : BindNull(index);
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(fmt::format("step \"{:.60}\"", sqlite3_sql(stmt_.get())),
                     sqlite3_db_handle(stmt_.get()));
}

Status Stmt::Run() {
  for (;;) {
    LIFELINE_ASSIGN_OR_RETURN(auto row, Step());
    if (!row) break;
  }
  Reset();
  return Status::Ok();
}

void Stmt::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::string Stmt::Text(int col) const {
  const void* p = sqlite3_column_blob(stmt_.get(), col);
  int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Result<Db> Db::Open(const std::string& path, Mode mode) {
  int flags = mode == Mode::kReadOnly    ? SQLITE_OPEN_READONLY
              : mode == Mode::kReadWrite ? SQLITE_OPEN_READWRITE
                                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure; it must be closed.
  Db db;
  db.db_.reset(raw);
  db.path_ = path;
  if (rc != SQLITE_OK) return SqliteError("open " + path, raw);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  if (mode != Mode::kReadOnly && path != ":memory:") {
    LIFELINE_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL"));
  }
  return db;
}

Status Db::Exec(std::string_view sql) {
  std::string copy(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_.get(), copy.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Infra(fmt::format("{}: \"{:.60}\": {}", path_, copy, msg));
  }
  return Status::Ok();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(raw);
    return SqliteError(fmt::format("prepare \"{:.60}\"", sql), db_.get());
  }
  return Stmt(raw);
}

Result<int64_t> Db::QueryInt(std::string_view sql) {
  LIFELINE_ASSIGN_OR_RETURN(auto stmt, Prepare(sql));
  LIFELINE_ASSIGN_OR_RETURN(auto row, stmt.Step());
  if (!row) return Status::Infra(fmt::format("\"{:.60}\" returned no row", sql));
  return stmt.Int(0);
}

Transaction::Transaction(Db& db) : db_(db), begun_(db.Exec("BEGIN IMMEDIATE")) {}

Transaction::~Transaction() {
  if (!done_ && begun_.ok()) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  LIFELINE_RETURN_IF_ERROR(begun_);
  done_ = true;
  return db_.Exec("COMMIT");
}

}  // namespace lifeline::sqlite
