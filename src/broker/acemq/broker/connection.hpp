#pragma once
// The per-connection MQTT protocol machine (MQTT 5.0 and 3.1.1), sans-I/O (conventions 1): the
// network layer feeds it bytes and timer events through the methods of `connection`, and it acts
// through the small `connection_io` interface the network layer implements.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/interceptor.hpp"
#include "acemq/broker/message.hpp"
#include "acemq/broker/session.hpp"
#include "acemq/broker/settings.hpp"
#include "acemq/broker/topic_limits.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/mqtt/connection_rules.hpp"
#include "acemq/mqtt/packet.hpp"
#include "acemq/mqtt/reason_code.hpp"
#include "acemq/mqtt/version.hpp"

namespace acemq::broker {

class broker;
class route_batch;
class session;
template <typename Result>
class completion_relay;

/// A peer's address and port as text ("192.0.2.1:50000", "[2001:db8::1]:8883") in a buffer of
/// its own, handed out by value: a transport keeps the address in binary and writes it out when
/// asked, so no connection carries the text.
class address_text {
 public:
  /// Room for "[", the longest IPv6 text with a zone, "]:" and a port.
  static constexpr std::size_t capacity = 80;

  address_text() noexcept = default;
  /// Keeps at most `capacity` characters of `text`.
  explicit address_text(std::string_view text) noexcept : size_(std::min(text.size(), capacity)) {
    text.copy(data_.data(), size_);
  }
  std::string_view view() const noexcept { return {data_.data(), size_}; }
  operator std::string_view() const noexcept { return view(); }

 private:
  std::array<char, capacity> data_{};
  std::size_t size_ = 0;
};

/// One write: `bytes` then, if set, `*payload` (PUBLISH fan-out shares one payload buffer).
struct outgoing {
  byte_vector bytes;
  std::shared_ptr<const byte_vector> payload;

  /// Bytes on the wire: `bytes` and the payload.
  std::size_t size() const noexcept { return bytes.size() + (payload ? payload->size() : 0); }
};

/// What the transport offers the protocol machine. Implemented by the network layer (and by a
/// fake in tests). All methods except wake() and post() are called on the connection's own thread.
/// The object must stay valid until connection::on_transport_closed() has returned.
class connection_io {
 public:
  virtual ~connection_io() = default;
  /// Queues `message` for writing; writes happen in call order.
  virtual void send(outgoing message) = 0;
  /// Flushes queued writes, then closes the transport; on_transport_closed() follows.
  virtual void close() = 0;
  /// The connection's single timer: re-arming replaces the previous deadline; on expiry call
  /// connection::on_timer(now).
  virtual void arm_timer(clock::time_point deadline) = 0;
  /// TLS facts of the transport, or nullptr on plain TCP.
  virtual const tls_facts* tls() const = 0;
  /// "ip:port" of the peer, for logs and rate limits.
  virtual address_text remote_address() const = 0;
  /// THREAD-SAFE: the session has new deliveries (or was taken over); post connection::on_wake()
  /// to the connection's thread. Repeated calls before on_wake() runs may be coalesced. Must
  /// never run on_wake() inline (the caller may hold a session lock): always queue it.
  virtual void wake() = 0;
  /// THREAD-SAFE: run `task` later on the connection's thread, while the connection is alive (a
  /// task arriving after the connection was destroyed must be dropped, not run). Must never run
  /// `task` inline, even when called on the connection's own thread.
  virtual void post(std::function<void()> task) = 0;
  /// Whether the transport holds so many unwritten bytes that the machine should stop moving
  /// deliveries from the session queue into it (back-pressure: the backlog stays in the session
  /// queue, where its bounds and drop policy apply). A transport that answers true must call
  /// wake() once its backlog has drained below its low-water mark. Default: never congested.
  virtual bool congested() { return false; }
  /// Flow control towards a publisher: stop calling connection::on_bytes until resume_reading()
  /// (the TCP window then closes on the client). Bytes already handed over are held by the
  /// machine. The defaults do nothing; the machine still bounds what it holds.
  virtual void pause_reading() {}
  virtual void resume_reading() {}
};

/// The protocol machine of one network connection. Not thread-safe: every method is called on
/// the connection's own thread. Construction arms the connect timeout.
class connection {
 public:
  /// `shared_broker` and `io` must outlive the connection.
  connection(broker& shared_broker, connection_io& io, const listener_settings& settings);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Bytes received from the transport, split anywhere. May call io.send() / io.close().
  /// Bytes arriving after close are ignored.
  void on_bytes(byte_view data);
  /// The armed deadline passed (keep alive, connect timeout, credential expiry).
  void on_timer(clock::time_point now);
  /// Deliveries were queued for this connection's session, the session was taken over, a
  /// delivery was refused, or the principal may have changed (broker::wake_all / wake_if after a
  /// revocation): re-reads the principal's expiry and revocation, then sends what is queued.
  void on_wake();
  /// The transport is gone (EOF, error, or the end of close()): schedules the Will if due and
  /// detaches the session. Call exactly once; no other method may be called afterwards.
  void on_transport_closed();
  /// Server-initiated close (shutdown, administration): MQTT 5 clients get DISCONNECT with
  /// `reason` (e.g. server_shutting_down 0x8B); then the transport is closed.
  void shutdown(mqtt::reason_code reason);
  /// Deliveries with payloads up to this many bytes are encoded into their batch's one write
  /// buffer (send_publish); larger payloads are written from the message itself.
  static constexpr std::size_t coalesced_payload_limit = 512;
  /// True once the machine has asked the transport to close.
  bool closed() const noexcept { return state_ == state::closed; }

  /// The negotiated protocol version (v5 until CONNECT is read).
  mqtt::protocol_version version() const noexcept { return version_; }
  /// The client identifier (assigned or chosen) once CONNECT was accepted.
  /// Empty before CONNECT.
  const std::string& client_id() const noexcept;

 private:
  enum class state : std::uint8_t {
    awaiting_connect = 0x00,
    authenticating = 0x01,
    connected = 0x02,
    closed = 0x03,
  };
  /// An authentication step and the index of the provider of the chain that took it.
  using auth_outcome = std::pair<auth_step, std::size_t>;
  struct topic_aliases;
  struct occasional;

  /// A deadline that may be unset, in 8 bytes (std::optional takes 16): unset is the clock's
  /// maximum, which no deadline reaches, and what operator* returns for it.
  class deadline {
   public:
    deadline& operator=(clock::time_point at) noexcept {
      at_ = at;
      return *this;
    }
    explicit operator bool() const noexcept { return at_ != clock::time_point::max(); }
    clock::time_point operator*() const noexcept { return at_; }
    void reset() noexcept { at_ = clock::time_point::max(); }

   private:
    clock::time_point at_ = clock::time_point::max();
  };

  // Framing and dispatch.
  void consume(byte_view data);
  /// Keeps `data` (and a partial packet) in the deferred bytes for later, or closes the transport
  /// when that would exceed `bound` bytes (a client that floods before it is authenticated gets
  /// nothing buffered beyond one packet).
  void defer(byte_view data, std::size_t bound);
  /// The broker's topic name and filter limits (the same for every connection: not copied into
  /// each).
  topic_limits limits() const noexcept;
  /// The largest packet accepted now: maximum_packet_size once the client is authenticated,
  /// before that max_packet_size_before_authentication when it is smaller.
  std::uint32_t inbound_limit() const noexcept;
  /// Refuses a first packet whose header announces more than inbound_limit(): CONNACK 0x95 when
  /// `seen` (its first bytes) shows an MQTT 5 CONNECT, otherwise the connection just closes.
  void refuse_oversize_first_packet(byte_view seen);
  void handle_packet(byte_view whole_packet);
  void handle_publish_packet(byte_view whole_packet);
  void handle_first_packet(byte_view whole_packet);
  void handle(mqtt::publish&& packet);
  void handle(const mqtt::puback& packet);
  void handle(const mqtt::pubrec& packet);
  void handle(const mqtt::pubrel& packet);
  void handle(const mqtt::pubcomp& packet);
  void handle(const mqtt::subscribe& packet);
  void handle(const mqtt::unsubscribe& packet);
  void handle(const mqtt::disconnect& packet);
  void handle(const mqtt::auth& packet);

  // CONNECT and authentication.
  mqtt::reason_code validate_connect(mqtt::connect& packet);
  authentication_request make_auth_request(const mqtt::properties& packet) const;
  void run_auth(const std::function<void(auth_chain::completion)>& call);
  /// The authentication providers of this connection's listener.
  const auth_chain& auth() const noexcept;
  /// The relay for the authentication exchange about to start (created when there is none).
  completion_relay<auth_outcome>& ensure_auth_relay();
  /// The relay for the intercepted PUBLISH about to be handed over (created when there is none).
  completion_relay<intercept_verdict>& ensure_intercept_relay();
  /// Drops each relay once nothing awaits its completion: an idle connection carries none, and a
  /// completion still held by a provider finds it detached and is ignored.
  void release_relay_if_idle();
  void detach_relays();
  void on_auth_result(auth_step step, std::size_t owner);
  void finish_connect(auth_step step);
  void refuse_connect(mqtt::reason_code reason,
                      std::vector<std::pair<std::string, std::string>> user_properties = {});
  void finish_reauthentication(auth_step step);
  void send_auth(mqtt::reason_code reason, const auth_step& step);
  void accept_credentials(const std::shared_ptr<const principal>& who);
  bool credentials_valid();
  void end_for_credentials();
  void narrow_to_principal();

  // Intercepted PUBLISH (publish_interceptor, e.g. RFC 9431 authz-info).
  void intercept(const mqtt::publish& packet);
  void on_intercept_verdict(std::uint16_t packet_id, std::uint8_t qos, intercept_verdict verdict);

  // Outbound.
  void send_packet(mqtt::packet packet);
  /// Encodes and sends one PUBLISH; false when it was dropped for the client's Maximum Packet
  /// Size. With `batch`, a PUBLISH whose payload is at most coalesced_payload_limit bytes is
  /// appended to it whole instead (send_gathered() writes it), so a batch of small messages is one
  /// buffer and one write-queue entry, not one allocation and entry per message.
  bool send_publish(const delivery& item, std::uint16_t packet_id, bool dup,
                    byte_vector* batch = nullptr);
  /// Sends what send_publish() gathered in `batch`, if anything.
  void send_gathered(byte_vector& batch);
  void pump();

  /// The thread's route batch when this connection's read fills it, else null.
  route_batch* batching() const noexcept;
  /// Routes the messages this connection's read batched so far (none: nothing to do), before
  /// anything that must come after them: a packet other than a QoS 0 PUBLISH, the close.
  void route_batched();

  // Flow control towards this client as a publisher.
  void after_publish(bool congested);
  /// When a congestion pause that starts now ends (none when congestion_pause is 0); counted.
  std::optional<clock::time_point> congestion_pause_until(clock::time_point now);
  /// Pauses reading until `until`; `rate_until` is the part max_publish_rate imposes (a
  /// congestion pause may end early, resume_after_congestion, that part may not).
  void throttle_until(clock::time_point until,
                      std::optional<clock::time_point> rate_until = std::nullopt);
  /// The destinations whose congestion paused this publisher have drained.
  void resume_after_congestion();
  void release_throttle();

  // Closing.
  void protocol_violation(mqtt::reason_code reason);
  void disconnect_and_close(mqtt::reason_code reason);
  void close_transport();
  bool check_taken_over();

  // Timers.
  void touch(clock::time_point now);
  void rearm();

  // What a connection holds only some of the time, together on the heap (occasional_).
  /// Creates the occasional state when there is none.
  occasional& more();
  /// Drops the occasional state once it holds nothing: an idle connection carries none.
  void trim() noexcept;
  /// When reading resumes; the clock's maximum when not throttled.
  clock::time_point throttled_until() const noexcept;
  bool throttled() const noexcept;
  bool has_deferred() const noexcept;
  bool has_partial() const noexcept;

  broker& broker_;
  connection_io& io_;
  const listener_settings& listener_;
  const std::uint64_t connection_id_;

  // Small fields together (no padding between them).
  state state_ = state::awaiting_connect;
  mqtt::protocol_version version_ = mqtt::protocol_version::v5;
  bool assigned_client_id_ = false;
  bool problem_information_ = true;
  bool response_information_ = false;
  bool awaiting_provider_ = false;
  bool reauthenticating_ = false;
  /// An intercepted PUBLISH awaits its verdict: later packets are held back (in deferred_) so
  /// acknowledgements keep the order of the PUBLISH packets [MQTT-4.6.0-2].
  bool awaiting_interceptor_ = false;
  bool will_on_close_ = true;
  bool consuming_ = false;
  std::uint16_t keep_alive_ = 0;
  std::uint16_t client_receive_maximum_ = mqtt::receive_maximum_or_default(std::nullopt);
  std::uint16_t client_topic_alias_maximum_ = 0;
  const std::uint32_t inbound_maximum_packet_size_;
  std::uint32_t session_expiry_ = 0;
  /// The Session Expiry Interval the client asked for (0 when absent): CONNACK states the
  /// granted one when they differ.
  std::uint32_t requested_session_expiry_ = 0;
  std::uint32_t client_maximum_packet_size_ = 0;  // 0 = no limit
  /// The provider of the chain that authenticated the client (for AUTH re-authentication).
  std::uint32_t auth_owner_ = 0;

  /// The completion relays, a packet split across reads, held-back bytes, the CONNECT being
  /// authenticated, topic aliases, the throttle and the publish rate's token bucket: null while
  /// there is none of them, as on an idle connection.
  std::unique_ptr<occasional> occasional_;

  // From CONNECT.
  /// An optional string in 8 bytes instead of std::optional's 40, for strings a connection holds
  /// only some of the time.
  class optional_text {
   public:
    optional_text& operator=(std::optional<std::string> value) {
      text_ = value ? std::make_unique<const std::string>(std::move(*value)) : nullptr;
      return *this;
    }
    explicit operator bool() const noexcept { return text_ != nullptr; }
    const std::string& operator*() const noexcept { return *text_; }
    std::optional<std::string> get() const {
      return text_ ? std::optional<std::string>(*text_) : std::nullopt;
    }
    bool operator==(const std::optional<std::string>& other) const noexcept {
      return text_ ? other == *text_ : !other;
    }

   private:
    std::unique_ptr<const std::string> text_;
  };
  /// From CONNECT until the session is attached, then the session's own copy serves, and again
  /// once the transport closed (client_id()).
  optional_text client_id_;
  /// Most connections have neither; both are only read again on AUTH.
  optional_text username_;
  optional_text auth_method_;
  std::shared_ptr<const principal> principal_;

  // Session.
  std::shared_ptr<session> session_;

  // Topic aliases: client -> server (inbound) and server -> client (outbound), per connection
  // [MQTT-3.3.2-10]; both bounded by the negotiated Topic Alias Maximum. Created at the first
  // alias (most connections never use one), in the occasional state.
  topic_aliases& aliases();

  // Deadlines (steady clock).
  /// Until CONNACK: the connect timeout. Then: the keep alive (unset when Keep Alive is 0).
  deadline idle_deadline_;
  deadline credential_deadline_;
  deadline armed_;
};

}  // namespace acemq::broker
