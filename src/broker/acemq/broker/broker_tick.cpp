// The engine's clock tick: sessions that expire ([MQTT-3.1.2-23], 5.0 3.1.2.11.2), delayed Wills
// that fall due (5.0 3.1.3.2.2), retained messages past their expiry or their publisher's grant
// (RFC 9431 5), and the $SYS figures published every sys_interval.

#include "acemq/broker/broker_internal.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "acemq/common/bytes.hpp"

namespace acemq::broker {

using detail::after_seconds;

namespace {

constexpr std::uint32_t never_expires = 0xFFFFFFFF;

}  // namespace

void broker::tick(clock::time_point now) {
  std::vector<pending_will> wills;
  std::vector<subscriber_id> ended;
  {
    std::unique_lock registry(sessions_mutex_);
    std::vector<std::shared_ptr<session>> ending;
    for (const std::shared_ptr<session>& candidate : detached_) {
      auto state = candidate->lock();
      const std::size_t expired = state->purge_expired(now);
      if (expired > 0) counters_.messages_expired.fetch_add(expired, std::memory_order_relaxed);
      if (state->will && state->will->publish_at && *state->will->publish_at <= now) {
        wills.push_back(std::move(*state->will));
        state->will.reset();
        if (persistence* const store = state->store()) store->will_cleared(candidate->client_id());
      }
      if (state->expiry_interval != never_expires &&
          after_seconds(state->detached_at, state->expiry_interval) <= now) {
        // The session ends: a Will still delayed is published now [MQTT-3.1.3-9].
        if (state->will) {
          wills.push_back(std::move(*state->will));
          state->will.reset();
        }
        state->ended = true;
        ending.push_back(candidate);
      }
    }
    for (const std::shared_ptr<session>& gone : ending) {
      ended.push_back(gone->id());
      end_session_locked(gone);
    }
  }
  remove_subscriptions(ended);
  for (pending_will& will : wills)
    publish_will(std::move(will), now);
  {
    std::lock_guard lock(retained_mutex_);
    // MQTT 5.0 3.3.2.3.3: an expired retained message is no longer delivered.
    // RFC 9431 5: also at the end of the publishing client's token.
    const std::size_t removed = retained_.erase_if([this, now](const message_ptr& retained) {
      if (!retained->retained_expired(now)) return false;
      retained_changed(retained.get(), nullptr);
      if (persistence_ != nullptr && !is_sys_topic(retained->topic)) {
        persistence_->retained_cleared(retained->topic);
      }
      return true;
    });
    if (removed > 0) counters_.messages_expired.fetch_add(removed, std::memory_order_relaxed);
    counters_.retained_messages.store(retained_.size(), std::memory_order_relaxed);
  }
  if (settings_.sys_interval.count() > 0) {
    bool due = false;
    {
      std::lock_guard lock(sys_mutex_);
      if (now >= next_sys_at_) {
        due = true;
        // From now, not from the missed due time: a late tick gives one update, not a burst.
        next_sys_at_ = now + std::chrono::duration_cast<clock::duration>(settings_.sys_interval);
      }
    }
    if (due) publish_sys(now);
  }
}

void broker::publish_sys(clock::time_point now) {
  const auto read = [](const std::atomic<std::uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started_).count();
  // One snapshot before routing, so the figures do not include this round of $SYS deliveries.
  const std::array<std::pair<std::string_view, std::uint64_t>, 12> figures{{
      {"$SYS/broker/uptime", static_cast<std::uint64_t>(std::max<std::int64_t>(0, uptime))},
      {"$SYS/broker/clients/connected", read(counters_.connections_current)},
      // As mosquitto: every session, connected or kept for a disconnected client.
      {"$SYS/broker/clients/total", read(counters_.sessions)},
      {"$SYS/broker/messages/received", read(counters_.messages_in)},
      {"$SYS/broker/messages/sent", read(counters_.messages_out)},
      {"$SYS/broker/bytes/received", read(counters_.bytes_in)},
      {"$SYS/broker/bytes/sent", read(counters_.bytes_out)},
      {"$SYS/broker/subscriptions/count", read(counters_.subscriptions)},
      {"$SYS/broker/retained messages/count", read(counters_.retained_messages)},
      {"$SYS/broker/messages/dropped", read(counters_.messages_dropped)},
      {"$SYS/broker/auth/success", read(counters_.auth_success)},
      {"$SYS/broker/auth/failure", read(counters_.auth_failure)},
  }};
  for (const auto& [topic, value] : figures) {
    auto content = std::make_shared<message>();
    content->topic = std::string(topic);
    content->payload = std::make_shared<const byte_vector>(to_bytes(std::to_string(value)));
    content->qos = 0;
    // Retained, so a client subscribing between two rounds gets the latest figures at once.
    content->retain = true;
    content->publisher_client_id = "$SYS";
    route(content, now, nullptr);
  }
}

}  // namespace acemq::broker
