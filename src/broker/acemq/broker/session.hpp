#pragma once
// Session state (MQTT 5.0 section 4.1): what survives a network connection. Shared between the
// routing threads (which enqueue deliveries) and the thread of the attached connection, so all
// mutable state sits behind one mutex and is reached through session::lock().

#include <atomic>
#include <boost/container/devector.hpp>
#include <boost/container/flat_set.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/message.hpp"
#include "acemq/broker/subscription_tree.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/small_mutex.hpp"

namespace acemq::broker {

class connection_io;
class session;
class persistence;
struct broker_settings;

/// One message on its way to one session: the shared message plus what this subscription made
/// of it (granted QoS, retain flag after Retain As Published, Subscription Identifiers).
struct delivery {
  message_ptr msg;
  std::uint8_t qos = 0;
  bool retain = false;
  std::vector<std::uint32_t> subscription_identifiers;
  /// Its row in the store (persistence::allocate_id); 0 = not stored (QoS 0, or a session that
  /// does not outlive its connection).
  std::uint64_t store_key = 0;
  /// The stored identity of `msg`, shared by every delivery of one routed message.
  std::uint64_t message_id = 0;
};

/// An outbound QoS 1/2 PUBLISH awaiting its acknowledgement (MQTT 5.0 4.3.2, 4.3.3).
struct inflight_entry {
  enum class stage : std::uint8_t {
    publish_sent = 0x00,  // waiting for PUBACK (QoS 1) or PUBREC (QoS 2)
    pubrel_sent = 0x01,   // QoS 2: waiting for PUBCOMP
  };
  delivery item;
  stage at = stage::publish_sent;
  /// Send order, so a resumed session retransmits in the original order [MQTT-4.6.0-1].
  std::uint64_t sequence = 0;
  /// Not yet retransmitted on the current connection (set when a session is resumed).
  bool resend = false;
};

/// The Will Message of the attached (or last) connection, with its Will Delay Interval.
struct pending_will {
  /// The message as it will be published; expires_at is filled in when it is published.
  message content;
  std::optional<std::uint32_t> message_expiry_interval;
  std::uint32_t delay_seconds = 0;
  /// Set when the connection ended without a normal DISCONNECT [MQTT-3.1.2-8].
  std::optional<clock::time_point> publish_at;
  /// When the publisher's grant ends, in seconds since the epoch (principal::expires_at_unix()
  /// at CONNECT, renewed by a re-authentication); nullopt = no bound. A retained Will is dropped
  /// then, like any retained message of the client (RFC 9431 5: "min(token expiry, message
  /// expiry)"); it becomes message::retain_until when the Will is published.
  std::optional<std::int64_t> publisher_grant_ends_unix;
};

/// Why enqueue() did not queue a delivery.
enum class enqueue_result : std::uint8_t {
  queued = 0x00,
  dropped_full = 0x01,     // at max_queued_messages / max_queued_bytes (counted)
  dropped_offline = 0x02,  // QoS 0 for a session without connection (policy)
  dropped_expired = 0x03,  // Message Expiry Interval elapsed [MQTT-3.3.2-5]
  denied = 0x04,           // principal.may_receive() refused the topic
};

/// What the sessions of one principal share (broker_settings::max_sessions_per_principal,
/// max_queued_memory_per_principal). Owned by the broker, one per principal identity holding a
/// session; a session refers to it until the session ends.
struct principal_usage {
  /// Sessions of the principal; changed with the broker's registry lock held.
  std::size_t sessions = 0;
  /// Payload bytes queued in those sessions, kept in step like the broker-wide total.
  std::atomic<std::size_t> queued_bytes{0};
};

/// What all sessions of one broker share: the broker-wide total of queued payload bytes
/// (broker_settings::max_queued_memory) and the broker's store (null in memory-only mode).
struct session_context {
  std::atomic<std::size_t>* total_queued_bytes = nullptr;
  persistence* store = nullptr;
};

/// What a session holds once messages flow: its queue, its outbound messages in flight and its
/// inbound QoS 2 identifiers. Allocated at the first message in either direction and kept until
/// the session ends, so an idle session carries a pointer instead of these 144 bytes.
struct session_traffic {
  /// Deliveries not yet sent (beyond the in-flight window), oldest first.
  // A devector: one contiguous block used from both ends, allocated at the first delivery, in 32
  // bytes (boost's deque takes 80 and std::deque allocates a map and a block on construction).
  boost::container::devector<delivery> queue;
  std::size_t queued_bytes = 0;
  std::size_t queued_qos0 = 0;

  /// Outbound QoS 1/2 messages by packet identifier.
  std::map<std::uint16_t, inflight_entry> inflight;
  /// In-flight entries still to be retransmitted on the current connection.
  std::size_t awaiting_resend = 0;

  /// Inbound QoS 2 packet identifiers whose PUBREL has not arrived yet (MQTT 5.0 4.3.3, method B:
  /// the message was routed on PUBLISH, the identifier makes a retransmission a no-op). A sorted
  /// vector: at most the broker's Receive Maximum identifiers (256 by default), no node each.
  boost::container::flat_set<std::uint16_t> inbound_qos2;

  /// Send order of the next in-flight entry.
  std::uint64_t next_sequence = 0;
  /// Drops counted for this session (queue bounds), for diagnostics.
  std::uint64_t dropped = 0;

  /// Publishers paused because this queue was congested (connection::after_publish): their
  /// sessions are told to resume once it has drained to a quarter of its bounds
  /// (batch_request::resume_below), instead of each waiting out its whole pause. At most
  /// max_waiting_publishers; one more simply waits out its pause.
  std::vector<std::weak_ptr<session>> waiting_publishers;
  static constexpr std::size_t max_waiting_publishers = 16;
};

/// Mutable session state; only touched with the session's mutex held.
struct session_state {
  /// Connection currently attached (0 = none) and its transport, for wake().
  std::uint64_t owner = 0;
  connection_io* io = nullptr;
  /// Session Expiry Interval in seconds; 0xFFFFFFFF = never.
  std::uint32_t expiry_interval = 0;
  std::uint16_t next_packet_id = 1;
  // Flags in one byte.
  bool wake_pending : 1 = false;
  /// Set when the session was discarded (expiry, clean start of a new connection).
  bool ended : 1 = false;
  /// Set by routing when `who` refused a delivery and asks to be disconnected for it
  /// (principal::disconnect_on_denied_delivery, RFC 9431 3.2); the attached connection sees it on
  /// its next wake and closes. Cleared when a connection attaches.
  bool delivery_refused : 1 = false;
  /// Durable changes go to the broker's store (store()) while this session outlives its
  /// connection (Session Expiry Interval non-zero); not otherwise, and not once the session
  /// ended (docs/broker-core.md, "Persistence").
  bool durable : 1 = false;
  /// Set when a subscriber this session's connection published to has drained its queue: the
  /// connection, paused for that congestion, may resume before its pause ends.
  bool resume_requested : 1 = false;
  /// Who the last authenticated client is; deliveries are authorized against it.
  std::shared_ptr<const principal> who;
  clock::time_point detached_at{};

  /// The broker's shared counters and store; null in tests that use a session alone. The
  /// broker-wide total of queued bytes is kept in step with the queued bytes by every method
  /// below.
  const session_context* context = nullptr;
  /// What this session's principal shares with its other sessions; null in tests that use a
  /// session alone and once the session ended (leave_principal()).
  principal_usage* usage = nullptr;

  // On the heap: most sessions hold no Will, and a pending_will is about 600 bytes.
  std::unique_ptr<pending_will> will;

  /// The store durable changes of this session go to; null when it is not durable.
  persistence* store() const noexcept { return durable && context ? context->store : nullptr; }
  /// Drops counted for this session (queue bounds), for diagnostics.
  std::uint64_t dropped() const noexcept { return traffic_ ? traffic_->dropped : 0; }

  /// The queue, in-flight and inbound QoS 2 state, allocated here if the session has none yet:
  /// for changing them.
  session_traffic& traffic();
  /// The same for reading; an idle session's is an empty one shared by all (nothing allocated).
  const session_traffic& traffic_view() const noexcept;
  /// The same for changing what is there, without allocating: null for an idle session.
  session_traffic* traffic_if_any() noexcept { return traffic_.get(); }

  session_state() = default;
  session_state(const session_state&) = delete;
  session_state& operator=(const session_state&) = delete;
  /// Gives the queued bytes back to the broker-wide total.
  ~session_state();

  /// Gives this session's queued bytes back to its principal's total and forgets the principal's
  /// usage (the session ended; the broker may then drop the usage). Returns what it referred to.
  principal_usage* leave_principal() noexcept;

  /// Appends a delivery within the bounds of `settings`: the session's max_queued_messages and
  /// max_queued_bytes, its principal's share (queued_memory_share(), through `usage`) and the
  /// broker-wide max_queued_memory (through total_queued_bytes). At a
  /// bound a QoS 0 delivery is dropped; a QoS 1/2 delivery evicts the oldest queued QoS 0 ones,
  /// or is dropped when there are none.
  enqueue_result enqueue(delivery item, const broker_settings& settings, clock::time_point now);
  /// Takes the oldest queued delivery.
  std::optional<delivery> dequeue();
  /// The same for a batch taken under one lock: adds the payload bytes to `taken`, which go
  /// back to the principal's and the broker-wide totals (atomics other threads update too) in
  /// settle_taken(), once per batch.
  std::optional<delivery> take_front(std::size_t& taken);
  /// Gives back the bytes take_front() counted in `taken`; call it before unlocking.
  void settle_taken(std::size_t taken) noexcept;
  /// Puts a delivery taken by dequeue() back at the head (no packet identifier was free).
  void requeue_front(delivery item);
  /// Whether the queue is at three quarters of a per-session bound: a connected subscriber this
  /// far behind throttles the publishers feeding it (docs/broker-core.md, flow control).
  bool congested(const broker_settings& settings) const noexcept;
  /// A packet identifier not in flight [MQTT-2.2.1-3]; nullopt when all 65535 are in use.
  std::optional<std::uint16_t> allocate_packet_id();
  using inflight_iterator = std::map<std::uint16_t, inflight_entry>::iterator;
  /// The in-flight entry of `packet_id`, if there is one; allocates nothing for an idle session
  /// (an acknowledgement for an unknown identifier must not).
  std::optional<inflight_iterator> find_inflight(std::uint16_t packet_id);
  /// Removes an in-flight entry (acknowledged, refused or dropped), keeping awaiting_resend exact.
  void erase_inflight(inflight_iterator entry);
  /// Marks every in-flight entry for retransmission on a new connection [MQTT-4.4.0-1].
  void mark_inflight_for_resend();
  /// Removes queued deliveries whose message expired; returns how many.
  std::size_t purge_expired(clock::time_point now);
  /// Removes queued deliveries for which `remove(const delivery&)` is true (e.g. topics a narrower
  /// re-authenticated principal may no longer receive); returns how many.
  template <typename Predicate>
  std::size_t drop_queued_if(Predicate&& remove) {
    if (!traffic_) return 0;
    auto& queue = traffic_->queue;
    std::size_t removed = 0;
    for (auto it = queue.begin(); it != queue.end();) {
      if (remove(*it)) {
        unstore(*it);
        forget(*it);
        it = queue.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    release_if_drained();
    return removed;
  }
  /// Removes the in-flight deliveries the client has not received for sure (PUBLISH sent, no
  /// PUBACK or PUBREC yet) for which `remove(const delivery&)` is true, freeing their packet
  /// identifiers; returns how many. Entries past PUBREC carry no content any more and stay.
  template <typename Predicate>
  std::size_t drop_unreceived_inflight_if(Predicate&& remove) {
    if (!traffic_) return 0;
    auto& inflight = traffic_->inflight;
    std::size_t removed = 0;
    for (auto it = inflight.begin(); it != inflight.end();) {
      const auto current = it++;
      if (current->second.at == inflight_entry::stage::publish_sent &&
          remove(current->second.item)) {
        erase_inflight(current);
        ++removed;
      }
    }
    return removed;
  }
  /// Removes queued QoS 0 deliveries (when the connection goes away and they are not kept).
  void drop_queued_qos0();
  /// Tells the store a stored delivery is gone (nothing for a delivery that was never stored, or
  /// a session that is not durable).
  void unstore(const delivery& item);

 private:
  /// Deliveries' worth of queue storage an emptied queue keeps (a busy subscriber's steady
  /// state); a larger block, left by a backlog, is freed once the queue is empty.
  static constexpr std::size_t retained_queue_capacity = 32;

  void release_if_drained() noexcept;
  /// The broker-wide total of queued bytes; null for a session used alone (tests).
  std::atomic<std::size_t>* total_queued_bytes() const noexcept {
    return context ? context->total_queued_bytes : nullptr;
  }
  /// Accounting for a delivery entering / leaving `queue`.
  void remember(const delivery& item) noexcept;
  void forget(const delivery& item) noexcept;
  /// The same without the shared totals, which settle_taken() updates for a whole batch.
  void forget_locally(const delivery& item) noexcept;
  std::unique_ptr<session_traffic> traffic_;
};

/// What the attached connection asks of session::take_batch.
struct batch_request {
  /// The asking connection; a session attached to another one (taken over) gives it nothing.
  std::uint64_t owner = 0;
  /// The in-flight window: the client's Receive Maximum bounded by the broker's max_inflight
  /// [MQTT-3.3.4-9].
  std::size_t window = 0;
  clock::time_point now{};
  /// Authorizes each delivery against its topic (RFC 9431 3.2); null = every topic (a session
  /// used alone in tests).
  const principal* receiver = nullptr;
  /// Asked whether it holds too many unwritten bytes: a slow reader's backlog stays in the
  /// session queue, where its bounds and drop policy apply. Null = never congested.
  connection_io* transport = nullptr;
  /// Once the queue holds no more messages and bytes than these, the publishers waiting for it
  /// are handed back in outbound_batch::resume.
  std::size_t resume_below_messages = 0;
  std::size_t resume_below_bytes = 0;
};

/// What session::take_batch hands the connection, to be written outside the session's lock.
struct outbound_batch {
  struct retransmission {
    delivery item;
    std::uint16_t packet_id = 0;
    inflight_entry::stage at = inflight_entry::stage::publish_sent;
  };
  /// In-flight entries of a resumed session to send again, in their original order
  /// [MQTT-4.4.0-1]: a PUBLISH with DUP 1 or a PUBREL, by `at`.
  std::vector<retransmission> resend;
  /// New deliveries, in queue order, with the packet identifier each now has in flight (0 for
  /// QoS 0).
  std::vector<std::pair<delivery, std::uint16_t>> fresh;
  /// Taken from the queue and dropped: expired [MQTT-3.3.2-5], or refused by the receiver.
  std::size_t expired = 0;
  std::size_t denied = 0;
  /// A batch bound (64 deliveries or 64 KiB) was reached with more to send: ask again.
  bool more = false;
  /// The receiver refused a delivery and asks to be disconnected for it (RFC 9431 3.2, 6.2).
  bool refused = false;
  /// Publishers that paused for this session's congestion and may now resume
  /// (broker::resume_publisher).
  std::vector<std::weak_ptr<session>> resume;

  void clear() noexcept;
};

/// What an inbound QoS 1/2 PUBLISH is, by its packet identifier (session::admit_inbound).
enum class inbound_publish : std::uint8_t {
  fresh = 0x00,
  /// QoS 2 whose PUBREL has not arrived yet: acknowledged again, not routed again (MQTT 5.0
  /// 4.3.3, method B).
  duplicate = 0x01,
  /// More unacknowledged QoS 2 than the broker's Receive Maximum [MQTT-3.3.4-7].
  over_receive_maximum = 0x02,
};

/// What a PUBREC did to its in-flight entry (session::acknowledge_pubrec).
enum class pubrec_outcome : std::uint8_t {
  /// The message is received; answer with PUBREL and wait for PUBCOMP.
  release = 0x00,
  /// A PUBREC with an error reason code ended the exchange; the identifier is free (4.3.3).
  ended = 0x01,
  /// No QoS 2 message in flight has this identifier.
  unknown = 0x02,
};

/// A session, registered by client identifier in the broker.
class session {
 public:
  session(subscriber_id id, std::string client_id) : id_(id), client_id_(std::move(client_id)) {}

  /// The subscriber identifier used in the subscription tree (unique per session instance).
  subscriber_id id() const noexcept { return id_; }
  const std::string& client_id() const noexcept { return client_id_; }
  /// Whether a connection is attached; lock-free, for shared subscription member choice.
  bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }

  /// Exclusive access to the mutable state.
  class locked {
   public:
    explicit locked(session& owner) : owner_(owner), guard_(owner.mutex_) {}
    session_state* operator->() noexcept { return &owner_.state_; }
    session_state& operator*() noexcept { return owner_.state_; }
    void set_connected(bool value) noexcept {
      owner_.connected_.store(value, std::memory_order_relaxed);
    }

   private:
    session& owner_;
    std::lock_guard<small_mutex> guard_;
  };
  locked lock() { return locked(*this); }

  // What the attached connection does with the session. Each call takes the lock once and tells
  // the store (persistence) what it changed when the session is durable; the connection touches
  // the queue, the in-flight window and the inbound QoS 2 identifiers through these alone.

  /// Classifies an inbound QoS 1/2 PUBLISH before it is routed; `receive_maximum` is the one
  /// the broker announced in CONNACK.
  inbound_publish admit_inbound(std::uint8_t qos, std::uint16_t packet_id,
                                std::size_t receive_maximum);
  /// Records an inbound QoS 2 identifier as awaiting PUBREL, before PUBREC is written, so a
  /// retransmission (also after a restart) is not routed twice (MQTT 5.0 4.3.3).
  void record_inbound_qos2(std::uint16_t packet_id);
  /// PUBREL: forgets the identifier; false when it was not awaiting PUBREL (3.7.2.1: 0x92).
  bool release_inbound_qos2(std::uint16_t packet_id);

  /// PUBACK frees a QoS 1 entry; PUBCOMP a QoS 2 entry whose PUBREL was sent. An identifier not
  /// in flight (a late duplicate) is ignored and allocates nothing.
  void acknowledge_puback(std::uint16_t packet_id);
  pubrec_outcome acknowledge_pubrec(std::uint16_t packet_id, bool error);
  void acknowledge_pubcomp(std::uint16_t packet_id);
  /// Frees an in-flight entry that was never sent (over the client's Maximum Packet Size).
  void drop_inflight(std::uint16_t packet_id);
  /// A resumed session: every in-flight entry is sent again on the new connection
  /// [MQTT-4.4.0-1], before any new delivery.
  void resend_inflight();

  /// Moves what may be sent now into `out` (cleared first): retransmissions of a resumed session
  /// first, then queued deliveries within the window and one batch bound, each QoS 1/2 one
  /// entered in flight with a packet identifier. Nothing when the session belongs to another
  /// connection, has ended, or the transport is congested.
  void take_batch(const batch_request& request, outbound_batch& out);
  /// Whether a congested subscriber asked this session's connection to resume publishing
  /// (session_state::resume_requested); clears the request.
  bool take_resume_request();

  /// Applies a new (re-authenticated) principal: deliveries are authorized against it from now
  /// on, a retained Will ends with its grant (RFC 9431 5), and queued or not-yet-received
  /// deliveries it may not receive are dropped. Returns how many were dropped.
  std::size_t narrow_to(std::shared_ptr<const principal> who);

 private:
  /// take_batch's deliveries, with the lock held.
  /// Adds the payload bytes it takes out of the queue to `taken` (session_state::take_front).
  void fill_batch(const batch_request& request, outbound_batch& out, locked& held,
                  std::size_t& taken);

  const subscriber_id id_;
  const std::string client_id_;
  std::atomic<bool> connected_{false};
  small_mutex mutex_;
  session_state state_;
};

}  // namespace acemq::broker
