#pragma once
// The client side of one MQTT connection, sans-I/O (conventions 1): commands and received bytes
// go in; encoded packets (in outbound_queue), callbacks and failures come out. Time is read from
// an injected clock, so keep alive and the CONNACK timeout are tested in virtual time. Not
// thread-safe: one thread drives it.

#include <acemq/client/client_error.hpp>
#include <acemq/client/events.hpp>
#include <acemq/client/outbound_queue.hpp>
#include <acemq/common/bytes.hpp>
#include <acemq/common/clock.hpp>
#include <acemq/common/result.hpp>
#include <acemq/mqtt/packet.hpp>
#include <acemq/mqtt/topic_alias.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace acemq::client {

/// Client-side limits and behaviour.
struct machine_settings {
  /// Largest packet accepted from the server; advertised as Maximum Packet Size in a v5 CONNECT
  /// (the server must not send more [MQTT-3.1.2-24]). Also bounds the receive buffer.
  std::uint32_t maximum_packet_size = 16U * 1024U * 1024U;
  /// Inbound Topic Alias Maximum advertised in a v5 CONNECT; 0 refuses aliases [MQTT-3.1.2-26].
  std::uint16_t topic_alias_maximum = 0;
  /// Outbound topic aliases: at most this many (and at most the server's Topic Alias Maximum)
  /// topics get an alias, so repeated topics are sent as two bytes. 0 disables.
  std::uint16_t outbound_topic_aliases = 0;
  /// Bound on bytes queued but not yet being written; a command beyond it gets send_queue_full.
  std::size_t maximum_pending_output = 8U * 1024U * 1024U;
  /// See outbound_queue: payloads up to this size are copied next to their header.
  std::size_t inline_payload_limit = 1024;
  /// Initial receive buffer; reads ask for at least a quarter of it. It grows only for a packet
  /// that does not fit (up to maximum_packet_size). Small values suit many idle connections.
  std::size_t receive_buffer_size = 64U * 1024U;
  /// How long to wait for CONNACK (and the end of an authentication exchange).
  std::chrono::milliseconds connect_timeout{10'000};
};

/// Where the connection is in its life.
enum class connection_state : std::uint8_t {
  idle = 0x00,        // nothing sent yet
  connecting = 0x01,  // CONNECT sent, waiting for CONNACK (possibly inside an AUTH exchange)
  connected = 0x02,
  closing = 0x03,  // DISCONNECT queued or a failure reported: only the output remains to write
};

/// The server's limits, from CONNACK [MQTT 5.0 3.2.2.3]; defaults apply when a property is absent.
struct server_limits {
  std::uint16_t receive_maximum = 65535;
  std::uint8_t maximum_qos = 2;
  bool retain_available = true;
  std::uint32_t maximum_packet_size = std::numeric_limits<std::uint32_t>::max();
  std::uint16_t topic_alias_maximum = 0;
  std::uint16_t keep_alive = 0;  // effective keep alive: Server Keep Alive or the client's own
};

/// The MQTT client protocol machine for one connection.
class protocol_machine {
 public:
  protocol_machine(const acemq::clock& clock, machine_settings settings, events callbacks);

  protocol_machine(const protocol_machine&) = delete;
  protocol_machine& operator=(const protocol_machine&) = delete;

  // ---- commands ----

  /// Queues CONNECT. Maximum Packet Size and Topic Alias Maximum are added from the settings
  /// when the packet does not set them (v5). Errors: already_started, invalid_argument.
  result<void, client_error> start(mqtt::connect packet);

  /// Queues a PUBLISH; `message.packet_id` and `dup` are ignored (the machine assigns the
  /// identifier) and the topic may be replaced by an alias. Returns the packet identifier (0 at
  /// QoS 0). Errors: not_connected, invalid_argument, qos_not_supported, retain_not_supported,
  /// packet_too_large, window_full, send_queue_full.
  result<std::uint16_t, client_error> publish(const mqtt::publish& message);

  /// Queues SUBSCRIBE; `subscription_identifier` (v5) is attached when non-zero.
  result<std::uint16_t, client_error> subscribe(std::vector<mqtt::subscription> subscriptions,
                                                std::uint32_t subscription_identifier = 0,
                                                mqtt::properties properties = {});
  /// Queues UNSUBSCRIBE.
  result<std::uint16_t, client_error> unsubscribe(std::vector<std::string> filters,
                                                  mqtt::properties properties = {});

  /// Starts re-authentication: AUTH 0x19 with the CONNECT's Authentication Method and `data`
  /// [MQTT 5.0 4.12.1]. Errors: not_connected, not_supported (v3.1.1 or no method at CONNECT).
  result<void, client_error> reauthenticate(byte_vector data);

  /// Queues DISCONNECT and moves to closing; the driver closes once the output is written.
  result<void, client_error> disconnect(mqtt::reason_code reason = mqtt::normal_disconnection,
                                        mqtt::properties properties = {});

  // ---- input ----

  /// Writable space for the next read (at least a few KiB, more when a large packet is partly
  /// received). Valid until the next call on the machine.
  std::span<std::uint8_t> receive_space();
  /// `count` bytes were read into receive_space(): decodes and handles every complete packet.
  /// A failure ends the connection; when the protocol lets the client say why, a DISCONNECT
  /// with the reason code is queued first, so the driver writes the output, then closes.
  result<void, failure> received(std::size_t count);
  /// The peer closed the stream.
  failure end_of_stream() const;

  /// Keep alive and CONNACK timeout: call at next_deadline() (or later). Queues PINGREQ when the
  /// connection has been idle for the keep alive [MQTT-3.1.2-23]; fails with keep_alive_timeout
  /// when a PINGREQ stays unanswered for a whole further keep alive period.
  result<void, failure> on_timer();
  /// When on_timer() must next run; nullopt when no timer is needed.
  std::optional<acemq::clock::time_point> next_deadline() const;

  // ---- output ----

  outbound_queue& output() noexcept { return output_; }
  /// Call after a write of a batch from output() finished: releases it and may report on_ready.
  void write_finished();

  // ---- state ----

  connection_state state() const noexcept { return state_; }
  mqtt::protocol_version version() const noexcept { return version_; }
  const server_limits& limits() const noexcept { return limits_; }
  /// QoS 1 and 2 PUBLISH packets sent and not yet acknowledged.
  std::uint16_t in_flight() const noexcept { return in_flight_; }
  /// The Client Identifier in use (the CONNECT's, or the server's Assigned Client Identifier).
  const std::string& client_id() const noexcept { return client_id_; }
  /// Whether publish() at `qos` would currently be refused for flow control.
  bool can_publish(std::uint8_t qos) const noexcept;

 private:
  // State of one packet identifier [MQTT 5.0 2.2.1].
  enum class id_state : std::uint8_t {
    free = 0x0,
    awaiting_puback = 0x1,
    awaiting_pubrec = 0x2,
    awaiting_pubcomp = 0x3,
    awaiting_suback = 0x4,
    awaiting_unsuback = 0x5,
  };

  result<std::uint16_t, client_error> allocate_packet_id(id_state state);
  void release_packet_id(std::uint16_t id) noexcept;
  id_state state_of(std::uint16_t id) const noexcept {
    return id < ids_.size() ? ids_[id] : id_state::free;
  }
  void queue(const mqtt::packet& p);
  /// SUBSCRIBE or UNSUBSCRIBE: refused if too large for the server, else given a packet
  /// identifier in state `awaiting` and queued.
  template <typename Packet>
  result<std::uint16_t, client_error> queue_with_packet_id(Packet packet, id_state awaiting);
  result<void, failure> handle(mqtt::packet& p);
  result<void, failure> handle_connack(const mqtt::connack& p);
  result<void, failure> handle_publish(mqtt::publish& p);
  result<void, failure> handle_ack(mqtt::packet_type type, std::uint16_t id,
                                   mqtt::reason_code code);
  /// Ends an outbound QoS 1 or 2 exchange: frees the identifier and the window slot.
  result<void, failure> complete_publish(std::uint16_t id, mqtt::reason_code code);
  /// SUBACK or UNSUBACK: `expected` is the state its identifier must be in.
  template <typename Ack, typename Callback>
  result<void, failure> handle_subscription_ack(mqtt::packet_type type, const Ack& ack,
                                                id_state expected, const Callback& on_ack);
  result<void, failure> handle_auth(const mqtt::auth& p);
  /// Queues DISCONNECT with `reason` (v5 only; 3.1.1 just closes [MQTT-4.8.0-1]), moves to
  /// closing and returns the failure to report.
  unexpected<failure> fail(client_error error, mqtt::reason_code reason, std::string detail = {});
  /// Moves to closing and returns the failure, queueing nothing.
  unexpected<failure> stop(client_error error, mqtt::reason_code reason, std::string detail = {},
                           mqtt::properties properties = {});
  void maybe_ready();

  const acemq::clock& clock_;
  machine_settings settings_;
  events events_;
  outbound_queue output_;
  connection_state state_ = connection_state::idle;
  mqtt::protocol_version version_ = mqtt::protocol_version::v5;
  server_limits limits_;
  std::string client_id_;
  std::optional<std::string> authentication_method_;
  bool reauthenticating_ = false;

  // Packet identifiers: one state byte per identifier of the range in use, which starts small and
  // doubles (up to all 65535) only when every identifier in it is taken, so an idle connection
  // holds a few hundred bytes, not 64 KiB.
  std::vector<id_state> ids_;
  std::uint16_t next_id_ = 1;
  std::uint32_t ids_in_use_ = 0;
  std::uint16_t in_flight_ = 0;
  // QoS 2 messages received and not yet released by PUBREL [MQTT-4.3.3-9..11]; allocated at the
  // first inbound QoS 2 message.
  std::vector<bool> inbound_qos2_;

  // Topic aliases in each direction [MQTT 5.0 3.3.2.3.4]; inbound ones up to the Topic Alias
  // Maximum our CONNECT announced.
  mqtt::outbound_topic_aliases outbound_aliases_;
  mqtt::inbound_topic_aliases inbound_aliases_;
  std::uint16_t inbound_alias_maximum_ = 0;
  mqtt::publish scratch_;  // reused for outgoing PUBLISH headers: no allocation per message

  // Receive buffer: [receive_begin_, receive_end_) holds bytes not yet handled.
  byte_vector receive_buffer_;
  std::size_t receive_begin_ = 0;
  std::size_t receive_end_ = 0;
  std::size_t needed_ = 0;  // size of the partly received packet, 0 when unknown

  acemq::clock::time_point connect_started_{};
  acemq::clock::time_point last_sent_{};
  acemq::clock::time_point ping_sent_{};
  bool ping_outstanding_ = false;
  bool blocked_ = false;  // a command was refused for flow control: report on_ready later
};

}  // namespace acemq::client
