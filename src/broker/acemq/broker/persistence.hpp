#pragma once
// What the broker engine tells a durable store, and what it reads back at start-up.
//
// The engine stays sans-I/O: it calls these hooks at each mutation of durable state (with the
// lock of the state it changes held, so the order of the calls is the order of the changes) and
// a store records them; when and how they reach a disk is the store's business (acemq::persist).
// A null persistence is the in-memory mode. Only sessions that outlive their connection are
// persistent: a non-zero Session Expiry Interval (MQTT 5.0 3.1.2.11.2) or clean session 0
// (MQTT 3.1.1 3.1.2.4). QoS 0 deliveries are never stored (MQTT 5.0 4.3.1: at most once).
// Message rows are shared: one message routed to many sessions is stored once, with one delivery
// row per session referring to it by message_id.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acemq/broker/message.hpp"
#include "acemq/broker/session.hpp"
#include "acemq/broker/subscription_tree.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/result.hpp"

namespace acemq::broker {

/// A QoS 1/2 delivery to one persistent session as stored.
struct stored_delivery {
  /// Unique in the store (persistence::allocate_id), increasing in the session's queue order.
  std::uint64_t key = 0;
  /// Identity of `msg` in the store; the same for every session the message was routed to.
  std::uint64_t message_id = 0;
  message_ptr msg;
  std::uint8_t qos = 0;
  bool retain = false;
  std::vector<std::uint32_t> subscription_identifiers;
};

/// A delivery that had been sent (in flight) when the state was saved.
struct stored_inflight {
  stored_delivery item;
  std::uint16_t packet_id = 0;
  inflight_entry::stage at = inflight_entry::stage::publish_sent;
  /// Send order across the session's in-flight entries [MQTT-4.6.0-1].
  std::uint64_t sequence = 0;
};

/// A persistent session as read back at start-up.
struct stored_session {
  std::string client_id;
  /// The identity of the principal that owns the session (broker::attach); nullopt for a row
  /// written before owners were recorded (restore() discards such a session).
  std::optional<owned_identity> owner;
  std::uint32_t expiry_interval = 0;
  /// When its connection went away; nullopt when one was attached at the time of the crash or
  /// shutdown (the session then counts as detached at restore time).
  std::optional<clock::time_point> detached_at;
  std::vector<std::pair<std::string, subscription_options>> subscriptions;
  /// Queued deliveries, oldest first.
  std::vector<stored_delivery> queued;
  /// In-flight deliveries, in send order.
  std::vector<stored_inflight> inflight;
  /// Inbound QoS 2 packet identifiers awaiting PUBREL (MQTT 5.0 4.3.3).
  std::vector<std::uint16_t> inbound_qos2;
  /// The Will; publish_at is set when its delay had started.
  std::optional<pending_will> will;
};

/// Everything a store holds, read once before the listeners open.
struct persistence_snapshot {
  std::vector<stored_session> sessions;
  std::vector<message_ptr> retained;
  /// Smallest identifier above every stored message_id and key (see persistence::allocate_id).
  std::uint64_t next_id = 1;
};

/// Why a store could not be opened, read or written.
struct persistence_error {
  enum class code : std::uint8_t {
    io = 0x01,              // cannot open, read or write the file
    corrupt = 0x02,         // not a readable database, or not an acemq-broker one
    schema_too_new = 0x03,  // written by a newer acemq-broker
  };
  code reason = code::io;
  std::string message;
};

/// The hooks the engine calls. Implementations must be thread-safe and cheap: they are called
/// on routing threads with session locks held, so they only record the change.
class persistence {
 public:
  virtual ~persistence() = default;

  /// A fresh identifier for a message (stored_delivery::message_id) or a delivery
  /// (stored_delivery::key): unique in the store, increasing, never reused while a row holds it.
  virtual std::uint64_t allocate_id() = 0;

  /// Creates or updates a persistent session row, owned by `owner`. `detached_at` nullopt = a
  /// connection is attached.
  virtual void session_saved(std::string_view client_id, const principal_identity& owner,
                             std::uint32_t expiry_interval,
                             std::optional<clock::time_point> detached_at) = 0;
  /// Deletes a session and everything it owns (subscriptions, deliveries, inbound ids, Will).
  virtual void session_ended(std::string_view client_id) = 0;

  virtual void subscription_added(std::string_view client_id, std::string_view filter,
                                  const subscription_options& options) = 0;
  virtual void subscription_removed(std::string_view client_id, std::string_view filter) = 0;

  /// A QoS 1/2 delivery appended to the session's queue.
  virtual void delivery_queued(std::string_view client_id, const stored_delivery& item) = 0;
  /// A queued delivery sent as PUBLISH with `packet_id` (MQTT 5.0 4.3.2, 4.3.3), or sent again
  /// with another identifier.
  virtual void delivery_sent(std::uint64_t key, std::uint16_t packet_id,
                             std::uint64_t sequence) = 0;
  /// QoS 2: PUBREC received and PUBREL sent; only PUBCOMP is awaited [MQTT-4.3.3-4].
  virtual void delivery_released(std::uint64_t key) = 0;
  /// A delivery acknowledged (PUBACK / PUBCOMP), refused, expired or dropped.
  virtual void delivery_removed(std::uint64_t key) = 0;

  /// Inbound QoS 2 PUBLISH routed, its identifier kept until PUBREL (MQTT 5.0 4.3.3 method B).
  virtual void inbound_qos2_added(std::string_view client_id, std::uint16_t packet_id) = 0;
  virtual void inbound_qos2_released(std::string_view client_id, std::uint16_t packet_id) = 0;

  /// A retained message stored or replaced [MQTT-3.3.1-5].
  virtual void retained_set(const message_ptr& msg) = 0;
  /// A retained message removed (empty payload [MQTT-3.3.1-6], expiry).
  virtual void retained_cleared(std::string_view topic) = 0;

  /// The Will of a persistent session (kept until its connection ends, then while delayed).
  virtual void will_saved(std::string_view client_id, const pending_will& will) = 0;
  virtual void will_cleared(std::string_view client_id) = 0;

  /// Reads the stored state; called once, before any hook.
  virtual result<persistence_snapshot, persistence_error> load() = 0;

  /// Whether barrier() has work to do: the network layer asks before each write.
  virtual bool barrier_needed() const noexcept = 0;
  /// Returns once every change recorded before the call is as durable as the store promises
  /// before an acknowledgement goes out (e.g. committed and synced). An error means the state
  /// cannot be made durable: the caller must not acknowledge (it closes the connection, so the
  /// client retransmits to a restarted broker).
  virtual result<void, persistence_error> barrier() = 0;
};

}  // namespace acemq::broker
