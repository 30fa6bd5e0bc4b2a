#include "acemq/ace/revocation.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <utility>

namespace acemq::ace {

namespace json = boost::json;

result<revocation_page, token::failure> parse_revocation_page(std::string_view text,
                                                              std::size_t max_entries) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8;
  const json::value root = json::parse(text, ec, {}, options);
  if (ec || !root.is_object()) return unexpected(token::failure::bad_encoding);
  const json::object& body = root.get_object();
  revocation_page page;
  const auto* cursor = body.if_contains("cursor");
  if (cursor == nullptr || !cursor->is_int64() || cursor->get_int64() < 0) {
    return unexpected(token::failure::bad_encoding);
  }
  page.cursor = cursor->get_int64();
  if (const auto* more = body.if_contains("more")) {
    if (!more->is_bool()) return unexpected(token::failure::bad_encoding);
    page.more = more->get_bool();
  }
  const auto* revoked = body.if_contains("revoked");
  if (revoked == nullptr || !revoked->is_array()) return unexpected(token::failure::bad_encoding);
  if (revoked->get_array().size() > max_entries) return unexpected(token::failure::too_large);
  for (const json::value& item : revoked->get_array()) {
    if (!item.is_object()) return unexpected(token::failure::bad_encoding);
    const json::object& object = item.get_object();
    const auto* hash = object.if_contains("token_hash");
    const auto* exp = object.if_contains("exp");
    if (hash == nullptr || !hash->is_string() || hash->get_string().empty() ||
        hash->get_string().size() > 128 || exp == nullptr || !exp->is_int64()) {
      return unexpected(token::failure::bad_encoding);
    }
    revocation_page::entry entry;
    entry.token_hash = std::string(hash->get_string());
    entry.expires_at = exp->get_int64();
    if (const auto* at = object.if_contains("revoked_at"); at != nullptr && at->is_int64()) {
      entry.revoked_at = at->get_int64();
    }
    if (const auto* iat = object.if_contains("iat"); iat != nullptr) {
      if (!iat->is_int64()) return unexpected(token::failure::bad_encoding);
      entry.issued_at = iat->get_int64();
    }
    page.revoked.push_back(std::move(entry));
  }
  return page;
}

revocation_list::revocation_list(std::size_t max_entries, const clock& time)
    : max_entries_(max_entries == 0 ? 1 : max_entries), clock_(time) {}

bool revocation_list::is_revoked(std::string_view hash_text) const {
  std::lock_guard lock(mutex_);
  return revoked_.contains(std::string(hash_text));
}

bool revocation_list::below_floor(std::optional<std::int64_t> issued_at) const {
  std::lock_guard lock(mutex_);
  return below_floor_locked(issued_at);
}

bool revocation_list::below_floor_locked(std::optional<std::int64_t> issued_at) const {
  // A token without iat cannot show it was issued after the floor.
  return floor_ != 0 && (!issued_at || *issued_at <= floor_);
}

std::int64_t revocation_list::floor() const {
  std::lock_guard lock(mutex_);
  return floor_;
}

void revocation_list::track(const validated_token_ptr& token) {
  std::lock_guard lock(mutex_);
  live_.emplace(token->hash_text, token);
  if (live_.size() > live_high_water_) {
    // Forget tokens nobody holds any more; the bound grows with the number really alive.
    std::erase_if(live_, [](const auto& item) { return item.second.expired(); });
    live_high_water_ = std::max<std::size_t>(64, live_.size() * 2);
  }
}

void revocation_list::purge_locked(std::int64_t now_unix) {
  // A revoked token past its exp is refused anyway: its entry is no longer needed.
  std::erase_if(revoked_,
                [now_unix](const auto& item) { return item.second.expires_at <= now_unix; });
  // Every token the floor stands for has expired: it would refuse only tokens nobody revoked.
  if (floor_ != 0 && floor_until_ <= now_unix) floor_ = floor_until_ = 0;
}

void revocation_list::raise_floor_locked() {
  auto oldest = revoked_.begin();
  for (auto it = revoked_.begin(); it != revoked_.end(); ++it) {
    if (it->second.issued_no_later_than < oldest->second.issued_no_later_than) oldest = it;
  }
  floor_ = std::max(floor_, oldest->second.issued_no_later_than);
  // The floor refuses every token issued at or before it: their entries are redundant.
  std::erase_if(revoked_, [this](const auto& item) {
    if (item.second.issued_no_later_than > floor_) return false;
    floor_until_ = std::max(floor_until_, item.second.expires_at);
    return true;
  });
}

std::size_t revocation_list::apply(const revocation_page& page) {
  std::vector<validated_token_ptr> marked;
  const auto mark = [&marked](validated_token_ptr token, std::int64_t now) {
    std::int64_t expected = 0;
    if (token->revoked_at.compare_exchange_strong(expected, now)) {
      marked.push_back(std::move(token));
    }
  };
  listener notify;
  {
    std::lock_guard lock(mutex_);
    const std::int64_t now = clock_.unix_seconds();
    purge_locked(now);
    const std::int64_t floor_before = floor_;
    for (const auto& entry : page.revoked) {
      const std::int64_t issued = entry.issued_no_later_than();
      if (entry.expires_at > now && !below_floor_locked(issued)) {
        revoked_[entry.token_hash] = revoked_token{entry.expires_at, issued};
        // Full: never forget a revoked token; a floor on iat refuses it instead.
        while (revoked_.size() > max_entries_)
          raise_floor_locked();
      }
      const auto [first, last] = live_.equal_range(entry.token_hash);
      for (auto it = first; it != last; ++it) {
        if (auto token = it->second.lock()) mark(std::move(token), now);
      }
    }
    if (floor_ != floor_before) {
      // The live tokens the raised floor covers end now, like revoked ones.
      for (const auto& [hash, held] : live_) {
        auto token = held.lock();
        if (token && below_floor_locked(token->claims.issued_at)) mark(std::move(token), now);
      }
    }
    if (page.cursor > cursor_) cursor_ = page.cursor;
    notify = listener_;
  }
  if (notify) {
    for (const auto& token : marked)
      notify(token);
  }
  return marked.size();
}

std::int64_t revocation_list::cursor() const {
  std::lock_guard lock(mutex_);
  return cursor_;
}

void revocation_list::set_listener(listener on_revoked) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(on_revoked);
}

std::size_t revocation_list::size() const {
  std::lock_guard lock(mutex_);
  return revoked_.size();
}

revocation_poller::revocation_poller(as_client& client, revocation_list& list,
                                     std::chrono::milliseconds interval, const clock& time)
    : client_(client), list_(list), interval_(interval), clock_(time) {}

void revocation_poller::tick() {
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.now();
    if (in_flight_ || (started_ && now - last_start_ < interval_)) return;
    in_flight_ = true;
    started_ = true;
    last_start_ = now;
  }
  fetch();
}

void revocation_poller::fetch() {
  std::weak_ptr<revocation_poller> self = weak_from_this();
  client_.fetch_revocations(list_.cursor(), [self](result<std::string, as_error> body) {
    if (auto alive = self.lock()) alive->on_page(std::move(body));
  });
}

void revocation_poller::on_page(result<std::string, as_error> body) {
  bool more = false;
  if (body) {
    auto page = parse_revocation_page(*body);
    if (page) {
      const std::int64_t before = list_.cursor();
      list_.apply(*page);
      // Follow "more" only while the cursor moves, so a misbehaving AS cannot loop us.
      more = page->more && page->cursor > before;
      std::lock_guard lock(mutex_);
      ++pages_;
    } else {
      std::lock_guard lock(mutex_);
      ++failures_;
    }
  } else {
    std::lock_guard lock(mutex_);
    ++failures_;
  }
  if (more) {
    // A backlog larger than one page is fetched at once, not one page per interval.
    fetch();
    return;
  }
  std::lock_guard lock(mutex_);
  in_flight_ = false;
}

std::uint64_t revocation_poller::pages_applied() const {
  std::lock_guard lock(mutex_);
  return pages_;
}

std::uint64_t revocation_poller::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

}  // namespace acemq::ace
