#include <acemq/client/protocol_machine.hpp>
#include <acemq/common/topic.hpp>
#include <acemq/mqtt/connection_rules.hpp>
#include <acemq/mqtt/decode.hpp>
#include <acemq/mqtt/encode.hpp>
#include <acemq/mqtt/frame.hpp>

#include <algorithm>
#include <cstring>
#include <utility>

namespace acemq::client {

namespace {

using mqtt::reason_code;

constexpr std::size_t packet_id_count = 65536;
constexpr std::size_t initial_packet_id_range = 256;
// Strings and binary data carry a two-byte length [MQTT 5.0 1.5.4, 1.5.6].
constexpr std::size_t max_field_size = 65535;

bool fits(std::size_t size) noexcept {
  return size <= max_field_size;
}
bool fits(const std::optional<std::string>& s) noexcept {
  return !s || fits(s->size());
}
bool fits(const std::optional<byte_vector>& b) noexcept {
  return !b || fits(b->size());
}

/// Whether every string and binary property fits its two-byte length and every Subscription
/// Identifier is in range, so encoding cannot trip the codec's preconditions.
bool properties_fit(const mqtt::properties& p) noexcept {
  if (!fits(p.content_type) || !fits(p.response_topic) || !fits(p.correlation_data) ||
      !fits(p.assigned_client_identifier) || !fits(p.authentication_method) ||
      !fits(p.authentication_data) || !fits(p.response_information) || !fits(p.server_reference) ||
      !fits(p.reason_string)) {
    return false;
  }
  for (const auto& [key, value] : p.user_properties) {
    if (!fits(key.size()) || !fits(value.size())) return false;
  }
  for (const std::uint32_t id : p.subscription_identifiers) {
    // [MQTT 5.0 3.8.2.1.2] 1 .. 268,435,455.
    if (id == 0 || id > mqtt::max_subscription_identifier) return false;
  }
  return true;
}

/// Remaining Length must fit a four-byte Variable Byte Integer [MQTT 5.0 1.5.5].
bool fits_remaining_length(std::size_t encoded) noexcept {
  return encoded <= mqtt::max_remaining_length + mqtt::max_fixed_header_size;
}

}  // namespace

protocol_machine::protocol_machine(const acemq::clock& clock, machine_settings settings,
                                   events callbacks)
    : clock_(clock),
      settings_(settings),
      events_(std::move(callbacks)),
      output_(settings.inline_payload_limit) {}

// ---- commands ----

result<void, client_error> protocol_machine::start(mqtt::connect packet) {
  if (state_ != connection_state::idle) return unexpected{client_error::already_started};
  if (!fits(packet.client_id.size()) || (packet.username && !fits(packet.username->size())) ||
      (packet.password && !fits(packet.password->size())) || !properties_fit(packet.properties)) {
    return unexpected{client_error::invalid_argument};
  }
  if (packet.will) {
    const mqtt::will_message& will = *packet.will;
    // [MQTT-3.1.3-11] the Will Topic is a Topic Name; [MQTT-3.1.2-12] Will QoS 0..2.
    if (!topic::is_valid_name(will.topic) || !fits(will.topic.size()) ||
        !fits(will.payload.size()) || will.qos > 2 || !properties_fit(will.properties)) {
      return unexpected{client_error::invalid_argument};
    }
  }
  version_ = packet.protocol_version;
  if (version_ == mqtt::protocol_version::v5) {
    // [MQTT-3.1.2-24] the server must not send packets above our Maximum Packet Size.
    if (!packet.properties.maximum_packet_size) {
      packet.properties.maximum_packet_size = settings_.maximum_packet_size;
    }
    if (!packet.properties.topic_alias_maximum && settings_.topic_alias_maximum != 0) {
      packet.properties.topic_alias_maximum = settings_.topic_alias_maximum;
    }
    if (*packet.properties.maximum_packet_size == 0) {
      return unexpected{client_error::invalid_argument};
    }
    settings_.maximum_packet_size = *packet.properties.maximum_packet_size;
    authentication_method_ = packet.properties.authentication_method;
    inbound_alias_maximum_ = packet.properties.topic_alias_maximum.value_or(0);
  } else {
    // MQTT 3.1.1 has no properties: no enhanced authentication, no aliases.
    authentication_method_.reset();
    inbound_alias_maximum_ = 0;
  }
  if (!fits_remaining_length(mqtt::encoded_size(packet, version_))) {
    return unexpected{client_error::packet_too_large};
  }
  client_id_ = packet.client_id;
  limits_ = server_limits{};
  limits_.keep_alive = packet.keep_alive;
  ids_.assign(initial_packet_id_range, id_state::free);
  inbound_qos2_.clear();
  inbound_aliases_ = {};  // aliases belong to one network connection [MQTT 5.0 3.3.2.3.4]
  outbound_aliases_ = {};
  queue(packet);
  state_ = connection_state::connecting;
  connect_started_ = clock_.now();
  last_sent_ = connect_started_;
  return {};
}

result<std::uint16_t, client_error> protocol_machine::publish(const mqtt::publish& message) {
  if (state_ != connection_state::connected) return unexpected{client_error::not_connected};
  if (message.qos > 2) return unexpected{client_error::invalid_argument};
  // [MQTT-3.2.2-11] / [MQTT-3.2.2-14]: respect the server's Maximum QoS and Retain Available.
  if (message.qos > limits_.maximum_qos) return unexpected{client_error::qos_not_supported};
  if (message.retain && !limits_.retain_available) {
    return unexpected{client_error::retain_not_supported};
  }
  // [MQTT-3.3.2-2] a Topic Name has no wildcards; an empty one needs a Topic Alias.
  if (!fits(message.topic.size()) || !topic::is_valid_name(message.topic) ||
      !properties_fit(message.properties)) {
    return unexpected{client_error::invalid_argument};
  }
  if (message.properties.topic_alias &&
      (version_ != mqtt::protocol_version::v5 || *message.properties.topic_alias == 0 ||
       *message.properties.topic_alias > limits_.topic_alias_maximum)) {
    // [MQTT-3.3.2-9] never above the server's Topic Alias Maximum.
    return unexpected{client_error::invalid_argument};
  }
  if (message.qos > 0 &&
      (in_flight_ >= limits_.receive_maximum || ids_in_use_ >= mqtt::packet_ids_available)) {
    // [MQTT-4.9.0-2] no more unacknowledged QoS > 0 PUBLISH than the server's Receive Maximum.
    blocked_ = true;
    return unexpected{client_error::window_full};
  }
  if (output_.pending_bytes() >= settings_.maximum_pending_output) {
    blocked_ = true;
    return unexpected{client_error::send_queue_full};
  }

  scratch_.dup = false;
  scratch_.qos = message.qos;
  scratch_.retain = message.retain;
  scratch_.topic.assign(message.topic);
  scratch_.properties = message.properties;
  scratch_.payload = message.payload;
  std::uint16_t new_alias = 0;
  if (version_ == mqtt::protocol_version::v5) {
    new_alias = outbound_aliases_.apply(
        scratch_, std::min(settings_.outbound_topic_aliases, limits_.topic_alias_maximum));
  }
  std::uint16_t id = 0;
  if (message.qos > 0) {
    auto allocated = allocate_packet_id(message.qos == 1 ? id_state::awaiting_puback
                                                         : id_state::awaiting_pubrec);
    if (!allocated) {
      scratch_.payload.reset();
      blocked_ = true;
      return unexpected{allocated.error()};
    }
    id = *allocated;
  }
  scratch_.packet_id = id;

  // Encode the header in place; the payload follows by reference (no copy per message).
  byte_vector& out = output_.bytes();
  const std::size_t before = out.size();
  mqtt::encode_publish_header(scratch_, version_, out);
  const std::size_t size = out.size() - before + scratch_.payload_view().size();
  // [MQTT-3.1.2-24] never above the server's Maximum Packet Size.
  if (size > limits_.maximum_packet_size || !fits_remaining_length(size)) {
    out.resize(before);
    if (id != 0) release_packet_id(id);
    scratch_.payload.reset();
    return unexpected{client_error::packet_too_large};
  }
  output_.append_payload(scratch_.payload);
  scratch_.payload.reset();
  if (id != 0) ++in_flight_;
  outbound_aliases_.remember(message.topic, new_alias);
  return id;
}

result<std::uint16_t, client_error> protocol_machine::subscribe(
    std::vector<mqtt::subscription> subscriptions, std::uint32_t subscription_identifier,
    mqtt::properties properties) {
  if (state_ != connection_state::connected) return unexpected{client_error::not_connected};
  // [MQTT-3.8.3-3] at least one filter.
  if (subscriptions.empty()) return unexpected{client_error::invalid_argument};
  for (const mqtt::subscription& s : subscriptions) {
    if (!fits(s.filter.size()) || !topic::is_valid_filter(s.filter) || s.options.maximum_qos > 2 ||
        static_cast<std::uint8_t>(s.options.retain_handling) > 2) {
      return unexpected{client_error::invalid_argument};
    }
  }
  if (subscription_identifier != 0) {
    if (version_ != mqtt::protocol_version::v5) return unexpected{client_error::not_supported};
    if (subscription_identifier > mqtt::max_subscription_identifier) {
      return unexpected{client_error::invalid_argument};
    }
    properties.subscription_identifiers.assign(1, subscription_identifier);
  } else if (properties.subscription_identifiers.size() > 1) {
    // [MQTT 5.0 3.8.2.1.2] at most one Subscription Identifier in SUBSCRIBE.
    return unexpected{client_error::invalid_argument};
  }
  if (!properties_fit(properties)) return unexpected{client_error::invalid_argument};
  return queue_with_packet_id(mqtt::subscribe{0, std::move(properties), std::move(subscriptions)},
                              id_state::awaiting_suback);
}

result<std::uint16_t, client_error> protocol_machine::unsubscribe(std::vector<std::string> filters,
                                                                  mqtt::properties properties) {
  if (state_ != connection_state::connected) return unexpected{client_error::not_connected};
  // [MQTT-3.10.3-2] at least one filter.
  if (filters.empty() || !properties_fit(properties)) {
    return unexpected{client_error::invalid_argument};
  }
  for (const std::string& filter : filters) {
    if (!fits(filter.size()) || !topic::is_valid_filter(filter)) {
      return unexpected{client_error::invalid_argument};
    }
  }
  return queue_with_packet_id(mqtt::unsubscribe{0, std::move(properties), std::move(filters)},
                              id_state::awaiting_unsuback);
}

template <typename Packet>
result<std::uint16_t, client_error> protocol_machine::queue_with_packet_id(Packet packet,
                                                                           id_state awaiting) {
  const std::size_t size = mqtt::encoded_size(packet, version_);
  if (size > limits_.maximum_packet_size || !fits_remaining_length(size)) {
    return unexpected{client_error::packet_too_large};
  }
  auto id = allocate_packet_id(awaiting);
  if (!id) return unexpected{id.error()};
  packet.packet_id = *id;
  queue(packet);
  return *id;
}

result<void, client_error> protocol_machine::reauthenticate(byte_vector data) {
  if (state_ != connection_state::connected) return unexpected{client_error::not_connected};
  // [MQTT-4.12.1-1] re-authentication uses the CONNECT's Authentication Method.
  if (version_ != mqtt::protocol_version::v5 || !authentication_method_) {
    return unexpected{client_error::not_supported};
  }
  if (!fits(data.size())) return unexpected{client_error::invalid_argument};
  mqtt::auth packet;
  packet.reason_code = reason_code::reauthenticate;
  packet.properties.authentication_method = authentication_method_;
  packet.properties.authentication_data = std::move(data);
  queue(packet);
  reauthenticating_ = true;
  return {};
}

result<void, client_error> protocol_machine::disconnect(mqtt::reason_code reason,
                                                        mqtt::properties properties) {
  if (state_ == connection_state::idle || state_ == connection_state::closing) {
    return unexpected{client_error::not_connected};
  }
  if (!properties_fit(properties)) return unexpected{client_error::invalid_argument};
  // MQTT 3.1.1 DISCONNECT has no reason code; the encoder leaves it out.
  queue(mqtt::disconnect{reason, std::move(properties)});
  state_ = connection_state::closing;
  return {};
}

// ---- input ----

std::span<std::uint8_t> protocol_machine::receive_space() {
  if (receive_begin_ == receive_end_) receive_begin_ = receive_end_ = 0;
  const std::size_t minimum_read_space =
      std::max<std::size_t>(settings_.receive_buffer_size / 4, 256);
  if (receive_buffer_.empty()) {
    receive_buffer_.resize(std::max(settings_.receive_buffer_size, minimum_read_space));
  }
  const std::size_t wanted = std::max(needed_, receive_end_ - receive_begin_) + minimum_read_space;
  if (receive_buffer_.size() - receive_end_ < minimum_read_space && receive_begin_ != 0) {
    // Move the partial packet to the front so the buffer does not grow with the stream.
    std::memmove(receive_buffer_.data(), receive_buffer_.data() + receive_begin_,
                 receive_end_ - receive_begin_);
    receive_end_ -= receive_begin_;
    receive_begin_ = 0;
  }
  if (receive_buffer_.size() - receive_begin_ < wanted) {
    // Bounded: needed_ never exceeds the Maximum Packet Size (peek_frame refuses larger).
    receive_buffer_.resize(receive_begin_ + wanted);
  }
  return {receive_buffer_.data() + receive_end_, receive_buffer_.size() - receive_end_};
}

result<void, failure> protocol_machine::received(std::size_t count) {
  receive_end_ += count;
  while (state_ == connection_state::connecting || state_ == connection_state::connected) {
    const byte_view available(receive_buffer_.data() + receive_begin_,
                              receive_end_ - receive_begin_);
    auto header = mqtt::peek_frame(available, settings_.maximum_packet_size);
    if (!header) {
      // [MQTT-3.1.2-25] a packet above our Maximum Packet Size is a protocol error (0x95).
      return fail(client_error::protocol_violation, header.error(), "invalid fixed header");
    }
    if (!header->has_value()) break;
    const std::size_t total = (*header)->total_size();
    if (total > available.size()) {
      needed_ = total;
      break;
    }
    needed_ = 0;
    auto decoded = mqtt::decode(available.first(total), version_);
    receive_begin_ += total;
    if (!decoded) {
      return fail(client_error::protocol_violation, decoded.error(), "undecodable packet");
    }
    auto handled = handle(*decoded);
    if (!handled) return handled;
  }
  if (receive_begin_ == receive_end_) receive_begin_ = receive_end_ = 0;
  return {};
}

failure protocol_machine::end_of_stream() const {
  if (state_ == connection_state::closing) {
    return failure{client_error::closed_by_client, reason_code::success, {}};
  }
  return failure{client_error::server_disconnected, reason_code::unspecified_error,
                 "the server closed the connection"};
}

result<void, failure> protocol_machine::on_timer() {
  const acemq::clock::time_point now = clock_.now();
  if (state_ == connection_state::connecting) {
    if (now - connect_started_ >= settings_.connect_timeout) {
      return stop(client_error::connect_timeout, reason_code::unspecified_error,
                  "no CONNACK in time");
    }
    return {};
  }
  if (state_ != connection_state::connected || limits_.keep_alive == 0) return {};
  const std::chrono::seconds keep_alive(limits_.keep_alive);
  if (ping_outstanding_) {
    // MQTT 5.0 3.1.2.10: a client that gets no PINGRESP in a reasonable time closes the
    // connection; we allow one further keep alive period.
    if (now - ping_sent_ >= keep_alive) {
      return stop(client_error::keep_alive_timeout, reason_code::keep_alive_timeout, "no PINGRESP");
    }
    return {};
  }
  // [MQTT-3.1.2-23] send a packet (PINGREQ when nothing else) within each keep alive period.
  if (now - last_sent_ >= keep_alive) {
    queue(mqtt::pingreq{});
    ping_outstanding_ = true;
    ping_sent_ = now;
  }
  return {};
}

std::optional<acemq::clock::time_point> protocol_machine::next_deadline() const {
  if (state_ == connection_state::connecting) return connect_started_ + settings_.connect_timeout;
  if (state_ != connection_state::connected || limits_.keep_alive == 0) return std::nullopt;
  const std::chrono::seconds keep_alive(limits_.keep_alive);
  return (ping_outstanding_ ? ping_sent_ : last_sent_) + keep_alive;
}

// ---- output ----

void protocol_machine::write_finished() {
  output_.end_write();
  last_sent_ = clock_.now();
  maybe_ready();
}

bool protocol_machine::can_publish(std::uint8_t qos) const noexcept {
  if (state_ != connection_state::connected) return false;
  if (output_.pending_bytes() >= settings_.maximum_pending_output) return false;
  return qos == 0 ||
         (in_flight_ < limits_.receive_maximum && ids_in_use_ < mqtt::packet_ids_available);
}

// ---- internals ----

result<std::uint16_t, client_error> protocol_machine::allocate_packet_id(id_state state) {
  if (ids_in_use_ >= mqtt::packet_ids_available) return unexpected{client_error::window_full};
  if (ids_in_use_ + 1U >= ids_.size()) {
    ids_.resize(std::min(ids_.size() * 2, packet_id_count), id_state::free);
  }
  const auto last = static_cast<std::uint16_t>(ids_.size() - 1);
  const auto advance = [last](std::uint16_t id) { return mqtt::next_packet_id(id, last); };
  if (next_id_ > last) next_id_ = 1;
  // [MQTT-2.2.1-3] non-zero and not in use; a cyclic scan finds one in O(1) on average.
  while (ids_[next_id_] != id_state::free)
    next_id_ = advance(next_id_);
  const std::uint16_t id = next_id_;
  ids_[id] = state;
  ++ids_in_use_;
  next_id_ = advance(next_id_);
  return id;
}

void protocol_machine::release_packet_id(std::uint16_t id) noexcept {
  ids_[id] = id_state::free;
  --ids_in_use_;
}

void protocol_machine::queue(const mqtt::packet& p) {
  mqtt::encode(p, version_, output_.bytes());
}

unexpected<failure> protocol_machine::stop(client_error error, mqtt::reason_code reason,
                                           std::string detail, mqtt::properties properties) {
  state_ = connection_state::closing;
  return unexpected{failure{error, reason, std::move(detail), std::move(properties)}};
}

unexpected<failure> protocol_machine::fail(client_error error, mqtt::reason_code reason,
                                           std::string detail) {
  // [MQTT-4.13.1-1] on a protocol error the client may send DISCONNECT with the reason (v5).
  if (version_ == mqtt::protocol_version::v5 && mqtt::is_error(reason) &&
      (state_ == connection_state::connected || state_ == connection_state::connecting) &&
      (error == client_error::protocol_violation || error == client_error::authentication_failed)) {
    queue(mqtt::disconnect{reason, {}});
  }
  return stop(error, reason, std::move(detail));
}

void protocol_machine::maybe_ready() {
  if (blocked_ && can_publish(1)) {
    blocked_ = false;
    if (events_.on_ready) events_.on_ready();
  }
}

result<void, failure> protocol_machine::handle(mqtt::packet& p) {
  const mqtt::packet_type type = mqtt::type_of(p);
  using mqtt::packet_type;
  // AUTH and DISCONNECT may come before CONNACK and after it.
  if (type == packet_type::auth) return handle_auth(std::get<mqtt::auth>(p));
  if (type == packet_type::disconnect) {
    const auto& d = std::get<mqtt::disconnect>(p);
    return stop(client_error::server_disconnected, d.reason_code,
                d.properties.reason_string.value_or(std::string()), d.properties);
  }
  if (state_ == connection_state::connecting) {
    if (type == packet_type::connack) return handle_connack(std::get<mqtt::connack>(p));
    // [MQTT-3.2.0-1] the server's first packet is CONNACK (or AUTH in v5).
    return fail(client_error::protocol_violation, reason_code::protocol_error, "expected CONNACK");
  }
  const auto ack = [this, type](const auto& a) {
    return handle_ack(type, a.packet_id, a.reason_code);
  };
  switch (type) {
    case packet_type::publish:
      return handle_publish(std::get<mqtt::publish>(p));
    case packet_type::puback:
      return ack(std::get<mqtt::puback>(p));
    case packet_type::pubrec:
      return ack(std::get<mqtt::pubrec>(p));
    case packet_type::pubrel:
      return ack(std::get<mqtt::pubrel>(p));
    case packet_type::pubcomp:
      return ack(std::get<mqtt::pubcomp>(p));
    case packet_type::suback:
      return handle_subscription_ack(type, std::get<mqtt::suback>(p), id_state::awaiting_suback,
                                     events_.on_subscribed);
    case packet_type::unsuback:
      return handle_subscription_ack(type, std::get<mqtt::unsuback>(p), id_state::awaiting_unsuback,
                                     events_.on_unsubscribed);
    case packet_type::pingresp:
      ping_outstanding_ = false;
      return {};
    default:
      // CONNECT, CONNACK (a second one), SUBSCRIBE, UNSUBSCRIBE and PINGREQ never come from a
      // server [MQTT-3.2.0-2].
      return fail(client_error::protocol_violation, reason_code::protocol_error,
                  "a packet the server must not send");
  }
}

template <typename Ack, typename Callback>
result<void, failure> protocol_machine::handle_subscription_ack(mqtt::packet_type type,
                                                                const Ack& ack, id_state expected,
                                                                const Callback& on_ack) {
  if (state_of(ack.packet_id) != expected) {
    return fail(client_error::protocol_violation, reason_code::protocol_error,
                std::string(mqtt::to_string(type)) + " for an unknown packet identifier");
  }
  release_packet_id(ack.packet_id);
  if (on_ack) on_ack(ack);
  return {};
}

result<void, failure> protocol_machine::handle_connack(const mqtt::connack& p) {
  if (mqtt::is_error(p.reason_code)) {
    // [MQTT-3.2.2-7] after an error CONNACK the server closes the connection.
    // RFC 9431 2.4.1: the refusal's properties may name the AS (`ace_as_hint`); the application
    // gets them with the failure.
    return stop(client_error::connection_refused, p.reason_code,
                p.properties.reason_string.value_or(std::string()), p.properties);
  }
  const mqtt::properties& props = p.properties;
  // MQTT 5.0 3.2.2.3: absent properties mean the defaults.
  limits_.receive_maximum = mqtt::receive_maximum_or_default(props.receive_maximum);
  limits_.maximum_qos = props.maximum_qos.value_or(2);
  limits_.retain_available = props.retain_available.value_or(1) != 0;
  limits_.maximum_packet_size =
      props.maximum_packet_size.value_or(std::numeric_limits<std::uint32_t>::max());
  limits_.topic_alias_maximum = props.topic_alias_maximum.value_or(0);
  // [MQTT-3.2.2-21] the Server Keep Alive replaces the client's.
  limits_.keep_alive = mqtt::effective_keep_alive(limits_.keep_alive, props.server_keep_alive);
  if (props.assigned_client_identifier) client_id_ = *props.assigned_client_identifier;
  state_ = connection_state::connected;
  if (events_.on_connected) events_.on_connected(p);
  return {};
}

result<void, failure> protocol_machine::handle_publish(mqtt::publish& p) {
  if (version_ == mqtt::protocol_version::v5) {
    if (auto resolved = inbound_aliases_.resolve(p, inbound_alias_maximum_); !resolved) {
      return fail(client_error::protocol_violation, resolved.error(),
                  resolved.error() == reason_code::topic_alias_invalid ? "topic alias out of range"
                                                                       : "unknown topic alias");
    }
  }
  switch (p.qos) {
    case 0:
      if (events_.on_message) events_.on_message(p);
      return {};
    case 1:
      if (events_.on_message) events_.on_message(p);
      // [MQTT-4.3.2-4] acknowledge with PUBACK.
      queue(mqtt::puback{p.packet_id, reason_code::success, {}});
      return {};
    default:
      // [MQTT-4.3.3-9] deliver once: a retransmitted PUBLISH (same identifier before PUBREL) is
      // acknowledged again but not delivered again.
      if (inbound_qos2_.empty()) inbound_qos2_.assign(packet_id_count, false);
      if (!inbound_qos2_[p.packet_id]) {
        inbound_qos2_[p.packet_id] = true;
        if (events_.on_message) events_.on_message(p);
      }
      queue(mqtt::pubrec{p.packet_id, reason_code::success, {}});
      return {};
  }
}

result<void, failure> protocol_machine::handle_ack(mqtt::packet_type type, std::uint16_t id,
                                                   mqtt::reason_code code) {
  using mqtt::packet_type;
  const id_state state = state_of(id);
  switch (type) {
    case packet_type::puback:
      if (state != id_state::awaiting_puback) break;
      return complete_publish(id, code);
    case packet_type::pubrec:
      // MQTT 5.0 4.3.3: an error PUBREC ends the exchange; the identifier is free again.
      if (state == id_state::awaiting_pubrec && mqtt::is_error(code)) {
        return complete_publish(id, code);
      }
      if (state != id_state::awaiting_pubrec && state != id_state::awaiting_pubcomp) break;
      // [MQTT-4.3.3-4] answer PUBREC with PUBREL (again, for a retransmitted PUBREC).
      ids_[id] = id_state::awaiting_pubcomp;
      queue(mqtt::pubrel{id, reason_code::success, {}});
      return {};
    case packet_type::pubrel:
      // [MQTT-4.3.3-11] answer PUBREL with PUBCOMP; an unknown identifier gets 0x92 in v5.
      if (!inbound_qos2_.empty() && inbound_qos2_[id]) {
        inbound_qos2_[id] = false;
        queue(mqtt::pubcomp{id, reason_code::success, {}});
      } else {
        queue(mqtt::pubcomp{id, reason_code::packet_identifier_not_found, {}});
      }
      return {};
    case packet_type::pubcomp:
      if (state != id_state::awaiting_pubcomp) break;
      return complete_publish(id, code);
    default:
      break;
  }
  return fail(client_error::protocol_violation, reason_code::protocol_error,
              std::string(mqtt::to_string(type)) + " for an unknown packet identifier");
}

result<void, failure> protocol_machine::complete_publish(std::uint16_t id, mqtt::reason_code code) {
  release_packet_id(id);
  --in_flight_;
  if (events_.on_publish_complete) events_.on_publish_complete(id, code);
  maybe_ready();
  return {};
}

result<void, failure> protocol_machine::handle_auth(const mqtt::auth& p) {
  // [MQTT-4.12.0-5] AUTH carries the CONNECT's Authentication Method; without one the server
  // must not send AUTH at all.
  if (!authentication_method_ || p.properties.authentication_method != authentication_method_) {
    return fail(client_error::protocol_violation, reason_code::protocol_error,
                "AUTH with another authentication method");
  }
  if (p.reason_code == reason_code::continue_authentication) {
    if (state_ == connection_state::connected && !reauthenticating_) {
      return fail(client_error::protocol_violation, reason_code::protocol_error,
                  "AUTH outside an authentication exchange");
    }
    if (!events_.on_authentication) {
      return fail(client_error::authentication_failed, reason_code::implementation_specific_error,
                  "no authentication exchange callback");
    }
    auto next = events_.on_authentication(p);
    if (!next) {
      return fail(client_error::authentication_failed, next.error(),
                  "the authentication exchange refused to continue");
    }
    if (!fits(next->size())) {
      return fail(client_error::authentication_failed, reason_code::implementation_specific_error,
                  "authentication data too long");
    }
    mqtt::auth reply;
    reply.reason_code = reason_code::continue_authentication;
    reply.properties.authentication_method = authentication_method_;
    reply.properties.authentication_data = std::move(*next);
    queue(reply);
    return {};
  }
  if (p.reason_code == reason_code::success && state_ == connection_state::connected &&
      reauthenticating_) {
    reauthenticating_ = false;
    if (events_.on_reauthenticated) events_.on_reauthenticated(p);
    return {};
  }
  // AUTH 0x00 before CONNACK, or 0x19 from a server, is a protocol error [MQTT 5.0 4.12].
  return fail(client_error::protocol_violation, reason_code::protocol_error, "unexpected AUTH");
}

}  // namespace acemq::client
