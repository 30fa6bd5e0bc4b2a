// BEGIN IMMEDIATE / COMMIT / ROLLBACK around a unit of work.
#include "acemq/sqlite/transaction.hpp"

#include <sqlite3.h>

#include <utility>

namespace acemq::sqlite {

result<transaction> transaction::begin(database& db) {
  const int rc = sqlite3_exec(db.handle(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return unexpected(db.last_error(rc, "begin transaction"));
  return transaction(db);
}

transaction::transaction(transaction&& other) noexcept
    : db_(other.db_), active_(std::exchange(other.active_, false)) {}

transaction::~transaction() {
  if (active_) rollback();
}

result<void> transaction::commit() {
  const int rc = sqlite3_exec(db_->handle(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return unexpected(db_->last_error(rc, "commit"));
  active_ = false;
  return {};
}

void transaction::rollback() {
  if (!active_) return;
  // A failed ROLLBACK (the transaction was already rolled back by SQLite) leaves nothing to undo.
  sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  active_ = false;
}

}  // namespace acemq::sqlite
