// The protocol machine's life: construction (the connect timeout), destruction, the client
// identifier, and the occasional state (its relay, topic aliases, throttle) created on demand and
// dropped once empty. The packets themselves are handled in handle_*.cpp, the bytes framed in
// connection_framer.cpp.

#include "acemq/broker/connection_internal.hpp"

#include "acemq/broker/broker.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

connection::occasional& connection::more() {
  if (!occasional_) {
    occasional_ = std::make_unique<occasional>();
    occasional_->publish_tokens = static_cast<double>(broker_.settings().max_publish_rate);
    occasional_->publish_tokens_at = broker_.time().now();
  }
  return *occasional_;
}

void connection::trim() noexcept {
  if (occasional_ && occasional_->empty(broker_.settings())) occasional_.reset();
}

clock::time_point connection::throttled_until() const noexcept {
  return occasional_ ? *occasional_->throttled_until : clock::time_point::max();
}

bool connection::throttled() const noexcept {
  return occasional_ && occasional_->throttled_until;
}

bool connection::has_deferred() const noexcept {
  return occasional_ && !occasional_->deferred.empty();
}

bool connection::has_partial() const noexcept {
  return occasional_ && !occasional_->partial.empty();
}

connection::topic_aliases& connection::aliases() {
  occasional& extra = more();
  if (!extra.aliases) extra.aliases = std::make_unique<topic_aliases>();
  return *extra.aliases;
}

const auth_chain& connection::auth() const noexcept {
  return listener_.auth ? *listener_.auth : broker_.default_auth();
}

completion_relay<connection::auth_outcome>& connection::ensure_auth_relay() {
  occasional& extra = more();
  if (!extra.auth_relay) {
    extra.auth_relay =
        std::make_shared<completion_relay<auth_outcome>>(state_ == state::closed ? nullptr : &io_);
  }
  return *extra.auth_relay;
}

completion_relay<intercept_verdict>& connection::ensure_intercept_relay() {
  occasional& extra = more();
  if (!extra.intercept_relay) {
    extra.intercept_relay = std::make_shared<completion_relay<intercept_verdict>>(
        state_ == state::closed ? nullptr : &io_);
  }
  return *extra.intercept_relay;
}

void connection::detach_relays() {
  if (!occasional_) return;
  if (occasional_->auth_relay) {
    occasional_->auth_relay->detach();
    occasional_->auth_relay.reset();
  }
  if (occasional_->intercept_relay) {
    occasional_->intercept_relay->detach();
    occasional_->intercept_relay.reset();
  }
  trim();
}

void connection::release_relay_if_idle() {
  if (!occasional_ || state_ != state::connected) return;
  if (occasional_->auth_relay && !awaiting_provider_ && !reauthenticating_) {
    occasional_->auth_relay->detach();
    occasional_->auth_relay.reset();
  }
  if (occasional_->intercept_relay && !awaiting_interceptor_) {
    occasional_->intercept_relay->detach();
    occasional_->intercept_relay.reset();
  }
  trim();
}

connection::connection(broker& shared_broker, connection_io& io, const listener_settings& settings)
    : broker_(shared_broker),
      io_(io),
      listener_(settings),
      connection_id_(shared_broker.open_connection()),
      inbound_maximum_packet_size_(
          settings.maximum_packet_size.value_or(shared_broker.settings().maximum_packet_size)) {
  // The connect timeout runs from the accepted transport to the end of authentication.
  idle_deadline_ = broker_.time().now() + broker_.settings().connect_timeout;
  rearm();
}

connection::~connection() {
  detach_relays();
  if (session_) broker_.detach(session_, connection_id_, will_on_close_);
  broker_.close_connection();
}

const std::string& connection::client_id() const noexcept {
  static const std::string none;
  if (session_) return session_->client_id();
  return client_id_ ? *client_id_ : none;
}

}  // namespace acemq::broker
