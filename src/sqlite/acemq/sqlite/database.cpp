// Opening a connection with the project's pragmas, and running statements that return no rows.
#include "acemq/sqlite/database.hpp"

#include <sqlite3.h>

#include <utility>

namespace acemq::sqlite {

result<database> database::open(const std::string& path, const open_options& options) {
  sqlite3* handle = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  // sqlite3_open_v2 returns a handle (to report the error with) even when it fails.
  database db(handle);
  if (rc != SQLITE_OK) return unexpected(db.last_error(rc, "cannot open " + path));
  sqlite3_busy_timeout(handle, static_cast<int>(options.busy_timeout.count()));
  // Reading the header first: a file that is not a database fails here (SQLITE_NOTADB), before
  // any statement could write to it.
  sqlite3_stmt* probe = nullptr;
  int read = sqlite3_prepare_v2(handle, "SELECT count(*) FROM sqlite_master", -1, &probe, nullptr);
  if (read == SQLITE_OK) read = sqlite3_step(probe);
  sqlite3_finalize(probe);
  if (read != SQLITE_ROW) {
    error failure = db.last_error(read, "not a readable SQLite database");
    // A file that cannot be read as a database is corrupt whatever the exact code (e.g. a short
    // file reports SQLITE_NOTADB, a damaged header SQLITE_CORRUPT).
    if (failure.code != errc::busy) failure.code = errc::corrupt;
    return unexpected(std::move(failure));
  }
  // Per-connection settings: they write nothing to the file.
  const char* synchronous = options.synchronous == sync_mode::full ? "PRAGMA synchronous=FULL;"
                                                                   : "PRAGMA synchronous=NORMAL;";
  if (auto set = db.execute(synchronous, "pragmas"); !set) return unexpected(set.error());
  if (options.foreign_keys) {
    if (auto set = db.execute("PRAGMA foreign_keys=ON;", "pragmas"); !set) {
      return unexpected(set.error());
    }
  }
  return db;
}

database::database(database&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

database& database::operator=(database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
  }
  return *this;
}

database::~database() {
  // close_v2: statements not yet finalized keep the connection alive until they are.
  sqlite3_close_v2(db_);
}

result<void> database::use_write_ahead_log() {
  return execute("PRAGMA journal_mode=WAL;", "journal mode");
}

result<void> database::execute(std::string_view sql, std::string_view what) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  error failure = make_error(rc, what, message != nullptr ? message : sqlite3_errstr(rc));
  sqlite3_free(message);
  return unexpected(std::move(failure));
}

std::int64_t database::changes() const noexcept {
  return sqlite3_changes64(db_);
}

std::int64_t database::last_insert_rowid() const noexcept {
  return sqlite3_last_insert_rowid(db_);
}

error database::last_error(int sqlite_code, std::string_view what) const {
  return make_error(sqlite_code, what,
                    db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(sqlite_code));
}

}  // namespace acemq::sqlite
