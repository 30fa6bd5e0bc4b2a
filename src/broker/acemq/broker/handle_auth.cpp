// AUTH (MQTT 5.0 3.15, 4.12): enhanced authentication after CONNECT, re-authentication and its
// outcome; and the principal's credentials, re-read on every checked packet, wake and timer, so a
// token that expires or is revoked ends the connection (RFC 9431 4, 6.2).

#include "acemq/broker/connection_internal.hpp"

#include "acemq/broker/broker.hpp"
#include "acemq/common/log.hpp"

namespace acemq::broker {

using detail::seconds;
using mqtt::protocol_version;
using mqtt::reason_code;

void connection::accept_credentials(const std::shared_ptr<const principal>& who) {
  principal_ = who;
  credential_deadline_.reset();
  // A new principal may end later than the armed timer: arm its own deadline now.
  armed_.reset();
  credentials_valid();
}

bool connection::credentials_valid() {
  if (!principal_) return true;
  // Re-read on every wake, timer and checked packet: a principal may end earlier than it said
  // at authentication (a revoked token ends at its revocation time).
  if (principal_->revoked()) return false;
  const auto expires = principal_->expires_at_unix();
  if (!expires) {
    credential_deadline_.reset();
    return true;
  }
  const std::int64_t remaining = *expires - broker_.time().unix_seconds();
  if (remaining <= 0) return false;
  credential_deadline_ = broker_.time().now() + seconds(static_cast<std::uint64_t>(remaining));
  rearm();
  return true;
}

void connection::end_for_credentials() {
  // RFC 9431 4 / 6.2: the grant ended (token expired or revoked): v5 DISCONNECT 0x87, 3.1.1
  // closes. A re-authentication completed before this point has replaced the principal.
  spdlog::debug("{} {}: client '{}' credentials ended", listener_.name, io_.remote_address().view(),
                client_id());
  disconnect_and_close(reason_code::not_authorized);
}

void connection::send_auth(reason_code reason, const auth_step& step) {
  mqtt::auth packet;
  packet.reason_code = reason;
  packet.properties.authentication_method = auth_method_.get();
  packet.properties.authentication_data = step.data;
  // [MQTT-3.1.2-29]: user properties on AUTH only when problem information is welcome.
  if (problem_information_) packet.properties.user_properties = step.user_properties;
  send_packet(std::move(packet));
}

// ---- AUTH (MQTT 5.0 4.12) ----

void connection::handle(const mqtt::auth& packet) {
  // [MQTT-3.15.2-1], MQTT 5.0 4.12: AUTH only with an Authentication Method from CONNECT, and
  // always the same method [MQTT-4.12.1-1].
  if (version_ != protocol_version::v5 || !auth_method_ ||
      !(auth_method_ == packet.properties.authentication_method) || awaiting_provider_) {
    protocol_violation(reason_code::protocol_error);
    return;
  }
  const authentication_request request = make_auth_request(packet.properties);
  if (state_ == state::authenticating) {
    if (packet.reason_code != reason_code::continue_authentication) {
      protocol_violation(reason_code::protocol_error);
      return;
    }
    awaiting_provider_ = true;
    run_auth([&](auth_chain::completion done) {
      auth().continue_auth(auth_owner_, request, std::move(done));
    });
    return;
  }
  if (packet.reason_code == reason_code::reauthenticate && !reauthenticating_) {
    reauthenticating_ = true;
    awaiting_provider_ = true;
    run_auth([&](auth_chain::completion done) {
      auth().reauthenticate(auth_owner_, request, std::move(done));
    });
    return;
  }
  if (packet.reason_code == reason_code::continue_authentication && reauthenticating_) {
    awaiting_provider_ = true;
    run_auth([&](auth_chain::completion done) {
      auth().continue_auth(auth_owner_, request, std::move(done));
    });
    return;
  }
  protocol_violation(reason_code::protocol_error);
}

void connection::finish_reauthentication(auth_step step) {
  if (state_ != state::connected) return;
  switch (step.what) {
    case auth_step::kind::success:
      // A re-authentication proves the same principal again; new credentials of another one
      // would hand it this session (docs/authentication.md, "Principals").
      if (!step.who || step.who->identity() != principal_->identity()) break;
      reauthenticating_ = false;
      // The new grant takes effect at once (RFC 9431 4): its expiry re-arms the timer, and a
      // token already ended is a failed re-authentication.
      accept_credentials(step.who);
      if (!credentials_valid()) break;
      narrow_to_principal();
      send_auth(reason_code::success, step);
      rearm();
      pump();
      return;
    case auth_step::kind::continue_with:
      send_auth(reason_code::continue_authentication, step);
      return;
    case auth_step::kind::failure:
      // MQTT 5.0 4.12.1: a failed re-authentication disconnects.
      disconnect_and_close(
          mqtt::is_error(step.reason) &&
                  mqtt::is_allowed_reason_code(mqtt::packet_type::disconnect, step.reason)
              ? step.reason
              : reason_code::not_authorized);
      return;
    case auth_step::kind::next_provider:
      break;
  }
  disconnect_and_close(reason_code::not_authorized);
}

}  // namespace acemq::broker
