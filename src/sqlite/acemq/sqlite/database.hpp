#pragma once
// One SQLite connection, opened with the project's settings. Opening reads the file before it
// writes anything, so a file that is not a database is reported and left untouched; the
// write-ahead log, the one setting stored in the file itself, is switched on by a separate call
// once the caller has checked the file is its own.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "acemq/sqlite/error.hpp"

struct sqlite3;

namespace acemq::sqlite {

/// PRAGMA synchronous (sqlite.org/pragma.html#pragma_synchronous) in WAL mode.
enum class sync_mode : std::uint8_t {
  normal = 0x01,  // durable across a process crash; the last commits may be lost on power loss
  full = 0x02,    // every commit fsyncs the log: durable across power loss too
};

/// Per-connection settings applied by database::open.
struct open_options {
  sync_mode synchronous = sync_mode::full;
  bool foreign_keys = false;
  /// How long a statement waits for a lock held by another connection before SQLITE_BUSY.
  std::chrono::milliseconds busy_timeout{5000};
};

/// An open connection (move-only). Used from one thread at a time (SQLITE_OPEN_NOMUTEX).
class database {
 public:
  /// Opens (creating if needed) the database at `path` (":memory:" for tests), applies `options`
  /// and reads the schema: a file that is not a readable database is an error value (corrupt)
  /// and the file is not modified.
  static result<database> open(const std::string& path, const open_options& options = {});

  database(database&& other) noexcept;
  database& operator=(database&& other) noexcept;
  database(const database&) = delete;
  database& operator=(const database&) = delete;
  ~database();

  /// PRAGMA journal_mode=WAL: readers never block the writer and a commit appends to the log.
  /// Persistent in the file; an in-memory database keeps its memory journal.
  result<void> use_write_ahead_log();

  /// Runs one or more SQL statements that return no rows (schema steps, pragmas).
  result<void> execute(std::string_view sql, std::string_view what);

  /// Rows changed by the last INSERT, UPDATE or DELETE.
  std::int64_t changes() const noexcept;
  /// The rowid of the last successful INSERT.
  std::int64_t last_insert_rowid() const noexcept;
  /// An error for `sqlite_code` with this connection's last error message.
  error last_error(int sqlite_code, std::string_view what) const;

  /// The raw connection, for statements and transactions of this layer.
  sqlite3* handle() const noexcept { return db_; }

 private:
  explicit database(sqlite3* db) noexcept : db_(db) {}

  sqlite3* db_ = nullptr;
};

}  // namespace acemq::sqlite
