#include "acemq/ace/token_store.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

namespace acemq::ace {

token_store::token_store(const token_store_limits& limits, const clock& time)
    : limits_(limits),
      clock_(time),
      by_key_(limits.max_tokens),
      uploads_(time, rate_limit_settings{limits.uploads_burst, limits.uploads_per_second,
                                         limits.max_tracked_addresses}) {}

bool token_store::allow_upload(std::string_view remote_address) {
  return uploads_.try_take(per_address_key(remote_address));
}

void token_store::forget_locked(const std::string& identity, const entry& gone) {
  for (const auto& name : gone.names) {
    if (auto it = by_client_.find(name); it != by_client_.end() && it->second == identity) {
      by_client_.erase(it);
    }
  }
  if (gone.kid) {
    if (auto it = by_kid_.find(*gone.kid); it != by_kid_.end() && it->second == identity) {
      by_kid_.erase(it);
    }
  }
}

void token_store::make_room_locked() {
  if (by_key_.size() < by_key_.capacity()) return;
  // Expired or revoked tokens go first: they can never be used again.
  const std::int64_t now = clock_.unix_seconds();
  std::vector<std::pair<std::string, entry>> dead;
  by_key_.erase_if([&](const std::string& identity, const entry& item) {
    if (item.token->ends_at() > now) return false;
    dead.emplace_back(identity, item);
    return true;
  });
  for (const auto& [identity, item] : dead) {
    forget_locked(identity, item);
    if (journal_ != nullptr) journal_->removed(identity);
  }
  evictions_ += dead.size();
  if (by_key_.size() < by_key_.capacity()) return;
  // Then the least recently used one.
  if (auto* oldest = by_key_.oldest()) {
    const std::pair<std::string, entry> victim = *oldest;
    by_key_.erase(victim.first);
    forget_locked(victim.first, victim.second);
    if (journal_ != nullptr) journal_->removed(victim.first);
    ++evictions_;
  }
}

bool token_store::may_take_locked(const std::string& current,
                                  const broker::principal_identity& holder) {
  const validated_token_ptr there = usable_locked(current);
  return !there || holder_of(*there) == holder;
}

bool token_store::put(const validated_token_ptr& token, std::string_view client_id) {
  // Without a key identity the token could not be told apart from others for the same key.
  const std::string& identity = token->key_identity;
  if (identity.empty()) return false;
  const broker::principal_identity holder = holder_of(*token);
  entry item;
  item.token = token;
  if (!client_id.empty()) item.names.emplace_back(client_id);
  if (token->claims.client_id) item.names.push_back(*token->claims.client_id);
  if (token->claims.subject) item.names.push_back(*token->claims.subject);
  if (const auto& kid = token->pop_key.kid()) {
    item.kid = std::string(as_string_view(*kid));
  } else if (token->claims.cnf && token->claims.cnf->key_id) {
    item.kid = std::string(as_string_view(*token->claims.cnf->key_id));
  }

  std::lock_guard lock(mutex_);
  // One client's upload never displaces another's token, nor re-points a name or a key id that
  // denotes another holder's live token (RFC 9431 2.2.2 replaces a token of the same client).
  if (!may_take_locked(identity, holder)) return false;
  std::erase_if(item.names, [&](const std::string& name) {
    const auto bound = by_client_.find(name);
    return bound != by_client_.end() && !may_take_locked(bound->second, holder);
  });
  if (item.kid) {
    const auto bound = by_kid_.find(*item.kid);
    if (bound != by_kid_.end() && !may_take_locked(bound->second, holder)) item.kid.reset();
  }
  // A reconnect with the token already held changes nothing worth recording.
  bool changed = true;
  if (entry* existing = by_key_.find(identity)) {
    // RFC 9431 2.2.2: a token linked to the same key overwrites the existing one.
    const entry previous = *existing;
    forget_locked(identity, previous);
    if (previous.token->hash != token->hash) ++replacements_;
    // Names the older token was known by keep pointing at the key (same client).
    // At most max_token_names of them, the most recent first: one token presented under ever new
    // client identifiers must not grow the entry (and its journal record) without bound.
    for (const auto& name : previous.names) {
      if (item.names.size() >= max_token_names) break;
      if (std::find(item.names.begin(), item.names.end(), name) == item.names.end()) {
        item.names.push_back(name);
      }
    }
    const bool same_names =
        previous.names.size() == item.names.size() &&
        std::all_of(item.names.begin(), item.names.end(), [&](const std::string& name) {
          return std::find(previous.names.begin(), previous.names.end(), name) !=
                 previous.names.end();
        });
    changed = previous.token->hash != token->hash || !same_names;
    by_key_.erase(identity);
  } else {
    make_room_locked();
  }
  for (const auto& name : item.names)
    by_client_[name] = identity;
  if (item.kid) by_kid_[*item.kid] = identity;
  if (journal_ != nullptr && changed) journal_->saved(identity, *token, item.names);
  by_key_.put(identity, std::move(item));
  return true;
}

void token_store::set_journal(token_journal* journal) {
  std::lock_guard lock(mutex_);
  journal_ = journal;
}

namespace {

// Record layout: u8 version (1), u8 name count, per name u16 length (big endian) and the bytes,
// then the token bytes to the end.
constexpr std::uint8_t record_version = 1;
constexpr std::size_t max_record_names = max_token_names;

}  // namespace

byte_vector encode_journal_record(const validated_token& token,
                                  const std::vector<std::string>& names) {
  byte_vector out;
  out.push_back(record_version);
  std::size_t count = 0;
  for (const auto& name : names) {
    if (count < max_record_names && name.size() <= 0xFFFF) ++count;
  }
  out.push_back(static_cast<std::uint8_t>(count));
  std::size_t written = 0;
  for (const auto& name : names) {
    if (written == count) break;
    if (name.size() > 0xFFFF) continue;
    out.push_back(static_cast<std::uint8_t>(name.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(name.size() & 0xFF));
    out.insert(out.end(), name.begin(), name.end());
    ++written;
  }
  out.insert(out.end(), token.raw.begin(), token.raw.end());
  return out;
}

std::optional<journal_record> decode_journal_record(byte_view record) {
  if (record.size() < 2 || record[0] != record_version || record[1] > max_record_names) {
    return std::nullopt;
  }
  journal_record out;
  std::size_t at = 2;
  for (std::size_t i = 0; i < record[1]; ++i) {
    if (record.size() - at < 2) return std::nullopt;
    const std::size_t length = (std::size_t{record[at]} << 8) | record[at + 1];
    at += 2;
    if (record.size() - at < length) return std::nullopt;
    out.names.emplace_back(as_string_view(record.subspan(at, length)));
    at += length;
  }
  if (at == record.size()) return std::nullopt;  // no token
  out.raw.assign(record.begin() + static_cast<std::ptrdiff_t>(at), record.end());
  return out;
}

validated_token_ptr token_store::usable_locked(const std::string& identity) {
  entry* found = by_key_.find(identity);
  if (found == nullptr) return nullptr;
  if (found->token->ends_at() <= clock_.unix_seconds()) return nullptr;
  return found->token;
}

validated_token_ptr token_store::find_for_client(std::string_view client_id) {
  std::lock_guard lock(mutex_);
  const auto it = by_client_.find(std::string(client_id));
  return it == by_client_.end() ? nullptr : usable_locked(it->second);
}

validated_token_ptr token_store::find_by_kid(byte_view kid) {
  std::lock_guard lock(mutex_);
  const auto it = by_kid_.find(std::string(as_string_view(kid)));
  return it == by_kid_.end() ? nullptr : usable_locked(it->second);
}

std::size_t token_store::size() const {
  std::lock_guard lock(mutex_);
  return by_key_.size();
}

std::uint64_t token_store::evictions() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

std::uint64_t token_store::replacements() const {
  std::lock_guard lock(mutex_);
  return replacements_;
}

}  // namespace acemq::ace
