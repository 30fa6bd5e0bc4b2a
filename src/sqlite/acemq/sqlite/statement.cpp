// Prepared statements with sticky errors.
#include "acemq/sqlite/statement.hpp"

#include <sqlite3.h>

#include <utility>

namespace acemq::sqlite {

statement::statement(const database& db, std::string_view sql, lifetime use) : db_(db.handle()) {
  const unsigned int flags = use == lifetime::persistent ? SQLITE_PREPARE_PERSISTENT : 0U;
  rc_ = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &stmt_, nullptr);
}

statement::statement(statement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), rc_(other.rc_) {}

statement::~statement() {
  sqlite3_finalize(stmt_);
}

bool statement::prepared() const noexcept {
  return stmt_ != nullptr && (rc_ == SQLITE_OK || rc_ == SQLITE_ROW || rc_ == SQLITE_DONE);
}

bool statement::ok() const noexcept {
  return rc_ == SQLITE_OK || rc_ == SQLITE_ROW;
}

error statement::failure(std::string_view what) const {
  // A statement whose SQL was empty prepares to nothing without an error code.
  const int code = rc_ == SQLITE_OK && stmt_ == nullptr ? SQLITE_MISUSE : rc_;
  return make_error(code, what, sqlite3_errmsg(db_));
}

int statement::parameter(std::string_view name) const {
  if (stmt_ == nullptr) return 0;
  return sqlite3_bind_parameter_index(stmt_, std::string(name).c_str());
}

statement& statement::bind(int index, std::string_view text) {
  if (rc_ == SQLITE_OK) {
    rc_ = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  return *this;
}

statement& statement::bind_blob(int index, byte_view bytes) {
  if (rc_ == SQLITE_OK) {
    // A zero-length blob, not NULL, for an empty payload.
    static constexpr std::uint8_t empty = 0;
    rc_ = sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &empty : bytes.data(), bytes.size(),
                              SQLITE_STATIC);
  }
  return *this;
}

statement& statement::bind(int index, std::int64_t number) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, index, number);
  return *this;
}

statement& statement::bind(int index, std::optional<std::int64_t> number) {
  if (!number) return bind_null(index);
  return bind(index, *number);
}

statement& statement::bind_null(int index) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_null(stmt_, index);
  return *this;
}

bool statement::step() {
  if (stmt_ == nullptr || (rc_ != SQLITE_OK && rc_ != SQLITE_ROW)) return false;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    rc_ = SQLITE_ROW;
    return true;
  }
  rc_ = rc == SQLITE_DONE ? SQLITE_OK : rc;
  return false;
}

result<void> statement::run(std::string_view what) {
  if (!prepared()) return unexpected(failure(what));
  step();
  if (!ok()) {
    auto failed = failure(what);
    reset();
    return unexpected(std::move(failed));
  }
  reset();
  return {};
}

void statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (rc_ == SQLITE_ROW) rc_ = SQLITE_OK;
}

bool statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::string statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
}

byte_vector statement::blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr || size <= 0) return {};
  return byte_vector(data, data + size);
}

std::int64_t statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

}  // namespace acemq::sqlite
