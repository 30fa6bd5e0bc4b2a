// The engine's construction (configuration checks), connection counting, assigned client
// identifiers, and the figures it reports (sessions, retained messages, a principal's usage).
// Sessions are attached and detached in broker_sessions.cpp, messages routed in
// broker_routing.cpp, time kept in broker_tick.cpp, and a restart restored in
// broker_restore.cpp.

#include "acemq/broker/broker_internal.hpp"

#include <array>
#include <chrono>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <utility>

#include "acemq/common/bytes.hpp"

namespace acemq::broker {

using detail::retained_size;
using detail::usage_key;

namespace {

topic_limits limits_of(const broker_settings& settings) {
  return topic_limits{settings.max_topic_length, settings.max_topic_levels};
}

}  // namespace

bool is_sys_topic(std::string_view topic) noexcept {
  return topic == "$SYS" || topic.starts_with("$SYS/");
}

broker::broker(broker_settings settings, std::shared_ptr<const auth_chain> default_auth,
               const clock& time, random_source& random)
    : settings_(std::move(settings)),
      default_auth_(std::move(default_auth)),
      clock_(time),
      random_(random),
      tree_(limits_of(settings_)),
      retained_(limits_of(settings_)),
      started_(time.now()),
      next_sys_at_(started_) {
  // Configuration errors are exceptions (conventions 2): they stop start-up.
  if (!default_auth_) throw std::invalid_argument("broker: an authentication chain is required");
  if (settings_.receive_maximum == 0 || settings_.max_inflight == 0) {
    throw std::invalid_argument("broker: receive_maximum and max_inflight must be non-zero");
  }
  if (settings_.maximum_qos > 2) throw std::invalid_argument("broker: maximum_qos must be 0..2");
  if (settings_.maximum_packet_size < 128) {
    throw std::invalid_argument("broker: maximum_packet_size must be at least 128 bytes");
  }
  // [MQTT-3.1.3-5]: servers must accept client identifiers of 1 to 23 bytes.
  if (settings_.max_client_id_length < 23) {
    throw std::invalid_argument("broker: max_client_id_length must be at least 23");
  }
  if (settings_.max_packet_size_before_authentication < 128) {
    throw std::invalid_argument(
        "broker: max_packet_size_before_authentication must be at least 128 bytes");
  }
}

broker::~broker() = default;

std::uint64_t broker::open_connection() {
  counters_.connections_current.fetch_add(1, std::memory_order_relaxed);
  counters_.connections_total.fetch_add(1, std::memory_order_relaxed);
  return next_connection_id_.fetch_add(1, std::memory_order_relaxed);
}

void broker::close_connection() {
  counters_.connections_current.fetch_sub(1, std::memory_order_relaxed);
}

bool broker::at_connection_limit() const noexcept {
  return counters_.connections_current.load(std::memory_order_relaxed) >= settings_.max_connections;
}

std::string broker::assign_client_id() {
  std::array<std::uint8_t, 8> bytes{};
  {
    std::lock_guard lock(random_mutex_);
    random_.fill(bytes);
  }
  // 5 + 16 characters: within the 23 every server must accept [MQTT-3.1.3-5].
  return "auto-" + to_hex(bytes);
}

persistence* broker::store_of(session& subject) {
  auto state = subject.lock();
  return state->store();
}

std::size_t broker::session_count() const {
  std::shared_lock registry(sessions_mutex_);
  return by_id_.size();
}

std::size_t broker::retained_count() const {
  std::lock_guard lock(retained_mutex_);
  return retained_.size();
}

void broker::retained_changed(const message* before, const message* after) noexcept {
  if (before != nullptr) retained_bytes_ -= retained_size(*before);
  if (after != nullptr) retained_bytes_ += retained_size(*after);
  counters_.retained_bytes.store(retained_bytes_, std::memory_order_relaxed);
}

std::size_t broker::retained_bytes() const {
  std::lock_guard lock(retained_mutex_);
  return retained_bytes_;
}

std::size_t broker::session_count_of(const principal_identity& who) const {
  std::shared_lock registry(sessions_mutex_);
  const auto found = usage_.find(usage_key(who));
  return found == usage_.end() ? 0 : found->second.sessions;
}

std::size_t broker::queued_bytes_of(const principal_identity& who) const {
  std::shared_lock registry(sessions_mutex_);
  const auto found = usage_.find(usage_key(who));
  return found == usage_.end() ? 0 : found->second.queued_bytes.load(std::memory_order_relaxed);
}

std::shared_ptr<session> broker::find_session(std::string_view client_id) const {
  std::shared_lock registry(sessions_mutex_);
  const auto found = by_client_id_.find(client_id);
  return found == by_client_id_.end() ? nullptr : *by_id_.find((*found)->id());
}

}  // namespace acemq::broker
