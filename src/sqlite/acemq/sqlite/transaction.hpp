#pragma once
// A write transaction that rolls back unless committed (RAII).

#include "acemq/sqlite/database.hpp"

namespace acemq::sqlite {

class transaction {
 public:
  /// BEGIN IMMEDIATE: takes the write lock now, so a busy database fails here rather than at the
  /// first write (sqlite.org/lang_transaction.html).
  static result<transaction> begin(database& db);

  transaction(transaction&& other) noexcept;
  transaction& operator=(transaction&&) = delete;
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  /// Rolls back when neither commit() nor rollback() succeeded.
  ~transaction();

  /// Makes the changes durable; on failure the transaction is still rolled back by the destructor.
  result<void> commit();
  /// Undoes the changes now.
  void rollback();

 private:
  explicit transaction(database& db) noexcept : db_(&db) {}

  database* db_;
  bool active_ = true;
};

}  // namespace acemq::sqlite
