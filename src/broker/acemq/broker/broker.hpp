#pragma once
// The broker engine shared by every connection: the session registry, the subscription tree, the
// retained store and routing. Thread-safe; see docs/broker-core.md for the locking order.

#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/message.hpp"
#include "acemq/broker/retained_store.hpp"
#include "acemq/broker/session.hpp"
#include "acemq/broker/settings.hpp"
#include "acemq/broker/subscription_tree.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/mqtt/reason_code.hpp"

namespace acemq::broker {

class connection_io;
class persistence;
struct persistence_snapshot;

/// What broker::restore() rebuilt.
struct restore_summary {
  std::size_t sessions = 0;
  /// Sessions stored without an owner (by a release before owners were recorded), ended.
  std::size_t discarded = 0;
  std::size_t retained = 0;
};

/// Counters for metrics; relaxed atomics, read at any time.
struct broker_counters {
  std::atomic<std::uint64_t> connections_current{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> messages_out{0};
  std::atomic<std::uint64_t> bytes_out{0};
  /// Deliveries dropped at a queue bound or because they exceeded the client's maximum packet
  /// size [MQTT-3.1.2-25].
  std::atomic<std::uint64_t> messages_dropped{0};
  /// Deliveries refused by the subscriber's principal (authorization on delivery).
  std::atomic<std::uint64_t> deliveries_denied{0};
  /// Messages whose Message Expiry Interval elapsed before delivery.
  std::atomic<std::uint64_t> messages_expired{0};
  /// Retained messages not stored because max_retained_messages or max_retained_memory was
  /// reached.
  std::atomic<std::uint64_t> retained_refused{0};
  /// Bytes (topic and payload) of the retained messages (bounded by max_retained_memory).
  std::atomic<std::size_t> retained_bytes{0};
  /// CONNECTs refused because they would pass max_sessions or a principal's session bound.
  std::atomic<std::uint64_t> sessions_refused{0};
  std::atomic<std::uint64_t> subscriptions{0};
  std::atomic<std::uint64_t> retained_messages{0};
  std::atomic<std::uint64_t> sessions{0};
  /// CONNECTs whose authentication succeeded / was refused by the providers.
  std::atomic<std::uint64_t> auth_success{0};
  std::atomic<std::uint64_t> auth_failure{0};
  /// Payload bytes queued in all sessions (bounded by broker_settings::max_queued_memory).
  std::atomic<std::size_t> queued_bytes{0};
  /// Times a publishing connection was paused because a subscriber's queue was congested.
  std::atomic<std::uint64_t> publishers_throttled{0};
  /// Times a connection stopped being read because it exceeded max_publish_rate.
  std::atomic<std::uint64_t> publish_rate_limited{0};
};

/// What routing saw that the publishing connection acts on (flow control).
struct publish_feedback {
  /// A connected destination's queue is three quarters full or refused the delivery for a bound
  /// (session_state::congested): the publisher should slow down.
  bool congested = false;
  /// The publishing connection's session, kept by a congested destination so that it can tell
  /// the publisher to resume once it has drained (session_traffic::waiting_publishers).
  const std::shared_ptr<session>* publisher = nullptr;
  /// The message is retained and the retained store is at max_retained_messages or
  /// max_retained_memory: it was neither stored nor routed (the publisher answers 0x97).
  bool retained_refused = false;
};

/// QoS 0 messages of one publisher's read, routed together by broker::route(route_batch&): the
/// session registry and the topic tree are locked once for the batch and each destination session
/// once for all the messages it receives from it, instead of each once per message. Authorization
/// on delivery, the queue bounds and the order of each publisher's messages are those of
/// publish(). Holds at most `limit()` messages: the caller routes a full batch before adding
/// more. The limit adapts to congestion: a route that finds a destination congested sets it to
/// one message (routing as publish() does), and each route that does not raises it by 16, up to
/// `most`. A publisher is paused only after the batch that found a destination congested, so
/// while destinations are congested the batches are short and the publishers stop close to where
/// they would message by message, before a destination's queue reaches its bound.
class route_batch {
 public:
  static constexpr std::size_t most = 256;
  bool empty() const noexcept { return messages_.empty(); }
  bool full() const noexcept { return messages_.size() >= limit_; }
  std::size_t limit() const noexcept { return limit_; }

 private:
  friend class broker;
  std::vector<message_ptr> messages_;
  std::size_t limit_ = most;
};

/// Whether `topic` is in the broker's own `$SYS` tree, which clients may not publish to
/// (MQTT 5.0 4.7.2: topics starting with '$' are for server-specific purposes).
bool is_sys_topic(std::string_view topic) noexcept;

/// What a connection asks for when its CONNECT has been authenticated.
struct attach_request {
  std::string client_id;
  bool clean_start = true;
  std::uint32_t expiry_interval = 0;
  std::uint64_t connection_id = 0;
  connection_io* io = nullptr;
  std::shared_ptr<const principal> who;
  std::optional<pending_will> will;
};

/// The session a connection got, and the CONNACK Session Present flag [MQTT-3.2.2-2].
struct attach_result {
  std::shared_ptr<session> attached;
  bool session_present = false;
  /// The client identifier's session belongs to another principal: nothing was attached and
  /// nothing changed (the connection refuses the CONNECT with 0x87).
  bool refused = false;
  /// A new session would pass max_sessions or its principal's session bound: none was created
  /// (the connection refuses the CONNECT with 0x97).
  bool quota_exceeded = false;
};

/// The outcome of one SUBSCRIBE filter.
struct subscribe_result {
  mqtt::reason_code reason = mqtt::reason_code::success;
  /// True when the filter replaced an existing subscription (Retain Handling 1).
  bool existed = false;
};

/// The shared engine. All methods are thread-safe.
class broker {
 public:
  /// `default_auth` is used by listeners without their own chain; it must not be null.
  broker(broker_settings settings, std::shared_ptr<const auth_chain> default_auth,
         const clock& time, random_source& random);
  ~broker();
  broker(const broker&) = delete;
  broker& operator=(const broker&) = delete;

  const broker_settings& settings() const noexcept { return settings_; }
  const clock& time() const noexcept { return clock_; }
  const auth_chain& default_auth() const noexcept { return *default_auth_; }
  broker_counters& counters() noexcept { return counters_; }
  const broker_counters& counters() const noexcept { return counters_; }

  /// Counts a new connection and returns its identifier (never 0).
  std::uint64_t open_connection();
  /// Counts a connection gone.
  void close_connection();
  /// True when max_connections connections are open (the network layer refuses new ones).
  bool at_connection_limit() const noexcept;

  /// A fresh client identifier for an empty one [MQTT-3.1.3-6]: "auto-" and 16 hex digits.
  std::string assign_client_id();

  /// Attaches a connection to the session of its client identifier, creating, resuming or
  /// discarding (clean start) it. A session belongs to the principal identity that created it
  /// (principal::identity): a request by another identity is refused (attach_result::refused)
  /// and changes nothing, neither the session nor its connection nor its Will. An attached older
  /// connection is taken over [MQTT-3.1.4-3]: its transport is woken and it finds itself no longer
  /// the owner (it then sends DISCONNECT 0x8E). The Will of the older connection is published
  /// unless this request resumes the session and the Will Delay Interval is non-zero
  /// (MQTT 5.0 3.1.3.2.2). A request that needs a new session beyond max_sessions or its
  /// principal's bound (max_sessions_per_principal, max_sessions_anonymous for an identity
  /// without subject) gets none (attach_result::quota_exceeded); a session it ended by Clean
  /// Start stays ended.
  attach_result attach(attach_request request);

  /// Detaches connection `connection_id` from `subject` (no-op when it is no longer the owner).
  /// With `will_due` the Will is published after its delay or at session end, whichever is
  /// first [MQTT-3.1.3-9]; otherwise it is discarded [MQTT-3.1.2-10]. A session with expiry 0
  /// ends now.
  void detach(const std::shared_ptr<session>& subject, std::uint64_t connection_id, bool will_due);

  /// Routes a message: retained store update, matching subscriptions (aggregated per session),
  /// authorization of each delivery, enqueue and wake. Returns the number of sessions it was
  /// queued for. A retained message the store refuses (max_retained_messages,
  /// max_retained_memory) is not stored; with `feedback` (a client's PUBLISH) it is not routed
  /// either and feedback->retained_refused is set, without (a Will) it is routed.
  std::size_t publish(const message_ptr& msg, publish_feedback* feedback = nullptr);
  /// A client's QoS 0 `msg` as publish() takes it (counted, dropped when expired, the retained
  /// store updated or refused: feedback.retained_refused), but its delivery is left to
  /// route(batch). `batch` must not be full. Returns whether it was added.
  bool publish_later(message_ptr msg, route_batch& batch, publish_feedback& feedback);
  /// Delivers the messages of `batch` in the order they were added and empties it;
  /// feedback.congested as publish() sets it.
  void route(route_batch& batch, publish_feedback& feedback);

  /// Adds or replaces a subscription of `subject` (filter already validated by the caller).
  /// quota_exceeded when the session is at max_subscriptions_per_client.
  subscribe_result subscribe(session& subject, std::string_view filter,
                             const subscription_options& options);
  /// Removes a subscription; false when it did not exist.
  bool unsubscribe(session& subject, std::string_view filter);
  /// Removes every subscription of `subject` whose filter `remove(std::string_view filter)`
  /// selects, e.g. those a re-authenticated principal may no longer subscribe to (RFC 9431 4).
  /// Returns how many were removed.
  std::size_t unsubscribe_if(session& subject,
                             const std::function<bool(std::string_view filter)>& remove);
  /// Queues the retained messages matching `filter` for `subject` (retain flag set
  /// [MQTT-3.3.1-9], QoS capped at the granted maximum). Returns how many were queued.
  std::size_t send_retained(session& subject, std::string_view filter,
                            const subscription_options& options);

  /// Periodic work, called about once a second: fires delayed Wills, ends expired sessions,
  /// drops expired queued and retained messages, and every sys_interval publishes the retained
  /// `$SYS/broker/...` statistics (not counted as received messages).
  void tick(clock::time_point now);

  /// Wakes every attached connection (connection_io::wake): each re-reads its principal's
  /// expires_at_unix() and revoked() and ends if the grant is over. For a revocation listener
  /// that cannot tell which connections hold the revoked credential. Returns how many were woken.
  std::size_t wake_all();
  /// Wakes the attached connections whose principal `holds` selects (called with a session lock
  /// held: it must be cheap and must not call into the broker). Returns how many were woken.
  std::size_t wake_if(const std::function<bool(const principal&)>& holds);

  /// Rebuilds the sessions and retained messages of `snapshot` (persistence::load()) and from
  /// then on records every durable change in `store`, which must outlive the broker. Call once,
  /// before any connection. Stored deliveries beyond the current bounds are dropped (counted).
  restore_summary restore(persistence& store, persistence_snapshot snapshot);
  /// The store given to restore(); null in the in-memory mode. The network layer calls its
  /// barrier() before writing (docs/broker-core.md, "Persistence").
  persistence* store() const noexcept { return persistence_; }

  /// Number of registered sessions.
  std::size_t session_count() const;
  /// Number of retained messages.
  std::size_t retained_count() const;
  /// Bytes of the retained messages (topic and payload of each).
  std::size_t retained_bytes() const;
  /// Sessions held by principals of `who` (principal::identity).
  std::size_t session_count_of(const principal_identity& who) const;
  /// Payload bytes queued in the sessions of `who`.
  std::size_t queued_bytes_of(const principal_identity& who) const;
  /// Tells the connection of `publisher` (paused by a congested destination that has now
  /// drained) that it may resume reading: session_state::resume_requested, then a wake.
  static void resume_publisher(session& publisher);
  /// Looks up a session by client identifier (tests and administration).
  std::shared_ptr<session> find_session(std::string_view client_id) const;

 private:
  struct route_target {
    std::shared_ptr<session> destination;
    subscriber_id id;
    std::uint8_t qos;
    bool retain_as_published;
    bool shared;
    std::vector<std::uint32_t> identifiers;
  };

  std::size_t route(const message_ptr& msg, clock::time_point now, publish_feedback* feedback);
  /// route()'s first step: expiry and the retained store. False when `msg` is not to be routed.
  bool admit(const message_ptr& msg, clock::time_point now, publish_feedback* feedback);
  /// Appends the deliveries of `msg` to `targets`, one per session [MQTT-3.3.4-2] (shared
  /// subscriptions apart); sessions_mutex_ and tree_mutex_ held shared.
  void collect_targets(const message_ptr& msg, std::vector<route_target>& targets);
  /// What `destination` is sent of `msg` for `target`.
  static delivery delivery_for(const message_ptr& msg, route_target& target,
                               std::uint64_t message_id);
  void publish_sys(clock::time_point now);
  void end_session_locked(const std::shared_ptr<session>& ended);
  /// Starts or stops recording a session that a connection attached to (its lock held).
  void persist_attached(session& subject, session_state& state);
  /// Writes the subscriptions of sessions persist_attached() just made persistent.
  void persist_subscriptions();
  static persistence* store_of(session& subject);
  void publish_will(pending_will will, clock::time_point now);
  bool enqueue(session& destination, delivery item, clock::time_point now,
               publish_feedback* feedback = nullptr);
  /// enqueue() with the destination's lock already held as `state`.
  bool enqueue_locked(session& destination, session::locked& state, delivery item,
                      clock::time_point now, publish_feedback* feedback);
  void remove_subscriptions(const std::vector<subscriber_id>& ended);
  /// The usage of `who`'s sessions, created when absent (sessions_mutex_ held exclusively).
  principal_usage& usage_of(const principal_identity& who);
  /// Whether `who` may create one more session (sessions_mutex_ held).
  bool may_add_session(const principal_identity& who) const;
  /// Accounts the retained message of `topic` changing from `before` to `after` (either null);
  /// retained_mutex_ held.
  void retained_changed(const message* before, const message* after) noexcept;

  const broker_settings settings_;
  const std::shared_ptr<const auth_chain> default_auth_;
  const clock& clock_;
  broker_counters counters_;

  std::mutex random_mutex_;
  random_source& random_;

  // Lock order: sessions_mutex_ -> tree_mutex_ -> a session's mutex; retained_mutex_ alone.
  mutable std::shared_mutex sessions_mutex_;
  /// Hashes and compares sessions by client identifier, and looks them up by one.
  struct client_id_key {
    using is_transparent = void;
    static std::string_view of(const session* s) noexcept { return s->client_id(); }
    static std::string_view of(std::string_view id) noexcept { return id; }
    template <typename T>
    std::size_t operator()(const T& key) const noexcept {
      return std::hash<std::string_view>{}(of(key));
    }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
      return of(a) == of(b);
    }
  };
  /// Hashes and compares sessions by subscriber identifier, and looks them up by one.
  struct session_id_key {
    using is_transparent = void;
    static subscriber_id of(const std::shared_ptr<session>& s) noexcept { return s->id(); }
    static subscriber_id of(subscriber_id id) noexcept { return id; }
    template <typename T>
    std::size_t operator()(const T& key) const noexcept {
      return std::hash<subscriber_id>{}(of(key));
    }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
      return of(a) == of(b);
    }
  };
  /// The sessions and queued bytes of each principal holding a session, by usage_key(identity).
  /// Node-based, so a session's pointer to its entry stays valid; an entry goes with its
  /// principal's last session. Declared before the sessions, so it outlives them.
  std::unordered_map<std::string, principal_usage> usage_;
  /// by_id_ owns the sessions (16 bytes a slot), found by the session's own subscriber
  /// identifier; by_client_id_ holds a pointer to each (8 bytes a slot), found by the session's
  /// own client identifier (no second copy of either key). An entry is erased before its session
  /// ends and before a new session takes its key. Open addressing: entries live in the tables,
  /// not in a node each; nothing keeps a reference to an entry across an insertion.
  boost::unordered_flat_set<session*, client_id_key, client_id_key> by_client_id_;
  boost::unordered_flat_set<std::shared_ptr<session>, session_id_key, session_id_key> by_id_;
  std::unordered_set<std::shared_ptr<session>> detached_;
  subscriber_id next_session_id_ = 1;

  mutable std::shared_mutex tree_mutex_;
  subscription_tree tree_;

  mutable std::mutex retained_mutex_;
  retained_store<message_ptr> retained_;
  std::size_t retained_bytes_ = 0;  // retained_mutex_

  std::atomic<std::uint64_t> next_connection_id_{1};

  // Set once by restore(), before any connection; read without a lock afterwards.
  persistence* persistence_ = nullptr;
  /// What every session refers to instead of holding a copy: the queued-bytes total and the
  /// store (set by restore()).
  session_context session_context_{&counters_.queued_bytes, nullptr};
  std::mutex newly_persistent_mutex_;
  std::vector<subscriber_id> newly_persistent_;

  // Start of $SYS/broker/uptime, and when the next $SYS statistics are due.
  const clock::time_point started_;
  std::mutex sys_mutex_;
  clock::time_point next_sys_at_;
};

}  // namespace acemq::broker
