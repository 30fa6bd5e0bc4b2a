#pragma once
// Bounds and feature flags of the broker engine and of one listener. Every field is a setting of
// the configuration file; the defaults below are the documented defaults (docs/broker-core.md).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace acemq::broker {

class auth_chain;
class publish_interceptor;

/// What the broker does with an unauthorized PUBLISH from an MQTT 3.1.1 client, which has no
/// reason code to tell it (MQTT 3.1.1 section 3.3.5 lets the server choose).
enum class v311_denied_publish_policy : std::uint8_t {
  drop = 0x00,        // acknowledge as usual and discard the message
  disconnect = 0x01,  // close the network connection
};

/// Broker-wide bounds. All are enforced by the engine or the connection machine except
/// max_connections, which the network layer enforces (the engine only counts connections).
struct broker_settings {
  /// Concurrent network connections; the network layer refuses more.
  std::size_t max_connections = 100'000;
  /// Largest packet accepted and advertised in CONNACK (Maximum Packet Size, 0x27, MQTT 5.0
  /// 3.2.2.3.6); a larger inbound packet ends the connection with 0x95 before its body is buffered.
  std::uint32_t maximum_packet_size = 1 * 1024 * 1024;
  /// Largest packet a connection may send until it is authenticated (CONNECT, AUTH and what the
  /// client sends before its CONNACK); a larger one is refused from its header: CONNACK 0x95 to
  /// an MQTT 5 CONNECT whose protocol level arrived with the header, otherwise the connection is
  /// closed. The effective bound is the smaller of this and maximum_packet_size. The network
  /// layer raises it to hold a CONNECT carrying the largest token accepted (docs/configuration.md).
  std::uint32_t max_packet_size_before_authentication = 64 * 1024;
  /// Receive Maximum advertised in CONNACK: inbound QoS 1/2 PUBLISH not yet acknowledged.
  /// One more is a protocol violation answered with DISCONNECT 0x93 [MQTT-3.3.4-8].
  std::uint16_t receive_maximum = 256;
  /// Cap on outbound QoS 1/2 PUBLISH in flight per session; the effective window is the minimum
  /// of this and the client's Receive Maximum [MQTT-3.3.4-9].
  std::uint16_t max_inflight = 256;
  /// Messages waiting in one session's outbound queue (beyond the in-flight window).
  std::size_t max_queued_messages = 1000;
  /// Payload bytes waiting in one session's outbound queue.
  std::size_t max_queued_bytes = 16 * 1024 * 1024;
  /// Payload bytes queued across all sessions together (the memory ceiling for queued messages).
  /// At the ceiling enqueue() behaves as at a session bound: QoS 0 deliveries are dropped, a
  /// QoS 1/2 delivery evicts that session's oldest queued QoS 0 ones or is dropped (counted in
  /// messages_dropped). Payloads shared by several queues are counted once per queue.
  std::size_t max_queued_memory = std::size_t{1} << 30;
  /// Payload bytes queued across all sessions of one principal (principal::identity; every
  /// anonymous client is one principal), so one principal's sessions cannot fill the broker-wide
  /// ceiling and make everyone else's deliveries drop. At it enqueue() behaves as at a session
  /// bound. 0 = a quarter of max_queued_memory (queued_memory_share()).
  std::size_t max_queued_memory_per_principal = 0;
  /// Flow control towards publishers: when a message lands in the queue of a connected session
  /// that is three quarters full (session_state::congested), the publishing connection stops
  /// reading for this long, so its client (TCP, then its own flow control) slows down instead of
  /// the broker acknowledging messages it must then drop. Zero disables it.
  std::chrono::milliseconds congestion_pause{2};
  /// PUBLISH packets per second one connection may send (token bucket holding one second's
  /// worth); beyond it the broker stops reading from that connection until the rate is met again
  /// (nothing is refused or dropped). Zero = unlimited.
  std::uint32_t max_publish_rate = 0;
  /// Topic Alias Maximum advertised in CONNACK (aliases the client may use towards us); 0 = none.
  std::uint16_t topic_alias_maximum = 64;
  /// Longest topic name or filter accepted, in bytes.
  std::size_t max_topic_length = 1024;
  /// Most levels in a topic name or filter.
  std::size_t max_topic_levels = 32;
  /// Subscriptions one session may hold; more are refused with SUBACK 0x97 (0x80 in 3.1.1).
  std::size_t max_subscriptions_per_client = 256;
  /// Time allowed between accepting the transport and receiving CONNECT (and finishing any
  /// enhanced authentication exchange).
  std::chrono::seconds connect_timeout{10};
  /// When set, overrides the client's Keep Alive for MQTT 5 clients (Server Keep Alive, 0x13).
  std::optional<std::uint16_t> server_keep_alive;
  /// Upper bound on Session Expiry Interval; also the lifetime of an MQTT 3.1.1 session with
  /// clean session 0 (which has no expiry of its own). 0xFFFFFFFF = never expires.
  std::uint32_t maximum_session_expiry = 7 * 24 * 3600;
  /// Maximum QoS (0x24) the broker supports; PUBLISH above it is answered with DISCONNECT 0x9B.
  std::uint8_t maximum_qos = 2;
  /// Retain Available (0x25).
  bool retain_available = true;
  /// Retained messages kept broker-wide; beyond, new retained topics are refused (see
  /// max_retained_memory for what a refusal does).
  std::size_t max_retained_messages = 100'000;
  /// Bytes of all retained messages together (topic and payload of each). A retained message
  /// that would pass this bound or max_retained_messages is not stored (retained_refused); a
  /// client's PUBLISH is then refused as a whole: not routed, PUBACK/PUBREC 0x97 at QoS 1/2 in
  /// MQTT 5. A Will is still delivered live, without being stored.
  std::size_t max_retained_memory = std::size_t{256} << 20;
  /// Sessions in the broker, connected or kept for a disconnected client. A CONNECT that would
  /// create one more is refused with CONNACK 0x97 Quota exceeded (3.1.1: return code 3, server
  /// unavailable); resuming or taking over an existing session is not.
  std::size_t max_sessions = 200'000;
  /// Sessions one principal (principal::identity: provider, issuer, subject) may hold; more are
  /// refused like a CONNECT at max_sessions.
  std::size_t max_sessions_per_principal = 100;
  /// The same bound for a principal without subject ("anonymous", "public"): every anonymous
  /// client is that one principal, so its bound counts all of them together.
  std::size_t max_sessions_anonymous = 1000;
  /// Wildcard Subscription Available (0x28).
  bool wildcard_subscription_available = true;
  /// Shared Subscription Available (0x2A).
  bool shared_subscription_available = true;
  /// Subscription Identifiers Available (0x29).
  bool subscription_identifier_available = true;
  /// Longest client identifier accepted, in bytes (the spec requires at least 23 [MQTT-3.1.3-5]).
  std::size_t max_client_id_length = 256;
  /// Whether an empty client identifier gets a server-assigned one [MQTT-3.1.3-6].
  bool allow_empty_client_id = true;
  /// Whether a client's identifier must equal the identity it proved (principal_identity's
  /// subject: the user name, certificate identity, device id, ACE client), as cloud IoT brokers
  /// offer; other identifiers are refused with 0x85 (3.1.1: return code 2). Anonymous clients,
  /// whose identity has no subject, and assigned identifiers then never match.
  bool client_id_must_match_identity = false;
  /// Response Information (0x1A) prefix returned when requested; the client id is appended.
  /// Empty = never return Response Information.
  std::string response_information_prefix = "response/";
  /// Whether QoS 0 messages are queued for a session with no connection (MQTT 5 section 3.1.2.4
  /// makes it optional).
  bool queue_qos0_when_offline = false;
  /// MQTT 3.1.1 PUBLISH refused by the principal.
  v311_denied_publish_policy v311_denied_publish = v311_denied_publish_policy::drop;
  /// How often broker::tick() publishes the retained `$SYS/broker/...` statistics (uptime,
  /// clients, messages, bytes, subscriptions, retained, dropped, authentication); 0 = never.
  std::chrono::seconds sys_interval{10};
};

/// The effective max_queued_memory_per_principal of `settings`: its value, a quarter of
/// max_queued_memory when it is 0, and never more than max_queued_memory.
inline std::size_t queued_memory_share(const broker_settings& settings) noexcept {
  const std::size_t share = settings.max_queued_memory_per_principal != 0
                                ? settings.max_queued_memory_per_principal
                                : settings.max_queued_memory / 4;
  return share < settings.max_queued_memory ? share : settings.max_queued_memory;
}

/// Per-listener facts and overrides handed to every connection accepted on that listener.
struct listener_settings {
  /// Listener name from the configuration, for logs.
  std::string name = "default";
  /// Whether the transport is TLS (then connection_io::tls() is not null).
  bool tls = false;
  /// Overrides broker_settings::maximum_packet_size for this listener when set.
  std::optional<std::uint32_t> maximum_packet_size;
  /// The authentication providers of this listener; null = the broker's default chain.
  std::shared_ptr<const auth_chain> auth;
  /// Topics consumed by a handler instead of being routed, e.g. RFC 9431 "authz-info" (the ACE
  /// provider's ace::authz_info_interceptor). Null = none. See publish_interceptor.
  std::shared_ptr<publish_interceptor> interceptor;
};

}  // namespace acemq::broker
