#include "acemq/broker/connection.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "acemq/broker/broker.hpp"
#include "acemq/broker/persistence.hpp"
#include "acemq/common/log.hpp"
#include "acemq/common/topic.hpp"
#include "acemq/common/utf8.hpp"
#include "acemq/mqtt/decode.hpp"
#include "acemq/mqtt/encode.hpp"
#include "acemq/mqtt/frame.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

namespace {

constexpr std::uint32_t never_expires = 0xFFFFFFFF;

const std::shared_ptr<const byte_vector>& empty_payload() {
  static const auto empty = std::make_shared<const byte_vector>();
  return empty;
}

// The properties a broker forwards unchanged to subscribers [MQTT-3.3.2-17], [MQTT-3.3.2-18],
// [MQTT-3.3.2-20] (plus Content Type and Payload Format Indicator, MQTT 5.0 3.3.2.3.2/3.3.2.3.9).
mqtt::properties forwarded_of(mqtt::properties& from) {
  mqtt::properties kept;
  kept.payload_format_indicator = from.payload_format_indicator;
  kept.content_type = std::move(from.content_type);
  kept.response_topic = std::move(from.response_topic);
  kept.correlation_data = std::move(from.correlation_data);
  kept.user_properties = std::move(from.user_properties);
  return kept;
}

bool has_wildcard(std::string_view filter) {
  return filter.find_first_of("+#") != std::string_view::npos;
}

clock::duration seconds(std::uint64_t count) {
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::seconds(static_cast<std::int64_t>(count)));
}

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

// Each packet type allows only some reason codes (MQTT 5.0 3.2.2.2, 3.4.2.1, 3.5.2.1, 3.9.3,
// 3.14.2.1); a provider or principal answering with another one must not produce a packet the
// client has to treat as malformed, so such codes become a generic one.
bool allowed_in_connack(reason_code code) {
  switch (code) {
    case reason_code::success:
    case reason_code::unspecified_error:
    case reason_code::malformed_packet:
    case reason_code::protocol_error:
    case reason_code::implementation_specific_error:
    case reason_code::unsupported_protocol_version:
    case reason_code::client_identifier_not_valid:
    case reason_code::bad_user_name_or_password:
    case reason_code::not_authorized:
    case reason_code::server_unavailable:
    case reason_code::server_busy:
    case reason_code::banned:
    case reason_code::bad_authentication_method:
    case reason_code::topic_name_invalid:
    case reason_code::packet_too_large:
    case reason_code::quota_exceeded:
    case reason_code::payload_format_invalid:
    case reason_code::retain_not_supported:
    case reason_code::qos_not_supported:
    case reason_code::use_another_server:
    case reason_code::server_moved:
    case reason_code::connection_rate_exceeded:
      return true;
    default:
      return false;
  }
}

bool allowed_in_disconnect(reason_code code) {
  switch (code) {
    case reason_code::success:
    case reason_code::disconnect_with_will:
    case reason_code::unspecified_error:
    case reason_code::malformed_packet:
    case reason_code::protocol_error:
    case reason_code::implementation_specific_error:
    case reason_code::not_authorized:
    case reason_code::server_busy:
    case reason_code::server_shutting_down:
    case reason_code::keep_alive_timeout:
    case reason_code::session_taken_over:
    case reason_code::topic_filter_invalid:
    case reason_code::topic_name_invalid:
    case reason_code::receive_maximum_exceeded:
    case reason_code::topic_alias_invalid:
    case reason_code::packet_too_large:
    case reason_code::message_rate_too_high:
    case reason_code::quota_exceeded:
    case reason_code::administrative_action:
    case reason_code::payload_format_invalid:
    case reason_code::retain_not_supported:
    case reason_code::qos_not_supported:
    case reason_code::use_another_server:
    case reason_code::server_moved:
    case reason_code::shared_subscriptions_not_supported:
    case reason_code::connection_rate_exceeded:
    case reason_code::maximum_connect_time:
    case reason_code::subscription_identifiers_not_supported:
    case reason_code::wildcard_subscriptions_not_supported:
      return true;
    default:
      return false;
  }
}

// PUBACK and PUBREC share their error codes (MQTT 5.0 3.4.2.1, 3.5.2.1).
bool allowed_in_puback(reason_code code) {
  switch (code) {
    case reason_code::success:
    case reason_code::no_matching_subscribers:
    case reason_code::unspecified_error:
    case reason_code::implementation_specific_error:
    case reason_code::not_authorized:
    case reason_code::topic_name_invalid:
    case reason_code::packet_identifier_in_use:
    case reason_code::quota_exceeded:
    case reason_code::payload_format_invalid:
      return true;
    default:
      return false;
  }
}

bool allowed_in_suback(reason_code code) {
  switch (code) {
    case reason_code::success:
    case reason_code::granted_qos_1:
    case reason_code::granted_qos_2:
    case reason_code::unspecified_error:
    case reason_code::implementation_specific_error:
    case reason_code::not_authorized:
    case reason_code::topic_filter_invalid:
    case reason_code::packet_identifier_in_use:
    case reason_code::quota_exceeded:
    case reason_code::shared_subscriptions_not_supported:
    case reason_code::subscription_identifiers_not_supported:
    case reason_code::wildcard_subscriptions_not_supported:
      return true;
    default:
      return false;
  }
}

// A refusal from a provider or principal as a reason code the packet allows.
reason_code refusal_for(reason_code code, bool (*allowed)(reason_code)) {
  if (!mqtt::is_error(code)) return reason_code::not_authorized;
  return allowed(code) ? code : reason_code::unspecified_error;
}

}  // namespace

/// Carries authentication completions, which may arrive on any thread, back to the connection's
/// thread. Outlives the connection when a provider still holds a completion.
struct connection::auth_relay {
  std::mutex mutex;
  connection_io* io = nullptr;  // null once the transport is gone
  connection* owner = nullptr;  // only dereferenced on the connection's thread
  bool in_call = false;         // a provider call is on the stack of the connection's thread
  std::optional<std::pair<auth_step, std::size_t>> immediate;
  std::uint64_t generation = 0;  // the exchange whose completion is awaited
  // The same for the one intercepted PUBLISH that may be outstanding.
  bool intercept_in_call = false;
  std::optional<intercept_verdict> intercept_immediate;
};

struct connection::topic_aliases {
  std::unordered_map<std::uint16_t, std::string> inbound;
  std::unordered_map<std::string, std::uint16_t> outbound;
};

struct connection::occasional {
  /// While an authentication exchange or an intercepted PUBLISH may still complete.
  std::shared_ptr<auth_relay> relay;
  /// A packet split across reads, until its last byte arrives (at most
  /// inbound_maximum_packet_size_ bytes: the header was checked first).
  byte_vector partial;
  /// Bytes received after CONNECT while authentication runs (MQTT 5.0 3.1.4), while an
  /// intercepted PUBLISH awaits its verdict, or while the client is throttled: processed after
  /// CONNACK, the verdict or the release. Bounded (see defer()).
  byte_vector deferred;
  /// The CONNECT packet, while the connection authenticates (over 1 KB: on the heap).
  std::unique_ptr<mqtt::connect> pending_connect;
  /// Topic aliases, from the first alias on (most connections never use one).
  std::unique_ptr<topic_aliases> aliases;
  /// Reading is paused until then (congested subscribers, max_publish_rate); bytes that arrive
  /// meanwhile wait in `deferred`.
  deadline throttled_until;
  /// Token bucket of broker_settings::max_publish_rate: PUBLISH packets still allowed now, and
  /// when it was last refilled. Kept for the connection's life while a rate is set.
  double publish_tokens = 0;
  clock::time_point publish_tokens_at{};

  bool empty(const broker_settings& settings) const noexcept {
    return !relay && partial.empty() && deferred.empty() && !pending_connect && !aliases &&
           !throttled_until && settings.max_publish_rate == 0;
  }
};

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

std::shared_ptr<connection::auth_relay> connection::ensure_relay() {
  occasional& extra = more();
  if (!extra.relay) {
    extra.relay = std::make_shared<auth_relay>();
    extra.relay->io = state_ == state::closed ? nullptr : &io_;
    extra.relay->owner = this;
  }
  return extra.relay;
}

void connection::detach_relay() {
  if (!occasional_ || !occasional_->relay) return;
  {
    auth_relay& relay = *occasional_->relay;
    std::lock_guard lock(relay.mutex);
    relay.io = nullptr;
    relay.owner = nullptr;
  }
  occasional_->relay.reset();
  trim();
}

void connection::release_relay_if_idle() {
  if (occasional_ && occasional_->relay && state_ == state::connected && !awaiting_provider_ &&
      !awaiting_interceptor_ && !reauthenticating_) {
    detach_relay();
  }
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
  detach_relay();
  if (session_) broker_.detach(session_, connection_id_, will_on_close_);
  broker_.close_connection();
}

const std::string& connection::client_id() const noexcept {
  static const std::string none;
  if (session_) return session_->client_id();
  return client_id_ ? *client_id_ : none;
}

// ---- framing ----

void connection::on_bytes(byte_view data) {
  if (state_ == state::closed) return;
  consume(data);
}

namespace {
/// The most room reserved for a split packet when its header is read; beyond it the buffer grows
/// with the bytes received (a header announcing a large packet must not reserve memory the
/// client never sends).
constexpr std::size_t partial_reserve_limit = 256 * 1024;

/// The room a split packet of `total` bytes gets at once, so its later parts are appended
/// without the copies of a growing vector.
std::size_t partial_room(std::size_t total) noexcept {
  return std::min(total, partial_reserve_limit);
}

/// The storage of the last split packet this thread handled, for the next one of about its
/// size: a stream of large packets, each split across reads, reuses one block instead of
/// allocating and freeing one per packet. Bounded: one block per thread, of at most twice the
/// reserve limit.
thread_local byte_vector spare_partial;

/// Storage for a split packet of `total` bytes: the thread's spare block when it holds the
/// packet's room and no more than twice it (a client announcing a small packet is not handed a
/// large block), else a new block of that room.
byte_vector partial_storage(std::size_t total) {
  const std::size_t room = partial_room(total);
  if (spare_partial.capacity() >= room && spare_partial.capacity() <= 2 * room) {
    return std::exchange(spare_partial, {});
  }
  byte_vector storage;
  storage.reserve(room);
  return storage;
}

void give_partial_storage(byte_vector&& storage) noexcept {
  storage.clear();
  if (storage.capacity() <= 2 * partial_reserve_limit &&
      storage.capacity() > spare_partial.capacity()) {
    spare_partial = std::move(storage);
  }
}
}  // namespace

void connection::consume(byte_view data) {
  // Not re-entrant: when a handler finishes authentication, the packets held back meanwhile are
  // replayed by this loop before the rest of `data`.
  if (consuming_) return;
  consuming_ = true;
  byte_vector replay;
  while (state_ != state::closed) {
    if (has_deferred() && state_ == state::connected && !awaiting_interceptor_ && !throttled()) {
      // Packets held back during authentication arrived before the rest of `data`.
      byte_vector combined = std::exchange(occasional_->deferred, {});
      trim();
      combined.insert(combined.end(), data.begin(), data.end());
      replay.swap(combined);
      data = replay;
    }
    if (data.empty()) break;
    if (state_ == state::connected && throttled()) {
      // Flow control: what the transport delivered before it paused waits for the release.
      // The transport pauses reading while throttled, so this is at most what it had read
      // already; one that keeps delivering is cut off at a bound, not buffered without one.
      defer(data, std::max<std::size_t>(inbound_maximum_packet_size_, 256 * 1024));
      break;
    }
    if (state_ == state::connected && awaiting_interceptor_) {
      // An intercepted PUBLISH awaits its verdict: what follows is processed after it.
      defer(data, inbound_maximum_packet_size_);
      break;
    }
    if (state_ == state::authenticating) {
      // MQTT 5.0 3.1.4: nothing but AUTH is processed before the client is authenticated.
      const std::uint8_t first = has_partial() ? occasional_->partial[0] : data[0];
      if (awaiting_provider_ ||
          (first >> 4) != static_cast<std::uint8_t>(mqtt::packet_type::auth)) {
        defer(data, inbound_limit());
        break;
      }
    }
    // Until the client is authenticated its packets are bounded more tightly, so a client that
    // never authenticates cannot hold a large buffer for the connect timeout.
    const std::uint32_t limit = inbound_limit();
    if (!has_partial()) {
      // Fast path: whole packets straight from the caller's bytes, no copy.
      const auto frame = mqtt::peek_frame(data, limit);
      if (!frame) {
        if (state_ == state::awaiting_connect && frame.error() == reason_code::packet_too_large) {
          refuse_oversize_first_packet(data);
        } else {
          protocol_violation(frame.error());
        }
        break;
      }
      if (*frame && (*frame)->total_size() <= data.size()) {
        const std::size_t size = (*frame)->total_size();
        handle_packet(data.first(size));
        data = data.subspan(size);
        continue;
      }
      // A partial packet: its header is known and within the maximum packet size, or it is
      // shorter than a fixed header. Either way the buffer stays bounded [MQTT-3.1.2-24].
      byte_vector& partial = more().partial;
      if (*frame) partial = partial_storage((*frame)->total_size());
      partial.assign(data.begin(), data.end());
      break;
    }
    byte_vector& partial = occasional_->partial;
    auto frame = mqtt::peek_frame(partial, limit);
    while (frame && !*frame && !data.empty()) {
      // The fixed header is still incomplete: take one byte at a time (at most 5). The byte
      // that completes it may complete the packet too (PINGREQ, DISCONNECT: two bytes).
      partial.push_back(data[0]);
      data = data.subspan(1);
      frame = mqtt::peek_frame(partial, limit);
    }
    if (!frame) {
      if (state_ == state::awaiting_connect && frame.error() == reason_code::packet_too_large) {
        // The header and what followed it in this read: enough to see the protocol level.
        byte_vector seen = partial;
        seen.insert(
            seen.end(), data.begin(),
            data.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(data.size(), 16)));
        refuse_oversize_first_packet(seen);
      } else {
        protocol_violation(frame.error());
      }
      break;
    }
    if (!*frame) break;  // the read ended inside the fixed header
    const std::size_t total = (*frame)->total_size();
    if (partial.capacity() < partial_room(total)) partial.reserve(partial_room(total));
    const std::size_t take = std::min(total - partial.size(), data.size());
    partial.insert(partial.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
    if (partial.size() == total) {
      // Taken out first: handling may end the connection and drop the occasional state.
      byte_vector whole = std::exchange(partial, {});
      trim();
      handle_packet(whole);
      give_partial_storage(std::move(whole));
    }
  }
  consuming_ = false;
}

std::uint32_t connection::inbound_limit() const noexcept {
  if (state_ == state::connected) return inbound_maximum_packet_size_;
  return std::min(inbound_maximum_packet_size_,
                  broker_.settings().max_packet_size_before_authentication);
}

void connection::refuse_oversize_first_packet(byte_view seen) {
  spdlog::debug("{} {}: a first packet larger than {} bytes refused", listener_.name,
                io_.remote_address().view(), inbound_limit());
  // The fixed header: one byte of type and flags, then 1 to 4 bytes of Remaining Length.
  std::size_t header_size = 2;
  while (header_size < 5 && header_size <= seen.size() && (seen[header_size - 1] & 0x80) != 0)
    ++header_size;
  const bool connect = (seen[0] >> 4) == static_cast<std::uint8_t>(mqtt::packet_type::connect);
  if (connect && protocol_level_of(seen, header_size) == 5) {
    // MQTT 5.0 4.13.1: CONNACK 0x95 Packet too large before closing.
    version_ = protocol_version::v5;
    refuse_connect(reason_code::packet_too_large);
    return;
  }
  close_transport();
}

topic_limits connection::limits() const noexcept {
  return {broker_.settings().max_topic_length, broker_.settings().max_topic_levels};
}

void connection::defer(byte_view data, std::size_t bound) {
  const std::size_t held =
      occasional_ ? occasional_->deferred.size() + occasional_->partial.size() : 0;
  if (held + data.size() > bound) {
    spdlog::info("{} {}: client '{}' sent {} bytes that must wait, beyond {}; closing",
                 listener_.name, io_.remote_address().view(), client_id(), held + data.size(),
                 bound);
    close_transport();
    return;
  }
  if (!has_partial() && data.empty()) return;
  occasional& extra = more();
  extra.deferred.insert(extra.deferred.end(), extra.partial.begin(), extra.partial.end());
  extra.partial = byte_vector{};
  extra.deferred.insert(extra.deferred.end(), data.begin(), data.end());
}

void connection::handle_packet(byte_view whole_packet) {
  touch(broker_.time().now());
  if (state_ == state::awaiting_connect) {
    handle_first_packet(whole_packet);
    return;
  }
  if (state_ == state::connected && check_taken_over()) return;
  const auto kind = static_cast<mqtt::packet_type>(whole_packet[0] >> 4);
  if (state_ == state::connected &&
      (kind == mqtt::packet_type::publish || kind == mqtt::packet_type::subscribe ||
       kind == mqtt::packet_type::pingreq) &&
      !credentials_valid()) {
    // RFC 9431 4: token expiry is checked on PUBLISH, SUBSCRIBE and PINGREQ (and by a timer).
    end_for_credentials();
    return;
  }
  if (kind == mqtt::packet_type::connect) {
    // [MQTT-3.1.0-2]: a second CONNECT is a protocol error, whatever its contents.
    protocol_violation(reason_code::protocol_error);
    return;
  }
  auto decoded = mqtt::decode(whole_packet, version_);
  if (!decoded) {
    protocol_violation(decoded.error());
    return;
  }
  std::visit(
      [this](auto&& packet) {
        using type = std::decay_t<decltype(packet)>;
        if constexpr (std::is_same_v<type, mqtt::publish>) {
          handle(std::move(packet));
        } else if constexpr (std::is_same_v<type, mqtt::puback> ||
                             std::is_same_v<type, mqtt::pubrec> ||
                             std::is_same_v<type, mqtt::pubrel> ||
                             std::is_same_v<type, mqtt::pubcomp> ||
                             std::is_same_v<type, mqtt::subscribe> ||
                             std::is_same_v<type, mqtt::unsubscribe> ||
                             std::is_same_v<type, mqtt::disconnect> ||
                             std::is_same_v<type, mqtt::auth>) {
          handle(packet);
        } else if constexpr (std::is_same_v<type, mqtt::pingreq>) {
          // [MQTT-3.12.4-1]
          send_packet(mqtt::pingresp{});
        } else {
          // A packet only a server sends (CONNACK, SUBACK, UNSUBACK, PINGRESP).
          protocol_violation(reason_code::protocol_error);
        }
      },
      std::move(*decoded));
}

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
    client_receive_maximum_ = properties.receive_maximum.value_or(65535);
    client_maximum_packet_size_ = properties.maximum_packet_size.value_or(0);
    client_topic_alias_maximum_ = properties.topic_alias_maximum.value_or(0);
    problem_information_ = properties.request_problem_information.value_or(1) == 1;
    response_information_ = properties.request_response_information.value_or(0) == 1;
    auth_method_ = properties.authentication_method;
    // MQTT 5.0 3.2.2.3.14: the Server Keep Alive replaces the client's value.
    keep_alive_ = settings.server_keep_alive.value_or(packet.keep_alive);
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
  std::uint64_t generation = 0;
  const std::shared_ptr<auth_relay> relay = ensure_relay();
  {
    std::lock_guard lock(relay->mutex);
    generation = ++relay->generation;
    relay->in_call = true;
  }
  call([relay, generation](auth_step step, std::size_t owner) {
    std::lock_guard lock(relay->mutex);
    if (relay->generation != generation) return;  // a superseded exchange
    if (relay->in_call) {
      // Completed before the provider call returned: handled right after it, without a post.
      relay->immediate.emplace(std::move(step), owner);
      return;
    }
    if (relay->io == nullptr) return;
    relay->io->post([relay, generation, step = std::move(step), owner]() mutable {
      connection* target = nullptr;
      {
        std::lock_guard inner(relay->mutex);
        if (relay->generation != generation) return;
        target = relay->owner;
      }
      if (target == nullptr) return;
      target->on_auth_result(std::move(step), owner);
      target->release_relay_if_idle();
    });
  });
  std::optional<std::pair<auth_step, std::size_t>> result;
  {
    std::lock_guard lock(relay->mutex);
    relay->in_call = false;
    result = std::move(relay->immediate);
    relay->immediate.reset();
  }
  if (result) on_auth_result(std::move(result->first), result->second);
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

void connection::narrow_to_principal() {
  if (!session_) return;
  // RFC 9431 4: after re-authentication (or a resumption with new credentials) the new scope
  // applies at once: subscriptions it no longer allows are removed, and queued and in-flight
  // deliveries it may not receive are dropped.
  const principal& who = *principal_;
  broker_.unsubscribe_if(*session_, [&who](std::string_view filter) {
    return who.may_subscribe(filter) != reason_code::success;
  });
  std::size_t refused = 0;
  {
    auto held = session_->lock();
    held->who = principal_;
    held->delivery_refused = false;
    if (held->will && held->will->publisher_grant_ends_unix != who.expires_at_unix()) {
      // RFC 9431 5: a retained Will ends with the grant the client holds now (a
      // re-authentication brings a new token); a persistent session stores the new bound.
      held->will->publisher_grant_ends_unix = who.expires_at_unix();
      if (persistence* const store = held->store()) {
        store->will_saved(session_->client_id(), *held->will);
      }
    }
    const auto undeliverable = [&who](const delivery& item) {
      return !who.may_receive(item.msg->topic);
    };
    refused =
        held->drop_queued_if(undeliverable) + held->drop_unreceived_inflight_if(undeliverable);
  }
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
    auto held = session_->lock();
    held->mark_inflight_for_resend();
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
  reply.reason_code = refusal_for(reason, allowed_in_connack);
  // MQTT 5.0 3.2.2.3.11: User Properties are allowed on CONNACK even when the client asked for
  // no problem information [MQTT-3.1.2-29 lists CONNACK as an exception]. 3.1.1 has none.
  if (version_ == protocol_version::v5)
    reply.properties.user_properties = std::move(user_properties);
  send_packet(std::move(reply));
  close_transport();
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
      disconnect_and_close(allowed_in_disconnect(step.reason) && mqtt::is_error(step.reason)
                               ? step.reason
                               : reason_code::not_authorized);
      return;
    case auth_step::kind::next_provider:
      break;
  }
  disconnect_and_close(reason_code::not_authorized);
}

// ---- PUBLISH, inbound ----

void connection::handle(mqtt::publish&& packet) {
  const broker_settings& settings = broker_.settings();
  const bool v5 = version_ == protocol_version::v5;
  if (v5 && packet.properties.topic_alias) {
    const std::uint16_t alias = *packet.properties.topic_alias;
    // [MQTT-3.3.2-8], [MQTT-3.3.2-9]: 0 or above our Topic Alias Maximum.
    if (alias == 0 || alias > settings.topic_alias_maximum) {
      protocol_violation(reason_code::topic_alias_invalid);
      return;
    }
    auto& inbound = aliases().inbound;
    if (!packet.topic.empty()) {
      inbound[alias] = packet.topic;
    } else {
      const auto known = inbound.find(alias);
      if (known == inbound.end()) {
        // MQTT 5.0 3.3.2.3.4: an alias with no mapping and no topic is a protocol error.
        protocol_violation(reason_code::protocol_error);
        return;
      }
      packet.topic = known->second;
    }
    packet.properties.topic_alias.reset();
  }
  if (packet.topic.empty()) {
    protocol_violation(v5 ? reason_code::protocol_error : reason_code::malformed_packet);
    return;
  }
  if (!check_name(packet.topic, limits())) {
    protocol_violation(reason_code::topic_name_invalid);  // MQTT 5.0 4.13: DISCONNECT 0x90
    return;
  }
  // [MQTT-3.2.2-11], [MQTT-3.2.2-14]: above what CONNACK advertised.
  if (packet.qos > settings.maximum_qos) {
    protocol_violation(reason_code::qos_not_supported);
    return;
  }
  if (packet.retain && !settings.retain_available) {
    protocol_violation(reason_code::retain_not_supported);
    return;
  }
  if (packet.qos > 0) {
    bool duplicate = false;
    bool exceeded = false;
    {
      auto held = session_->lock();
      // MQTT 5.0 4.3.3 (method B): a retransmitted QoS 2 PUBLISH whose PUBREL has not arrived
      // is acknowledged again but not routed again - exactly once.
      const auto& awaiting_pubrel = held->traffic_view().inbound_qos2;
      duplicate = packet.qos == 2 && awaiting_pubrel.contains(packet.packet_id);
      // [MQTT-3.3.4-7]: more unacknowledged QoS 1/2 PUBLISH than our Receive Maximum. QoS 1 is
      // acknowledged at once, so only QoS 2 awaiting PUBREL is outstanding.
      exceeded = !duplicate && awaiting_pubrel.size() >= settings.receive_maximum;
    }
    if (duplicate) {
      mqtt::pubrec again;
      again.packet_id = packet.packet_id;
      send_packet(std::move(again));
      return;
    }
    if (exceeded) {
      protocol_violation(reason_code::receive_maximum_exceeded);
      return;
    }
  }

  if (listener_.interceptor && listener_.interceptor->intercepts(packet.topic)) {
    // Consumed by the interceptor before any authorization (RFC 9431 2.2.2: authz-info is
    // public), never routed nor retained.
    intercept(packet);
    return;
  }

  reason_code verdict = reason_code::success;
  // MQTT 5.0 3.3.2.3.2 (a MAY): a Payload Format Indicator of 1 with a payload that is not UTF-8
  // is refused with 0x99 - in the PUBACK/PUBREC at QoS 1/2, by DISCONNECT at QoS 0.
  if (v5 && packet.properties.payload_format_indicator.value_or(0) == 1 &&
      !is_valid_utf8(as_string_view(packet.payload_view()), true)) {
    if (packet.qos == 0) {
      protocol_violation(reason_code::payload_format_invalid);
      return;
    }
    verdict = reason_code::payload_format_invalid;
  }
  // MQTT 5.0 4.7.2 (the note to [MQTT-4.7.2-1]): '$' topics are the server's. $SYS is the
  // broker's own statistics, so no client may publish there: 0x87 at QoS 1/2 in MQTT 5; a QoS 0
  // message and (no reason codes) an MQTT 3.1.1 message are acknowledged as usual and dropped.
  if (verdict == reason_code::success && is_sys_topic(packet.topic)) {
    verdict = reason_code::not_authorized;
  }
  if (verdict == reason_code::success) {
    const reason_code allowed = principal_->may_publish(packet.topic);
    if (allowed != reason_code::success) {
      verdict = refusal_for(allowed, allowed_in_puback);
      // RFC 9431 6.2: an ACE client's unauthorized 3.1.1 PUBLISH is ignored and disconnects.
      if (!v5 && (settings.v311_denied_publish == v311_denied_publish_policy::disconnect ||
                  principal_->disconnect_on_unacknowledged_refusal())) {
        close_transport();
        return;
      }
      // RFC 9431 3.1: an ACE client's unauthorized QoS 0 PUBLISH has no PUBACK to carry the
      // refusal: DISCONNECT with it (0x87, or 0x80 when topic names are hidden).
      if (v5 && packet.qos == 0 && principal_->disconnect_on_unacknowledged_refusal()) {
        disconnect_and_close(refusal_for(allowed, allowed_in_disconnect));
        return;
      }
    }
  }

  std::size_t routed = 0;
  publish_feedback feedback;
  if (verdict == reason_code::success) {
    auto content = std::make_shared<message>();
    content->topic = std::move(packet.topic);
    content->payload = packet.payload ? std::move(packet.payload) : empty_payload();
    content->qos = packet.qos;
    content->retain = packet.retain;
    if (v5) {
      if (packet.properties.message_expiry_interval) {
        content->expires_at =
            broker_.time().now() + seconds(*packet.properties.message_expiry_interval);
      }
      content->forwarded = forwarded_of(packet.properties);
    }
    if (content->retain) {
      // RFC 9431 5: a retained message lives at most as long as the publisher's token.
      if (const auto ends = principal_->expires_at_unix()) {
        content->retain_until =
            retain_until_of(*ends, broker_.time().now(), broker_.time().unix_seconds());
      }
    }
    content->publisher_client_id = client_id();
    content->publisher_session = session_->id();
    routed = broker_.publish(content, &feedback);
  }

  // MQTT 3.1.1 has no reason codes: a refused message is acknowledged and dropped (policy drop).
  // A retained message over the retained store's bounds is refused: 0x97 Quota exceeded.
  const reason_code ack = !v5                               ? reason_code::success
                          : verdict != reason_code::success ? verdict
                          : feedback.retained_refused       ? reason_code::quota_exceeded
                          : routed == 0                     ? reason_code::no_matching_subscribers
                                                            : reason_code::success;
  if (packet.qos == 1) {
    mqtt::puback reply;
    reply.packet_id = packet.packet_id;
    reply.reason_code = ack;
    send_packet(std::move(reply));
  } else if (packet.qos == 2) {
    if (!mqtt::is_error(ack)) {
      auto held = session_->lock();
      // Recorded before the PUBREC is written (the network layer's persistence barrier), so a
      // retransmission after a restart is still recognised - exactly once (MQTT 5.0 4.3.3).
      persistence* const store = held->store();
      if (held->traffic().inbound_qos2.insert(packet.packet_id).second && store != nullptr) {
        store->inbound_qos2_added(client_id(), packet.packet_id);
      }
    }
    mqtt::pubrec reply;
    reply.packet_id = packet.packet_id;
    reply.reason_code = ack;
    send_packet(std::move(reply));
  }
  after_publish(feedback.congested);
}

void connection::after_publish(bool congested) {
  const broker_settings& settings = broker_.settings();
  const clock::time_point now = broker_.time().now();
  std::optional<clock::time_point> until;
  if (congested && settings.congestion_pause.count() > 0) {
    // A connected subscriber is falling behind: slow this publisher down briefly rather than
    // acknowledge messages the subscriber's queue will have to drop.
    until = now + std::chrono::duration_cast<clock::duration>(settings.congestion_pause);
    broker_.counters().publishers_throttled.fetch_add(1, std::memory_order_relaxed);
  }
  if (settings.max_publish_rate > 0) {
    // Token bucket holding one second's worth of PUBLISH packets.
    const double rate = static_cast<double>(settings.max_publish_rate);
    occasional& bucket = more();
    const double elapsed = std::chrono::duration<double>(now - bucket.publish_tokens_at).count();
    bucket.publish_tokens = std::min(rate, bucket.publish_tokens + elapsed * rate) - 1.0;
    bucket.publish_tokens_at = now;
    if (bucket.publish_tokens < 0) {
      // Read nothing more until the bucket holds one token again (nothing is refused).
      const auto wait = std::chrono::duration_cast<clock::duration>(
          std::chrono::duration<double>((1.0 - bucket.publish_tokens) / rate));
      if (!until || now + wait > *until) until = now + wait;
      broker_.counters().publish_rate_limited.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (until) throttle_until(*until);
}

void connection::throttle_until(clock::time_point until) {
  if (state_ != state::connected) return;
  if (!throttled()) io_.pause_reading();
  if (!throttled() || until > throttled_until()) more().throttled_until = until;
  rearm();
}

void connection::release_throttle() {
  if (occasional_) {
    occasional_->throttled_until.reset();
    trim();
  }
  // The bytes held while paused come first; reading resumes only once they are all processed
  // (a replay that throttles again keeps the transport paused, so what is held stays bounded
  // by what the transport had already read).
  consume(byte_view{});
  if (state_ != state::closed && !throttled()) io_.resume_reading();
}

void connection::intercept(const mqtt::publish& packet) {
  const address_text remote = io_.remote_address();  // outlives the call below
  intercepted_publish upload;
  upload.topic = packet.topic;
  upload.payload = packet.payload_view();
  upload.qos = packet.qos;
  upload.version = version_;
  upload.remote_address = remote.view();
  upload.client_id = client_id();
  upload.tls = io_.tls();
  const std::uint16_t packet_id = packet.packet_id;
  const std::uint8_t qos = packet.qos;
  awaiting_interceptor_ = true;
  const std::shared_ptr<auth_relay> relay = ensure_relay();
  {
    std::lock_guard lock(relay->mutex);
    relay->intercept_in_call = true;
  }
  listener_.interceptor->on_publish(upload, [relay, packet_id, qos](intercept_verdict verdict) {
    std::lock_guard lock(relay->mutex);
    if (relay->intercept_in_call) {
      relay->intercept_immediate = verdict;
      return;
    }
    if (relay->io == nullptr) return;
    // From any thread: the verdict is applied on the connection's thread.
    relay->io->post([relay, packet_id, qos, verdict] {
      connection* target = nullptr;
      {
        std::lock_guard inner(relay->mutex);
        target = relay->owner;
      }
      if (target == nullptr) return;
      target->on_intercept_verdict(packet_id, qos, verdict);
      target->release_relay_if_idle();
    });
  });
  std::optional<intercept_verdict> immediate;
  {
    std::lock_guard lock(relay->mutex);
    relay->intercept_in_call = false;
    immediate = relay->intercept_immediate;
    relay->intercept_immediate.reset();
  }
  if (immediate) on_intercept_verdict(packet_id, qos, *immediate);
  release_relay_if_idle();
}

void connection::on_intercept_verdict(std::uint16_t packet_id, std::uint8_t qos,
                                      intercept_verdict verdict) {
  if (state_ != state::connected || !awaiting_interceptor_) return;
  awaiting_interceptor_ = false;
  const bool v5 = version_ == protocol_version::v5;
  const bool refused = mqtt::is_error(verdict.reason);
  if (refused && verdict.disconnect) {
    // RFC 9431 2.2.2: at QoS 0 the only way to tell the client is DISCONNECT (0x87 invalid
    // token, 0x99 not a token); 3.1.1 just closes.
    disconnect_and_close(refusal_for(verdict.reason, allowed_in_disconnect));
    return;
  }
  // RFC 9431 2.2.2: at QoS 1/2 the verdict travels in PUBACK/PUBREC. MQTT 3.1.1 has no reason
  // codes (RFC 9431 6.1: the broker cannot communicate the result).
  const reason_code ack =
      !v5 || !refused ? reason_code::success : refusal_for(verdict.reason, allowed_in_puback);
  if (qos == 1) {
    mqtt::puback reply;
    reply.packet_id = packet_id;
    reply.reason_code = ack;
    send_packet(std::move(reply));
  } else if (qos == 2) {
    if (!mqtt::is_error(ack) && session_) {
      // The PUBREL that follows is answered with PUBCOMP like any QoS 2 exchange.
      auto held = session_->lock();
      persistence* const store = held->store();
      if (held->traffic().inbound_qos2.insert(packet_id).second && store != nullptr) {
        store->inbound_qos2_added(client_id(), packet_id);
      }
    }
    mqtt::pubrec reply;
    reply.packet_id = packet_id;
    reply.reason_code = ack;
    send_packet(std::move(reply));
  }
  // The packets held back meanwhile.
  consume({});
}

void connection::handle(const mqtt::pubrel& packet) {
  bool known = false;
  {
    auto held = session_->lock();
    session_traffic* traffic = held->traffic_if_any();
    known = traffic != nullptr && traffic->inbound_qos2.erase(packet.packet_id) > 0;
    if (persistence* const store = held->store(); known && store != nullptr) {
      store->inbound_qos2_released(client_id(), packet.packet_id);
    }
  }
  mqtt::pubcomp reply;
  reply.packet_id = packet.packet_id;
  // MQTT 5.0 3.7.2.1: 0x92 when the identifier is not awaiting PUBREL.
  if (!known && version_ == protocol_version::v5) {
    reply.reason_code = reason_code::packet_identifier_not_found;
  }
  send_packet(std::move(reply));
}

// ---- PUBLISH, outbound ----

void connection::handle(const mqtt::puback& packet) {
  {
    auto held = session_->lock();
    // An acknowledgement for an identifier not in flight (e.g. a late duplicate) is ignored.
    const auto found = held->find_inflight(packet.packet_id);
    if (found && (*found)->second.item.qos == 1) held->erase_inflight(*found);
  }
  pump();
}

void connection::handle(const mqtt::pubrec& packet) {
  bool release = false;
  {
    auto held = session_->lock();
    const auto entry = held->find_inflight(packet.packet_id);
    if (entry && (*entry)->second.item.qos == 2) {
      const auto found = *entry;
      if (mqtt::is_error(packet.reason_code)) {
        // MQTT 5.0 4.3.3: a PUBREC error ends the exchange; the identifier is free again.
        held->erase_inflight(found);
      } else {
        // The client may acknowledge a message received before it reconnected, ahead of the
        // retransmission: it now needs the PUBREL, not the PUBLISH.
        if (found->second.resend) {
          found->second.resend = false;
          --held->traffic().awaiting_resend;
        }
        found->second.at = inflight_entry::stage::pubrel_sent;
        if (persistence* const store = held->store();
            store != nullptr && found->second.item.store_key != 0) {
          store->delivery_released(found->second.item.store_key);
        }
        release = true;
      }
    }
  }
  mqtt::pubrel reply;
  reply.packet_id = packet.packet_id;
  if (!release) {
    if (mqtt::is_error(packet.reason_code)) {
      pump();
      return;
    }
    if (version_ == protocol_version::v5)
      reply.reason_code = reason_code::packet_identifier_not_found;
  }
  // [MQTT-4.3.3-4]: PUBREL answers PUBREC (0x92 in v5 when the identifier is unknown).
  send_packet(std::move(reply));
}

void connection::handle(const mqtt::pubcomp& packet) {
  {
    auto held = session_->lock();
    const auto found = held->find_inflight(packet.packet_id);
    if (found && (*found)->second.at == inflight_entry::stage::pubrel_sent) {
      held->erase_inflight(*found);
    }
  }
  pump();
}

bool connection::send_publish(const delivery& item, std::uint16_t packet_id, bool dup) {
  const bool v5 = version_ == protocol_version::v5;
  // One per I/O thread, reused (its buffers keep their capacity): every field is set below, and
  // nothing here runs another connection's send_publish before `out` is done with.
  thread_local mqtt::publish scratch;
  mqtt::publish& out = scratch;
  out.dup = dup;
  out.qos = item.qos;
  out.retain = item.retain;
  out.packet_id = packet_id;
  out.payload = item.msg->payload;
  std::optional<std::uint16_t> new_alias;
  if (v5) {
    out.properties = item.msg->forwarded;
    out.properties.subscription_identifiers = item.subscription_identifiers;
    if (item.msg->expires_at) {
      // [MQTT-3.3.2-6]: the interval sent is what remains, rounded up, at least 1 second.
      const auto remaining = *item.msg->expires_at - broker_.time().now();
      const auto whole = std::chrono::ceil<std::chrono::seconds>(remaining).count();
      out.properties.message_expiry_interval =
          static_cast<std::uint32_t>(std::clamp<std::int64_t>(whole, 1, 0xFFFFFFFF));
    }
    out.topic.assign(item.msg->topic);
    if (client_topic_alias_maximum_ > 0) {
      // MQTT 5.0 3.3.2.3.4: aliases up to the client's Topic Alias Maximum; a known topic is
      // sent as an empty name plus its alias.
      auto& outbound = aliases().outbound;
      if (const auto known = outbound.find(item.msg->topic); known != outbound.end()) {
        out.properties.topic_alias = known->second;
        out.topic.clear();
      } else if (outbound.size() < client_topic_alias_maximum_) {
        new_alias = static_cast<std::uint16_t>(outbound.size() + 1);
        out.properties.topic_alias = new_alias;
      }
    }
  } else {
    out.topic.assign(item.msg->topic);
  }
  byte_vector header;
  // One allocation per header: the topic plus fixed fields and typical properties.
  header.reserve(out.topic.size() + 64);
  mqtt::encode_publish_header(out, version_, header);
  const std::size_t total = header.size() + item.msg->payload_size();
  out.payload.reset();
  if (client_maximum_packet_size_ != 0 && total > client_maximum_packet_size_) {
    // [MQTT-3.1.2-25]: never larger than the client's Maximum Packet Size; the message is
    // discarded as if it had been sent.
    broker_.counters().messages_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (new_alias) aliases().outbound.emplace(item.msg->topic, *new_alias);
  broker_.counters().messages_out.fetch_add(1, std::memory_order_relaxed);
  broker_.counters().bytes_out.fetch_add(total, std::memory_order_relaxed);
  io_.send(outgoing{std::move(header), item.msg->payload});
  return true;
}

void connection::pump() {
  if (state_ != state::connected || !session_) return;
  const clock::time_point now = broker_.time().now();
  const std::size_t window =
      std::min<std::size_t>(client_receive_maximum_, broker_.settings().max_inflight);
  struct retransmission {
    delivery item;
    std::uint16_t packet_id;
    inflight_entry::stage at;
  };
  std::vector<retransmission> resend;
  // Deliveries move from the session queue to the transport in bounded batches, and not while
  // the transport is congested: the backlog of a slow reader stays in the session queue, where
  // its bounds and drop policy apply, instead of growing the socket's write queue. The transport
  // wakes the connection when its backlog has drained.
  constexpr std::size_t batch_items = 64;
  constexpr std::size_t batch_bytes = 64 * 1024;
  // The batch vector's capacity is kept per thread, not per connection (an idle connection holds
  // none); taken for this call, so a nested call would start with a vector of its own.
  static thread_local std::vector<std::pair<delivery, std::uint16_t>> scratch;
  std::vector<std::pair<delivery, std::uint16_t>> batch;
  batch.swap(scratch);
  bool progress = true;
  bool refused = false;
  while (progress && state_ == state::connected && !refused) {
    progress = false;
    batch.clear();
    std::size_t bytes = 0;
    {
      auto held = session_->lock();
      if (held->owner != connection_id_ || held->ended) break;
      held->wake_pending = false;
      if (held->delivery_refused) {
        // Routing found a delivery this principal may not receive and the principal asks to be
        // disconnected for it (RFC 9431 3.2).
        held->delivery_refused = false;
        refused = true;
        break;
      }
      // Checked after wake_pending is cleared: routing keeps waking a congested connection, so
      // the transport's slow-consumer clock keeps being consulted.
      if (io_.congested()) break;
      // An idle session has no traffic state (none is allocated for it), and nothing to send.
      session_traffic* const held_traffic = held->traffic_if_any();
      if (held_traffic == nullptr ||
          (held_traffic->queue.empty() && held_traffic->awaiting_resend == 0)) {
        break;
      }
      session_traffic& traffic = *held_traffic;
      if (traffic.awaiting_resend > 0) {
        // [MQTT-4.4.0-1]: a resumed session retransmits unacknowledged PUBLISH (DUP 1) and
        // PUBREL in the original order, within the client's Receive Maximum [MQTT-3.3.4-9].
        std::vector<std::pair<std::uint64_t, std::uint16_t>> order;
        for (const auto& [packet_id, entry] : traffic.inflight) {
          if (entry.resend) order.emplace_back(entry.sequence, packet_id);
        }
        std::sort(order.begin(), order.end());
        for (const auto& [sequence, packet_id] : order) {
          if (traffic.inflight.size() - traffic.awaiting_resend >= window) break;
          inflight_entry& entry = traffic.inflight.at(packet_id);
          entry.resend = false;
          --traffic.awaiting_resend;
          resend.push_back({entry.item, packet_id, entry.at});
        }
      }
      // New messages wait until every retransmission is out, keeping the original order.
      while (traffic.awaiting_resend == 0 && !traffic.queue.empty()) {
        if (batch.size() >= batch_items || bytes >= batch_bytes) {
          progress = true;  // more after this batch is written out
          break;
        }
        // [MQTT-3.3.4-9]: no more QoS 1/2 in flight than the client's Receive Maximum. Order is
        // kept [MQTT-4.6.0-6], so later QoS 0 messages wait too.
        if (traffic.queue.front().qos > 0 && traffic.inflight.size() >= window) break;
        delivery item = *held->dequeue();
        if (item.msg->expired(now)) {
          // [MQTT-3.3.2-5]: an expired message is not delivered.
          broker_.counters().messages_expired.fetch_add(1, std::memory_order_relaxed);
          if (persistence* const store = held->store(); store != nullptr && item.store_key != 0) {
            store->delivery_removed(item.store_key);
          }
          continue;
        }
        if (principal_ && !principal_->may_receive(item.msg->topic)) {
          broker_.counters().deliveries_denied.fetch_add(1, std::memory_order_relaxed);
          if (persistence* const store = held->store(); store != nullptr && item.store_key != 0) {
            store->delivery_removed(item.store_key);
          }
          if (principal_->disconnect_on_denied_delivery()) {
            // RFC 9431 3.2 / 6.2: never forward, and close the connection (0x87 in v5).
            refused = true;
            break;
          }
          continue;
        }
        std::uint16_t packet_id = 0;
        if (item.qos > 0) {
          const auto allocated = held->allocate_packet_id();
          if (!allocated) {
            held->requeue_front(std::move(item));
            break;
          }
          packet_id = *allocated;
          const std::uint64_t sequence = traffic.next_sequence++;
          traffic.inflight.emplace(
              packet_id, inflight_entry{item, inflight_entry::stage::publish_sent, sequence});
          if (persistence* const store = held->store(); store != nullptr && item.store_key != 0) {
            store->delivery_sent(item.store_key, packet_id, sequence);
          }
        }
        bytes += item.msg->payload_size() + item.msg->topic.size();
        batch.emplace_back(std::move(item), packet_id);
      }
    }
    for (const retransmission& again : resend) {
      if (state_ != state::connected) break;
      if (again.at == inflight_entry::stage::pubrel_sent) {
        mqtt::pubrel release;
        release.packet_id = again.packet_id;
        send_packet(std::move(release));
      } else if (!send_publish(again.item, again.packet_id, true)) {
        drop_inflight(again.packet_id);
        progress = true;
      }
    }
    resend.clear();
    for (const auto& [item, packet_id] : batch) {
      if (state_ != state::connected) break;
      if (!send_publish(item, packet_id, false) && packet_id != 0) {
        // Dropped for size: behave as if acknowledged, freeing the window (and pump again).
        drop_inflight(packet_id);
        progress = true;
      }
    }
    batch.clear();
  }
  batch.swap(scratch);
  if (refused) disconnect_and_close(reason_code::not_authorized);
}

void connection::drop_inflight(std::uint16_t packet_id) {
  auto held = session_->lock();
  if (const auto found = held->find_inflight(packet_id)) held->erase_inflight(*found);
}

// ---- SUBSCRIBE / UNSUBSCRIBE ----

void connection::handle(const mqtt::subscribe& packet) {
  const broker_settings& settings = broker_.settings();
  const bool v5 = version_ == protocol_version::v5;
  std::uint32_t identifier = 0;
  if (!packet.properties.subscription_identifiers.empty()) {
    // MQTT 5.0 3.8.2.1.2: refused by DISCONNECT 0xA1 when not advertised as available.
    if (!settings.subscription_identifier_available) {
      protocol_violation(reason_code::subscription_identifiers_not_supported);
      return;
    }
    identifier = packet.properties.subscription_identifiers.front();
  }
  mqtt::suback reply;
  reply.packet_id = packet.packet_id;  // [MQTT-3.8.4-2]
  reply.reason_codes.reserve(packet.subscriptions.size());
  std::vector<std::pair<std::string_view, subscription_options>> retained_wanted;
  for (const mqtt::subscription& entry : packet.subscriptions) {
    const std::string_view filter = entry.filter;
    if (!check_filter(filter, limits())) {
      reply.reason_codes.push_back(reason_code::topic_filter_invalid);
      continue;
    }
    const topic::shared_parse shared = topic::parse_shared(filter);
    if (shared.is_shared && entry.options.no_local) {
      // [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
      protocol_violation(reason_code::protocol_error);
      return;
    }
    if (shared.is_shared && !settings.shared_subscription_available) {
      reply.reason_codes.push_back(reason_code::shared_subscriptions_not_supported);
      continue;
    }
    if (has_wildcard(shared.is_shared ? shared.parts.filter : filter) &&
        !settings.wildcard_subscription_available) {
      reply.reason_codes.push_back(reason_code::wildcard_subscriptions_not_supported);
      continue;
    }
    if (listener_.interceptor && listener_.interceptor->refuses_subscription(filter)) {
      // RFC 9431 2.2.2: authz-info is publish-only.
      reply.reason_codes.push_back(reason_code::not_authorized);
      continue;
    }
    if (const reason_code allowed = principal_->may_subscribe(filter);
        allowed != reason_code::success) {
      reply.reason_codes.push_back(refusal_for(allowed, allowed_in_suback));
      continue;
    }
    subscription_options options;
    // [MQTT-3.2.2-9]: granted QoS capped at the Maximum QoS.
    options.maximum_qos = std::min(entry.options.maximum_qos, settings.maximum_qos);
    options.no_local = entry.options.no_local;
    options.retain_as_published = entry.options.retain_as_published;
    options.retain_handling = static_cast<std::uint8_t>(entry.options.retain_handling);
    options.identifier = identifier;
    const subscribe_result added = broker_.subscribe(*session_, filter, options);
    if (added.reason != reason_code::success) {
      reply.reason_codes.push_back(added.reason);
      continue;
    }
    reply.reason_codes.push_back(static_cast<reason_code>(options.maximum_qos));
    // MQTT 5.0 3.8.3.1 Retain Handling; none for shared subscriptions (4.8.2).
    const auto handling = entry.options.retain_handling;
    const bool send =
        !shared.is_shared &&
        (handling == mqtt::retain_handling::send_on_subscribe ||
         (handling == mqtt::retain_handling::send_on_new_subscription && !added.existed));
    if (send && settings.retain_available) retained_wanted.emplace_back(filter, options);
  }
  if (!v5) {
    // MQTT 3.1.1 SUBACK knows only 0x00..0x02 and 0x80 [MQTT-3.9.3-2].
    for (reason_code& code : reply.reason_codes) {
      if (mqtt::is_error(code)) code = reason_code::unspecified_error;
    }
  }
  send_packet(std::move(reply));
  for (const auto& [filter, options] : retained_wanted) {
    broker_.send_retained(*session_, filter, options);
  }
  pump();
}

void connection::handle(const mqtt::unsubscribe& packet) {
  mqtt::unsuback reply;
  reply.packet_id = packet.packet_id;  // [MQTT-3.10.4-4]
  reply.reason_codes.reserve(packet.filters.size());
  for (const std::string& filter : packet.filters) {
    if (!check_filter(filter, limits())) {
      reply.reason_codes.push_back(reason_code::topic_filter_invalid);
      continue;
    }
    // [MQTT-3.10.4-5]: UNSUBACK even when nothing was removed (0x11 in v5).
    reply.reason_codes.push_back(broker_.unsubscribe(*session_, filter)
                                     ? reason_code::success
                                     : reason_code::no_subscription_existed);
  }
  send_packet(std::move(reply));
}

// ---- DISCONNECT ----

void connection::handle(const mqtt::disconnect& packet) {
  if (version_ == protocol_version::v5) {
    if (const auto expiry = packet.properties.session_expiry_interval) {
      // [MQTT-3.14.2-2]: not from 0 at CONNECT to non-zero at DISCONNECT.
      if (session_expiry_ == 0 && *expiry != 0) {
        protocol_violation(reason_code::protocol_error);
        return;
      }
      session_expiry_ = std::min(*expiry, broker_.settings().maximum_session_expiry);
      auto held = session_->lock();
      held->expiry_interval = session_expiry_;
    }
  }
  // [MQTT-3.14.4-3]: a normal DISCONNECT discards the Will; 0x04 asks for it to be published.
  will_on_close_ =
      version_ == protocol_version::v5 && packet.reason_code == reason_code::disconnect_with_will;
  close_transport();
}

// ---- outbound packets and closing ----

void connection::send_packet(mqtt::packet packet) {
  byte_vector bytes;
  bytes.reserve(mqtt::encoded_size(packet, version_));
  mqtt::encode(packet, version_, bytes);
  if (client_maximum_packet_size_ != 0 && bytes.size() > client_maximum_packet_size_) {
    // [MQTT-3.1.2-25]: strip what may be stripped (Reason String, User Properties), else drop.
    std::visit(
        [](auto& p) {
          if constexpr (requires { p.properties; }) {
            p.properties.reason_string.reset();
            p.properties.user_properties.clear();
          }
        },
        packet);
    bytes.clear();
    mqtt::encode(packet, version_, bytes);
    if (bytes.size() > client_maximum_packet_size_) {
      broker_.counters().messages_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  io_.send(outgoing{std::move(bytes), nullptr});
}

void connection::protocol_violation(reason_code reason) {
  if (state_ == state::closed) return;
  spdlog::debug("{} {}: client '{}' closed for {}", listener_.name, io_.remote_address().view(),
                client_id(), mqtt::to_string(reason));
  if (state_ != state::connected) {
    // Before CONNACK the reason travels in CONNACK (v5) [MQTT-4.13.1-1]; 3.1.1 just closes.
    if (version_ == protocol_version::v5 && state_ == state::authenticating) {
      refuse_connect(reason);
    } else {
      close_transport();
    }
    return;
  }
  disconnect_and_close(reason);
}

void connection::disconnect_and_close(reason_code reason) {
  if (state_ == state::closed) return;
  // MQTT 5.0 4.13.2: DISCONNECT with the reason before closing; 3.1.1 has no server DISCONNECT.
  if (state_ == state::connected && version_ == protocol_version::v5) {
    mqtt::disconnect notice;
    notice.reason_code = allowed_in_disconnect(reason) ? reason : reason_code::protocol_error;
    send_packet(std::move(notice));
  }
  close_transport();
}

void connection::close_transport() {
  if (state_ == state::closed) return;
  state_ = state::closed;
  if (occasional_) {
    occasional_->partial = byte_vector{};
    occasional_->deferred = byte_vector{};
    trim();
  }
  io_.close();
}

bool connection::check_taken_over() {
  if (!session_) return false;
  {
    auto held = session_->lock();
    if (held->owner == connection_id_ && !held->ended) return false;
  }
  // [MQTT-3.1.4-3]: another connection took the session; the broker already dealt with our Will.
  spdlog::debug("{} {}: client '{}' taken over", listener_.name, io_.remote_address().view(),
                client_id());
  will_on_close_ = false;
  disconnect_and_close(reason_code::session_taken_over);
  return true;
}

void connection::on_wake() {
  if (state_ != state::connected) return;
  if (check_taken_over()) return;
  if (!credentials_valid()) {
    end_for_credentials();
    return;
  }
  pump();
}

void connection::on_transport_closed() {
  // An enhanced-authentication exchange may hold a challenge for this connection (also when the
  // connection closed itself first: close_transport()).
  if (auth_method_) {
    auth().connection_closed(auth_owner_, listener_.name, io_.remote_address().view());
  }
  state_ = state::closed;
  if (occasional_ && occasional_->relay) {
    std::lock_guard lock(occasional_->relay->mutex);
    occasional_->relay->io = nullptr;
  }
  if (session_) {
    broker_.detach(session_, connection_id_, will_on_close_);
    // For what is logged after the close.
    client_id_ = session_->client_id();
    session_.reset();
  }
}

void connection::shutdown(reason_code reason) {
  disconnect_and_close(reason);
}

// ---- timers ----

void connection::touch(clock::time_point now) {
  // [MQTT-3.1.2-22]: one and a half times the Keep Alive without a packet ends the connection.
  if (keep_alive_ > 0 && state_ == state::connected) {
    idle_deadline_ = now + std::chrono::duration_cast<clock::duration>(
                               std::chrono::milliseconds(std::uint64_t{keep_alive_} * 1500));
  }
}

void connection::rearm() {
  if (state_ == state::closed) return;
  // An unset deadline reads as the clock's maximum, so the earliest set one is the minimum.
  deadline next;
  if (state_ != state::connected) {
    next = idle_deadline_;
  } else {
    next = std::min({*idle_deadline_, *credential_deadline_, throttled_until()});
  }
  // Re-arm only when the deadline moves earlier: keep-alive activity moves it later, which is
  // handled when the earlier timer fires (one timer operation per period, not per packet).
  if (next && *next < *armed_) {
    armed_ = *next;
    io_.arm_timer(*next);
  }
}

void connection::on_timer(clock::time_point now) {
  if (state_ == state::closed) return;
  armed_.reset();
  if (state_ != state::connected) {
    if (idle_deadline_ && now >= *idle_deadline_) {
      close_transport();
      return;
    }
  } else {
    if (idle_deadline_ && now >= *idle_deadline_) {
      spdlog::debug("{} {}: client '{}' keep alive expired", listener_.name,
                    io_.remote_address().view(), client_id());
      disconnect_and_close(reason_code::keep_alive_timeout);
      return;
    }
    if (!credentials_valid()) {
      // The grant ended (the access token expired or was revoked): v5 0x87, 3.1.1 closes.
      end_for_credentials();
      return;
    }
    if (throttled() && now >= throttled_until()) {
      release_throttle();
      if (state_ == state::closed) return;
    }
  }
  rearm();
}

}  // namespace acemq::broker
