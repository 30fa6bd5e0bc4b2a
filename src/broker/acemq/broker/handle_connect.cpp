// CONNECT (MQTT 5.0 3.1, 3.2; MQTT 3.1.1 3.1, 3.2): the first packet decoded and validated, the
// authentication chain run for it (4.12, and its completions relayed to the connection's thread),
// the session attached and CONNACK sent, or the CONNECT refused; and the narrowing of a session to
// the principal's rights when it is resumed or re-authenticated (RFC 9431 4).

#include "acemq/broker/connection_internal.hpp"

#include <algorithm>
#include <utility>

#include "acemq/broker/broker.hpp"
#include "acemq/common/log.hpp"
#include "acemq/common/utf8.hpp"
#include "acemq/mqtt/connection_rules.hpp"
#include "acemq/mqtt/decode.hpp"
#include "acemq/mqtt/frame.hpp"

namespace acemq::broker {

using detail::forwarded_of;
using mqtt::protocol_version;
using mqtt::reason_code;

namespace detail {

// Reads the Protocol Level of a CONNECT the decoder refused, to answer in a form the client
// understands: 0 when the packet is too short to tell.
std::uint8_t protocol_level_of(byte_view whole_packet, std::size_t header_size) {
  // Variable header: Protocol Name (2-byte length + "MQTT" or "MQIsdp"), then the level.
  const std::size_t name_at = header_size;
  if (whole_packet.size() < name_at + 2) return 0;
  const std::size_t name_length =
      (static_cast<std::size_t>(whole_packet[name_at]) << 8) | whole_packet[name_at + 1];
  const std::size_t level_at = name_at + 2 + name_length;
  if (name_length > 6 || whole_packet.size() <= level_at) return 0;
  return whole_packet[level_at];
}

}  // namespace detail

using detail::protocol_level_of;

// ---- CONNECT ----

void connection::handle_first_packet(byte_view whole_packet) {
  // [MQTT-3.1.0-1]: the first packet must be CONNECT; anything else closes without a reply.
  if ((whole_packet[0] >> 4) != static_cast<std::uint8_t>(mqtt::packet_type::connect)) {
    close_transport();
    return;
  }
  auto decoded = mqtt::decode_connect(whole_packet);
  if (!decoded) {
    const auto frame = mqtt::peek_frame(whole_packet, inbound_maximum_packet_size_);
    const std::size_t header_size = frame && *frame ? (*frame)->header_size : 2;
    const std::uint8_t level = protocol_level_of(whole_packet, header_size);
    if (decoded.error() == reason_code::unsupported_protocol_version) {
      // [MQTT-3.1.2-2]: 3.1/3.1.1 clients understand return code 0x01; newer ones 0x84.
      version_ = level >= 5 ? protocol_version::v5 : protocol_version::v311;
      refuse_connect(reason_code::unsupported_protocol_version);
      return;
    }
    if (level == 5) {
      // MQTT 5.0 4.13.1: a CONNACK with the reason before closing.
      version_ = protocol_version::v5;
      refuse_connect(decoded.error());
    } else {
      close_transport();
    }
    return;
  }
  mqtt::connect& packet = *decoded;
  version_ = packet.protocol_version;
  if (const reason_code refused = validate_connect(packet); refused != reason_code::success) {
    refuse_connect(refused);
    return;
  }
  const mqtt::connect& pending =
      *(more().pending_connect = std::make_unique<mqtt::connect>(std::move(packet)));
  state_ = state::authenticating;
  awaiting_provider_ = true;
  username_ = pending.username;
  const authentication_request request = make_auth_request(pending.properties);
  run_auth([&](auth_chain::completion done) { auth().start(request, std::move(done)); });
}

reason_code connection::validate_connect(mqtt::connect& packet) {
  const broker_settings& settings = broker_.settings();
  const bool v5 = packet.protocol_version == protocol_version::v5;
  if (packet.client_id.empty()) {
    // [MQTT-3.1.3-8] (3.1.1: identifier rejected, return code 0x02) when no clean session.
    if (!v5 && !packet.clean_start) return reason_code::client_identifier_not_valid;
    if (!settings.allow_empty_client_id) return reason_code::client_identifier_not_valid;
    client_id_ = broker_.assign_client_id();
    assigned_client_id_ = true;
  } else {
    if (packet.client_id.size() > settings.max_client_id_length) {
      return reason_code::client_identifier_not_valid;
    }
    client_id_ = packet.client_id;
  }

  const mqtt::properties& properties = packet.properties;
  if (v5) {
    requested_session_expiry_ = properties.session_expiry_interval.value_or(0);
    session_expiry_ =
        std::min(properties.session_expiry_interval.value_or(0), settings.maximum_session_expiry);
    client_receive_maximum_ = mqtt::receive_maximum_or_default(properties.receive_maximum);
    client_maximum_packet_size_ = properties.maximum_packet_size.value_or(0);
    client_topic_alias_maximum_ = properties.topic_alias_maximum.value_or(0);
    problem_information_ = properties.request_problem_information.value_or(1) == 1;
    response_information_ = properties.request_response_information.value_or(0) == 1;
    auth_method_ = properties.authentication_method;
    // MQTT 5.0 3.2.2.3.14: the Server Keep Alive replaces the client's value.
    keep_alive_ = mqtt::effective_keep_alive(packet.keep_alive, settings.server_keep_alive);
  } else {
    // MQTT 3.1.1 has no expiry: a clean session ends with the connection, a persistent one lasts
    // as long as the operator allows.
    session_expiry_ = packet.clean_start ? 0 : settings.maximum_session_expiry;
    keep_alive_ = packet.keep_alive;
  }

  if (packet.will) {
    const mqtt::will_message& will = *packet.will;
    if (!check_name(will.topic, limits())) return reason_code::topic_name_invalid;
    // [MQTT-3.2.2-12], [MQTT-3.2.2-13]: a Will the server cannot honour is refused at CONNECT.
    if (will.qos > settings.maximum_qos) return reason_code::qos_not_supported;
    if (will.retain && !settings.retain_available) return reason_code::retain_not_supported;
    if (will.properties.payload_format_indicator.value_or(0) == 1 &&
        !is_valid_utf8(as_string_view(will.payload), true)) {
      return reason_code::payload_format_invalid;
    }
  }
  return reason_code::success;
}

authentication_request connection::make_auth_request(const mqtt::properties& packet) const {
  authentication_request request;
  request.version = version_;
  request.client_id = client_id();
  request.username = username_.get();
  request.method = auth_method_.get();
  request.data = packet.authentication_data;
  request.user_properties = packet.user_properties;
  request.tls = io_.tls();
  request.remote_address = std::string(io_.remote_address().view());
  request.listener_name = listener_.name;
  if (occasional_ && occasional_->pending_connect) {
    // The password is handed over only with the CONNECT; it is not kept for later exchanges.
    const mqtt::connect& pending = *occasional_->pending_connect;
    request.password = pending.password;
    if (pending.will) request.will_topic = pending.will->topic;
  }
  return request;
}

void connection::run_auth(const std::function<void(auth_chain::completion)>& call) {
  // The provider may answer inside the call (handled right after it, without a post), later from
  // another thread, or never; a completion of a superseded exchange is ignored.
  ensure_auth_relay().run(
      [&call](completion_relay<auth_outcome>::completion done) {
        call([done = std::move(done)](auth_step step, std::size_t owner) {
          done(auth_outcome{std::move(step), owner});
        });
      },
      [this](auth_outcome outcome) {
        on_auth_result(std::move(outcome.first), outcome.second);
        release_relay_if_idle();
      });
  release_relay_if_idle();
}

void connection::on_auth_result(auth_step step, std::size_t owner) {
  if (state_ == state::closed) {
    // A challenge issued after the connection closed (the provider completed late) is released
    // at once, not at its timeout.
    if (step.what == auth_step::kind::continue_with) {
      auth().connection_closed(owner, listener_.name, io_.remote_address().view());
    }
    return;
  }
  awaiting_provider_ = false;
  auth_owner_ = static_cast<std::uint32_t>(owner);
  if (reauthenticating_) {
    finish_reauthentication(std::move(step));
    return;
  }
  if (state_ != state::authenticating) return;
  switch (step.what) {
    case auth_step::kind::success:
      finish_connect(std::move(step));
      return;
    case auth_step::kind::continue_with:
      // Enhanced authentication exists only in MQTT 5 with an Authentication Method (4.12).
      if (version_ != protocol_version::v5 || !auth_method_) {
        broker_.counters().auth_failure.fetch_add(1, std::memory_order_relaxed);
        refuse_connect(reason_code::not_authorized);
        return;
      }
      send_auth(reason_code::continue_authentication, step);
      return;
    case auth_step::kind::failure:
      broker_.counters().auth_failure.fetch_add(1, std::memory_order_relaxed);
      // The refusing step's User Properties go into the CONNACK, e.g. RFC 9431 2.4.1
      // `ace_as_hint` (AS discovery).
      refuse_connect(mqtt::is_error(step.reason) ? step.reason : reason_code::not_authorized,
                     std::move(step.user_properties));
      return;
    case auth_step::kind::next_provider:
      broker_.counters().auth_failure.fetch_add(1, std::memory_order_relaxed);
      refuse_connect(reason_code::not_authorized, std::move(step.user_properties));
      return;
  }
}

void connection::narrow_to_principal() {
  if (!session_) return;
  // RFC 9431 4: after re-authentication (or a resumption with new credentials) the new scope
  // applies at once: subscriptions it no longer allows are removed, and queued and in-flight
  // deliveries it may not receive are dropped.
  const principal& who = *principal_;
  broker_.unsubscribe_if(*session_, [&who](std::string_view filter) {
    return who.may_subscribe(filter) != reason_code::success;
  });
  const std::size_t refused = session_->narrow_to(principal_);
  if (refused > 0) {
    broker_.counters().deliveries_denied.fetch_add(refused, std::memory_order_relaxed);
  }
}

void connection::finish_connect(auth_step step) {
  if (!step.who) {
    broker_.counters().auth_failure.fetch_add(1, std::memory_order_relaxed);
    refuse_connect(reason_code::not_authorized);
    return;
  }
  // RFC 9431 4: expiry (and revocation) is checked on CONNECT.
  if (const auto expires = step.who->expires_at_unix();
      step.who->revoked() || (expires && *expires <= broker_.time().unix_seconds())) {
    broker_.counters().auth_failure.fetch_add(1, std::memory_order_relaxed);
    refuse_connect(reason_code::not_authorized);
    return;
  }
  if (broker_.settings().client_id_must_match_identity &&
      client_id() != step.who->identity().subject) {
    // The optional policy of cloud IoT brokers: a client may only use its own identity as its
    // client identifier.
    broker_.counters().auth_failure.fetch_add(1, std::memory_order_relaxed);
    refuse_connect(reason_code::client_identifier_not_valid);
    return;
  }
  mqtt::connect& packet = *occasional_->pending_connect;
  std::optional<pending_will> will;
  if (packet.will) {
    // The Will topic passes the checks a PUBLISH to it would, at CONNECT time (0x87 in CONNACK):
    // an interceptor's topic (its PUBLISH is consumed, never routed), the broker's own $SYS
    // tree (MQTT 5.0 4.7.2), and the principal.
    const std::string_view topic = packet.will->topic;
    reason_code allowed = reason_code::not_authorized;
    if (!is_sys_topic(topic) &&
        !(listener_.interceptor && listener_.interceptor->intercepts(topic))) {
      allowed = step.who->may_publish(topic);
    }
    if (allowed != reason_code::success) {
      broker_.counters().auth_failure.fetch_add(1, std::memory_order_relaxed);
      refuse_connect(mqtt::is_error(allowed) ? allowed : reason_code::not_authorized);
      return;
    }
    mqtt::will_message& source = *packet.will;
    pending_will built;
    built.content.topic = std::move(source.topic);
    built.content.payload = std::make_shared<const byte_vector>(std::move(source.payload));
    built.content.qos = source.qos;
    built.content.retain = source.retain;
    built.content.forwarded = forwarded_of(source.properties);
    built.content.publisher_client_id = client_id();
    built.message_expiry_interval = source.properties.message_expiry_interval;
    built.delay_seconds = source.properties.will_delay_interval.value_or(0);
    // RFC 9431 5: a retained Will, like every retained message of the client, is dropped at
    // min(token expiry, message expiry); the Will is published later, maybe after the token
    // ended, so the grant's end travels with it.
    built.publisher_grant_ends_unix = step.who->expires_at_unix();
    will = std::move(built);
  }
  accept_credentials(step.who);

  attach_request request;
  request.client_id = client_id();
  request.clean_start = packet.clean_start;
  request.expiry_interval = session_expiry_;
  request.connection_id = connection_id_;
  request.io = &io_;
  request.who = principal_;
  request.will = std::move(will);
  attach_result attached = broker_.attach(std::move(request));
  if (attached.refused) {
    // The client identifier's session belongs to another principal (docs/authentication.md,
    // "Principals"): refused, and the session and its connection are left as they were.
    broker_.counters().auth_failure.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("{} {}: CONNECT refused: client '{}' belongs to another principal than '{}'",
                 listener_.name, io_.remote_address().view(), client_id(), principal_->name());
    refuse_connect(reason_code::not_authorized);
    return;
  }
  if (attached.quota_exceeded) {
    // broker.max_sessions or the principal's session bound (docs/operations.md, "Limits"): no
    // new session; 3.1.1 reads 0x97 as return code 3, server unavailable.
    spdlog::info("{} {}: CONNECT refused: client '{}' would pass the session bound of '{}'",
                 listener_.name, io_.remote_address().view(), client_id(), principal_->name());
    refuse_connect(reason_code::quota_exceeded);
    return;
  }
  broker_.counters().auth_success.fetch_add(1, std::memory_order_relaxed);
  session_ = std::move(attached.attached);
  if (session_) {
    // The session holds the identifier from here on (client_id()); the copy's storage goes.
    client_id_ = std::nullopt;
    auto held = session_->lock();
    if (held->will) held->will->content.publisher_session = session_->id();
  }
  state_ = state::connected;
  idle_deadline_.reset();  // the connect timeout ends; the keep alive follows (touch())

  const broker_settings& settings = broker_.settings();
  mqtt::connack reply;
  // [MQTT-3.2.2-2], [MQTT-3.2.2-3]: Session Present only when a session was resumed.
  reply.session_present = attached.session_present;
  reply.reason_code = reason_code::success;
  if (version_ == protocol_version::v5) {
    mqtt::properties& properties = reply.properties;
    if (requested_session_expiry_ != session_expiry_) {
      properties.session_expiry_interval = session_expiry_;  // MQTT 5.0 3.2.2.3.2
    }
    properties.receive_maximum = settings.receive_maximum;
    if (settings.maximum_qos < 2) properties.maximum_qos = settings.maximum_qos;
    if (!settings.retain_available) properties.retain_available = 0;
    properties.maximum_packet_size = inbound_maximum_packet_size_;
    if (assigned_client_id_) properties.assigned_client_identifier = client_id();
    if (settings.topic_alias_maximum > 0) {
      properties.topic_alias_maximum = settings.topic_alias_maximum;
    }
    if (!settings.wildcard_subscription_available) properties.wildcard_subscription_available = 0;
    if (!settings.subscription_identifier_available) {
      properties.subscription_identifier_available = 0;
    }
    if (!settings.shared_subscription_available) properties.shared_subscription_available = 0;
    if (settings.server_keep_alive) properties.server_keep_alive = keep_alive_;
    if (response_information_ && !settings.response_information_prefix.empty()) {
      // MQTT 5.0 3.2.2.3.15: the basis of response topics for this client.
      properties.response_information = settings.response_information_prefix + client_id();
    }
    if (auth_method_) {
      properties.authentication_method = auth_method_.get();
      properties.authentication_data = std::move(step.data);
    }
    properties.user_properties = std::move(step.user_properties);
  }
  send_packet(std::move(reply));
  occasional_->pending_connect.reset();
  trim();
  // Never the credentials: the client id, the principal's name and where it came from.
  spdlog::debug("{} {}: client '{}' connected as '{}' (MQTT {}, session present {})",
                listener_.name, io_.remote_address().view(), client_id(), principal_->name(),
                version_ == protocol_version::v5 ? "5.0" : "3.1.1", attached.session_present);
  touch(broker_.time().now());
  rearm();

  if (attached.session_present) {
    // The same principal may come back with narrower rights (a new token, a changed ACL): what
    // it may no longer receive is not sent again, before anything is.
    narrow_to_principal();
    session_->resend_inflight();
  }
  pump();
  // Packets held back during authentication (a no-op inside consume(), which replays them).
  consume({});
}

void connection::refuse_connect(reason_code reason,
                                std::vector<std::pair<std::string, std::string>> user_properties) {
  if (state_ == state::closed) return;
  spdlog::debug("{} {}: CONNECT refused: {}", listener_.name, io_.remote_address().view(),
                mqtt::to_string(reason));
  mqtt::connack reply;
  // [MQTT-3.2.2-6] / [MQTT-3.2.2-7]: an error CONNACK has Session Present 0 and closes.
  reply.session_present = false;
  reply.reason_code = mqtt::refusal_for(mqtt::packet_type::connack, reason);
  // MQTT 5.0 3.2.2.3.11: User Properties are allowed on CONNACK even when the client asked for
  // no problem information [MQTT-3.1.2-29 lists CONNACK as an exception]. 3.1.1 has none.
  if (version_ == protocol_version::v5)
    reply.properties.user_properties = std::move(user_properties);
  send_packet(std::move(reply));
  close_transport();
}

}  // namespace acemq::broker
