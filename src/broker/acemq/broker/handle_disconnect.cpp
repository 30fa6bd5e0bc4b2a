// DISCONNECT from the client (MQTT 5.0 3.14, [MQTT-3.14.4-3] the Will) and every way the
// connection ends: protocol violations (4.13), server-initiated DISCONNECT (3.14.2.1), session
// take-over ([MQTT-3.1.4-3]), shutdown, and the transport closing.

#include "acemq/broker/connection_internal.hpp"

#include <algorithm>

#include "acemq/broker/broker.hpp"
#include "acemq/common/log.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

// ---- DISCONNECT ----

void connection::handle(const mqtt::disconnect& packet) {
  if (version_ == protocol_version::v5) {
    if (const auto expiry = packet.properties.session_expiry_interval) {
      // [MQTT-3.14.2-2]: not from 0 at CONNECT to non-zero at DISCONNECT.
      if (session_expiry_ == 0 && *expiry != 0) {
        protocol_violation(reason_code::protocol_error);
        return;
      }
      session_expiry_ = std::min(*expiry, broker_.settings().maximum_session_expiry);
      auto held = session_->lock();
      held->expiry_interval = session_expiry_;
    }
  }
  // [MQTT-3.14.4-3]: a normal DISCONNECT discards the Will; 0x04 asks for it to be published.
  will_on_close_ =
      version_ == protocol_version::v5 && packet.reason_code == reason_code::disconnect_with_will;
  close_transport();
}

// ---- closing ----

void connection::protocol_violation(reason_code reason) {
  if (state_ == state::closed) return;
  spdlog::debug("{} {}: client '{}' closed for {}", listener_.name, io_.remote_address().view(),
                client_id(), mqtt::to_string(reason));
  if (state_ != state::connected) {
    // Before CONNACK the reason travels in CONNACK (v5) [MQTT-4.13.1-1]; 3.1.1 just closes.
    if (version_ == protocol_version::v5 && state_ == state::authenticating) {
      refuse_connect(reason);
    } else {
      close_transport();
    }
    return;
  }
  disconnect_and_close(reason);
}

void connection::disconnect_and_close(reason_code reason) {
  if (state_ == state::closed) return;
  // MQTT 5.0 4.13.2: DISCONNECT with the reason before closing; 3.1.1 has no server DISCONNECT.
  if (state_ == state::connected && version_ == protocol_version::v5) {
    mqtt::disconnect notice;
    notice.reason_code = mqtt::is_allowed_reason_code(mqtt::packet_type::disconnect, reason)
                             ? reason
                             : reason_code::protocol_error;
    send_packet(std::move(notice));
  }
  close_transport();
}

void connection::close_transport() {
  if (state_ == state::closed) return;
  // What this read published before the close is routed first (before a Will, too).
  route_batched();
  state_ = state::closed;
  if (occasional_) {
    occasional_->partial = byte_vector{};
    occasional_->deferred = byte_vector{};
    trim();
  }
  io_.close();
}

bool connection::check_taken_over() {
  if (!session_) return false;
  {
    auto held = session_->lock();
    if (held->owner == connection_id_ && !held->ended) return false;
  }
  // [MQTT-3.1.4-3]: another connection took the session; the broker already dealt with our Will.
  spdlog::debug("{} {}: client '{}' taken over", listener_.name, io_.remote_address().view(),
                client_id());
  will_on_close_ = false;
  disconnect_and_close(reason_code::session_taken_over);
  return true;
}

void connection::on_transport_closed() {
  // An enhanced-authentication exchange may hold a challenge for this connection (also when the
  // connection closed itself first: close_transport()).
  if (auth_method_) {
    auth().connection_closed(auth_owner_, listener_.name, io_.remote_address().view());
  }
  state_ = state::closed;
  if (occasional_ && occasional_->auth_relay) occasional_->auth_relay->transport_closed();
  if (occasional_ && occasional_->intercept_relay) {
    occasional_->intercept_relay->transport_closed();
  }
  if (session_) {
    broker_.detach(session_, connection_id_, will_on_close_);
    // For what is logged after the close.
    client_id_ = session_->client_id();
    session_.reset();
  }
}

void connection::shutdown(reason_code reason) {
  disconnect_and_close(reason);
}

}  // namespace acemq::broker
