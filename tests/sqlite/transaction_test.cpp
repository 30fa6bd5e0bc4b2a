// acemq::sqlite::transaction: committed work stays, a failed step or an early return rolls back.

#include "acemq/sqlite/transaction.hpp"

#include <gtest/gtest.h>

#include "acemq/sqlite/statement.hpp"
#include "temporary_directory.hpp"

namespace acemq::sqlite {
namespace {

std::int64_t count_rows(database& db) {
  statement count(db, "SELECT count(*) FROM t");
  EXPECT_TRUE(count.step());
  return count.integer(0);
}

database open_with_table(const std::string& path) {
  auto db = database::open(path);
  EXPECT_TRUE(db.has_value());
  EXPECT_TRUE(db->execute("CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY)", "schema"));
  return std::move(*db);
}

/// Inserts the keys in one transaction; stops (and rolls back) at the first failure.
result<void> insert_all(database& db, std::initializer_list<std::string_view> keys) {
  auto tx = transaction::begin(db);
  if (!tx) return unexpected(tx.error());
  statement insert(db, "INSERT INTO t VALUES (?1)");
  for (const std::string_view key : keys) {
    insert.bind(1, key);
    if (auto done = insert.run("insert"); !done) return done;
  }
  return tx->commit();
}

TEST(transaction, committed_rows_stay) {
  testing::temporary_directory dir;
  const std::string path = dir.file("t.db");
  {
    database db = open_with_table(path);
    ASSERT_TRUE(insert_all(db, {"a", "b"}));
  }
  database db = open_with_table(path);
  EXPECT_EQ(count_rows(db), 2);
}

TEST(transaction, a_failed_step_rolls_back_the_whole_transaction) {
  database db = open_with_table(":memory:");
  ASSERT_TRUE(insert_all(db, {"a"}));
  // "b" is written, then the duplicate "a" fails: "b" must not remain.
  auto failed = insert_all(db, {"b", "a", "c"});
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, errc::constraint);
  EXPECT_EQ(count_rows(db), 1);
  // The connection is usable again: no transaction was left open.
  ASSERT_TRUE(insert_all(db, {"b"}));
  EXPECT_EQ(count_rows(db), 2);
}

TEST(transaction, an_explicit_rollback_undoes_the_changes) {
  database db = open_with_table(":memory:");
  auto tx = transaction::begin(db);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(db.execute("INSERT INTO t VALUES ('x')", "insert"));
  tx->rollback();
  EXPECT_EQ(count_rows(db), 0);
}

TEST(transaction, a_second_writer_is_refused_while_one_is_active) {
  testing::temporary_directory dir;
  const std::string path = dir.file("busy.db");
  database first = open_with_table(path);
  auto second = database::open(path, {sync_mode::full, false, std::chrono::milliseconds(0)});
  ASSERT_TRUE(second);
  auto holding = transaction::begin(first);
  ASSERT_TRUE(holding);
  auto waiting = transaction::begin(*second);
  ASSERT_FALSE(waiting);
  EXPECT_EQ(waiting.error().code, errc::busy);
}

}  // namespace
}  // namespace acemq::sqlite
