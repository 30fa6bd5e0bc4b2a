#pragma once
// A prepared statement: prepared once, bound by index or name, stepped, read, reset and reused.
//
// The first failure sticks: binding or stepping after an error does nothing, so a caller binds a
// whole row in one chain and checks once (ok() / error()). Parameters are 1-based, columns
// 0-based, as in the SQLite C interface.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"
#include "acemq/sqlite/database.hpp"

struct sqlite3_stmt;

namespace acemq::sqlite {

/// How long a statement is expected to live (sqlite3_prepare_v3 flags).
enum class lifetime : std::uint8_t {
  single_use = 0x00,  // prepared for one call
  persistent = 0x01,  // kept and reused for the life of the connection (SQLITE_PREPARE_PERSISTENT)
};

class statement {
 public:
  /// Prepares `sql` on `db`; a failure is kept and reported by prepared(), ok() and error().
  statement(const database& db, std::string_view sql, lifetime use = lifetime::single_use);
  statement(statement&& other) noexcept;
  statement& operator=(statement&&) = delete;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement();

  bool prepared() const noexcept;
  /// No failure so far (preparing, binding or stepping).
  bool ok() const noexcept;
  /// The failure so far, as "`what`: <SQLite's message>".
  error failure(std::string_view what) const;

  /// The index of a named parameter (":name", "@name", "$name" or "?NNN"); 0 when there is none,
  /// which makes the next bind fail with SQLITE_RANGE.
  int parameter(std::string_view name) const;

  /// Binds text. The bytes are not copied: they must stay alive until the statement is reset.
  statement& bind(int index, std::string_view text);
  /// Binds a blob (a zero-length blob, not NULL, for empty bytes). Not copied, as for text.
  statement& bind_blob(int index, byte_view bytes);
  statement& bind(int index, std::int64_t number);
  /// Binds the number, or NULL when there is none.
  statement& bind(int index, std::optional<std::int64_t> number);
  statement& bind_null(int index);

  /// Steps once: true when a row is available; false when done or on error (check ok()).
  bool step();
  /// Steps a statement that returns no rows, then resets it for reuse.
  result<void> run(std::string_view what);
  /// Makes the statement reusable (clears bindings); keeps an error for failure().
  void reset();

  bool is_null(int column) const;
  std::string text(int column) const;
  byte_vector blob(int column) const;
  std::int64_t integer(int column) const;

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = 0;
};

}  // namespace acemq::sqlite
