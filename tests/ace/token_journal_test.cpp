// The token store's journal (what the broker persists of the ACE tokens it holds, RFC 9431
// 2.4.2): what is recorded, when, and the record format, including damaged records.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "acemq/ace/authz_info.hpp"
#include "acemq/ace/token_store.hpp"
#include "fixture.hpp"

namespace acemq::ace::testing {
namespace {

class recording_journal final : public token_journal {
 public:
  void saved(std::string_view key_identity, const validated_token& token,
             const std::vector<std::string>& names) override {
    saves.emplace_back(std::string(key_identity), encode_journal_record(token, names));
  }
  void removed(std::string_view key_identity) override { removals.emplace_back(key_identity); }
  std::vector<std::pair<std::string, byte_vector>> saves;
  std::vector<std::string> removals;
};

validated_token_ptr validate(world& w, const std::string& token) {
  auto outcome = w.validator->validate_local(as_bytes(token));
  EXPECT_TRUE(outcome.has_value());
  return outcome ? *outcome : nullptr;
}

TEST(TokenJournal, RecordsANewTokenOnceAndRestoresItFromTheRecord) {
  world w;
  recording_journal journal;
  w.store.set_journal(&journal);
  const std::string token = w.token();
  const auto validated = validate(w, token);
  ASSERT_NE(validated, nullptr);
  w.store.put(validated, "device-7");
  ASSERT_EQ(journal.saves.size(), 1u);
  EXPECT_EQ(journal.saves[0].first, validated->key_identity);
  // A reconnect with the same token under the same name records nothing new.
  w.store.put(validated, "device-7");
  EXPECT_EQ(journal.saves.size(), 1u);

  const auto record = decode_journal_record(journal.saves[0].second);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(std::string(as_string_view(record->raw)), token);
  ASSERT_FALSE(record->names.empty());
  EXPECT_EQ(record->names[0], "device-7");

  // A restarted broker: a fresh store, the bytes validated again, the names restored.
  world restarted;
  restarted.as_key = w.as_key;
  restarted.settings.keys.issuer_keys = {*w.as_key.public_key()};
  restarted.rebuild();
  auto again = restarted.validator->validate_local(record->raw);
  ASSERT_TRUE(again.has_value());
  for (const auto& name : record->names)
    restarted.store.put(*again, name);
  EXPECT_NE(restarted.store.find_for_client("device-7"), nullptr);
}

TEST(TokenJournal, NewerTokenForTheKeyIsRecordedAndEvictionsAreRemoved) {
  ace_settings base;
  base.store.max_tokens = 1;
  world w(false, base);
  recording_journal journal;
  w.store.set_journal(&journal);
  w.store.put(validate(w, w.token()), "a");
  w.time.advance(std::chrono::seconds(1));
  // RFC 9431 2.2.2: a newer token for the same PoP key replaces the older one.
  w.store.put(validate(w, w.token(pop_kind::ed25519, R"([["x",["pub"]]])")), "a");
  EXPECT_EQ(journal.saves.size(), 2u);
  EXPECT_TRUE(journal.removals.empty());
  // A token for another key does not fit: the older key's token is evicted and removed.
  const std::string first_identity = journal.saves[0].first;
  w.store.put(validate(w, w.token(pop_kind::p256)), "b");
  ASSERT_EQ(journal.removals.size(), 1u);
  EXPECT_EQ(journal.removals[0], first_identity);
}

TEST(TokenJournal, OneTokenUnderManyClientNamesKeepsTheMostRecentOnes) {
  world w;
  recording_journal journal;
  w.store.set_journal(&journal);
  const auto validated = validate(w, w.token());
  ASSERT_NE(validated, nullptr);
  for (int i = 0; i < 100; ++i)
    w.store.put(validated, "client-" + std::to_string(i));
  // Bounded: the newest max_token_names names (including the token's own claims) stay indexed.
  EXPECT_NE(w.store.find_for_client("client-99"), nullptr);
  EXPECT_NE(w.store.find_for_client("client-90"), nullptr);
  EXPECT_EQ(w.store.find_for_client("client-0"), nullptr);
  ASSERT_FALSE(journal.saves.empty());
  const auto record = decode_journal_record(journal.saves.back().second);
  ASSERT_TRUE(record.has_value());
  EXPECT_LE(record->names.size(), max_token_names);
  EXPECT_EQ(record->names[0], "client-99");
  // Alternating between two names already held records nothing new.
  const std::size_t saves = journal.saves.size();
  w.store.put(validated, "client-98");
  w.store.put(validated, "client-99");
  EXPECT_EQ(journal.saves.size(), saves);
}

TEST(TokenJournal, DamagedRecordsAreRefused) {
  world w;
  const auto validated = validate(w, w.token());
  ASSERT_NE(validated, nullptr);
  const byte_vector good = encode_journal_record(*validated, {"name-1", "name-2"});
  ASSERT_TRUE(decode_journal_record(good).has_value());
  // Every truncation that cuts into the header or a name is refused, never read past the end.
  for (std::size_t size = 0; size < 2 + 2 + 6 + 2 + 6 + 1; ++size) {
    EXPECT_FALSE(decode_journal_record(byte_view(good).first(size)).has_value()) << size;
  }
  byte_vector other_version = good;
  other_version[0] = 2;
  EXPECT_FALSE(decode_journal_record(other_version).has_value());
  byte_vector too_many = good;
  too_many[1] = 200;
  EXPECT_FALSE(decode_journal_record(too_many).has_value());
}

}  // namespace
}  // namespace acemq::ace::testing
