// The connection's one timer and its wake-ups: keep alive ([MQTT-3.1.2-22]), the connect timeout,
// credential expiry (RFC 9431 4) and the end of a throttle; and on_wake, when the session has new
// deliveries, was taken over, or the principal may have changed.

#include "acemq/broker/connection_internal.hpp"

#include <algorithm>
#include <chrono>

#include "acemq/broker/broker.hpp"
#include "acemq/common/log.hpp"
#include "acemq/mqtt/connection_rules.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

void connection::on_wake() {
  if (state_ != state::connected) return;
  if (check_taken_over()) return;
  if (!credentials_valid()) {
    end_for_credentials();
    return;
  }
  if (throttled() && session_ && session_->take_resume_request()) {
    resume_after_congestion();
    if (state_ != state::connected) return;
  }
  pump();
}

// ---- timers ----

void connection::touch(clock::time_point now) {
  // [MQTT-3.1.2-22]: one and a half times the Keep Alive without a packet ends the connection.
  if (keep_alive_ > 0 && state_ == state::connected) {
    idle_deadline_ =
        now + std::chrono::duration_cast<clock::duration>(mqtt::server_silence_bound(keep_alive_));
  }
}

void connection::rearm() {
  if (state_ == state::closed) return;
  // An unset deadline reads as the clock's maximum, so the earliest set one is the minimum.
  deadline next;
  if (state_ != state::connected) {
    next = idle_deadline_;
  } else {
    next = std::min({*idle_deadline_, *credential_deadline_, throttled_until()});
  }
  // Re-arm only when the deadline moves earlier: keep-alive activity moves it later, which is
  // handled when the earlier timer fires (one timer operation per period, not per packet).
  if (next && *next < *armed_) {
    armed_ = *next;
    io_.arm_timer(*next);
  }
}

void connection::on_timer(clock::time_point now) {
  if (state_ == state::closed) return;
  armed_.reset();
  if (state_ != state::connected) {
    if (idle_deadline_ && now >= *idle_deadline_) {
      close_transport();
      return;
    }
  } else {
    if (idle_deadline_ && now >= *idle_deadline_) {
      spdlog::debug("{} {}: client '{}' keep alive expired", listener_.name,
                    io_.remote_address().view(), client_id());
      disconnect_and_close(reason_code::keep_alive_timeout);
      return;
    }
    if (!credentials_valid()) {
      // The grant ended (the access token expired or was revoked): v5 0x87, 3.1.1 closes.
      end_for_credentials();
      return;
    }
    if (throttled() && now >= throttled_until()) {
      release_throttle();
      if (state_ == state::closed) return;
    }
  }
  rearm();
}

}  // namespace acemq::broker
