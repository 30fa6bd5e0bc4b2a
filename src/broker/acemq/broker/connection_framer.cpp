// Inbound bytes to packets: on_bytes, consume (whole packets straight from the read, a split
// packet in a bounded buffer), defer (bytes held back during authentication, an interception or a
// throttle), the inbound size limits (MQTT 5.0 4.13, [MQTT-3.2.2-15], [MQTT-3.1.2-24]) and the
// dispatch of each packet to its handler (first packet CONNECT [MQTT-3.1.0-1], a second CONNECT
// [MQTT-3.1.0-2], PINGREQ [MQTT-3.12.4-1]).

#include "acemq/broker/connection_internal.hpp"

#include <algorithm>
#include <optional>
#include <type_traits>
#include <utility>

#include "acemq/broker/broker.hpp"
#include "acemq/broker/message_home.hpp"
#include "acemq/common/log.hpp"
#include "acemq/mqtt/decode.hpp"
#include "acemq/mqtt/frame.hpp"

namespace acemq::broker {

using detail::protocol_level_of;
using mqtt::protocol_version;
using mqtt::reason_code;

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

}  // namespace

void connection::consume(byte_view data) {
  // Not re-entrant: when a handler finishes authentication, the packets held back meanwhile are
  // replayed by this loop before the rest of `data`.
  if (consuming_) return;
  consuming_ = true;
  // The QoS 0 PUBLISH packets of this read are routed together (broker::route_batch).
  detail::thread_routes& routes = detail::routes_of_this_thread();
  const bool batching = routes.owner == nullptr;
  if (batching) routes.owner = this;
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
      if (*frame) partial.reserve(partial_room((*frame)->total_size()));
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
    }
  }
  if (batching) {
    route_batched();
    routes.owner = nullptr;
  }
  consuming_ = false;
}

namespace detail {

thread_routes& routes_of_this_thread() {
  thread_local thread_routes routes;
  return routes;
}

}  // namespace detail

route_batch* connection::batching() const noexcept {
  detail::thread_routes& routes = detail::routes_of_this_thread();
  return routes.owner == this ? &routes.batch : nullptr;
}

void connection::route_batched() {
  route_batch* const batch = batching();
  if (batch == nullptr || batch->empty()) return;
  publish_feedback feedback;
  feedback.publisher = &session_;
  broker_.route(*batch, feedback);
  if (feedback.congested) {
    if (const auto until = congestion_pause_until(broker_.time().now())) throttle_until(*until);
  }
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

void connection::handle_publish_packet(byte_view whole_packet) {
  // The most frequent packet is decoded into a PUBLISH kept per I/O thread (its topic keeps its
  // capacity). A PUBLISH handled inside another one's handling on this thread (a verdict that
  // completes inline and replays held bytes) decodes into one of its own.
  thread_local mqtt::publish scratch;
  thread_local bool scratch_in_use = false;
  std::optional<mqtt::publish> fresh;
  mqtt::publish& packet = scratch_in_use ? fresh.emplace() : scratch;
  const bool took_scratch = !scratch_in_use;
  scratch_in_use = true;
  // The payload goes into the buffer of the message this thread builds next, when it has one.
  if (const auto decoded = mqtt::decode_publish(whole_packet, version_, packet,
                                                message_home::of_this_thread().spare_payload());
      !decoded) {
    protocol_violation(decoded.error());
  } else {
    handle(std::move(packet));
  }
  if (took_scratch) scratch_in_use = false;
}

void connection::handle_packet(byte_view whole_packet) {
  touch(broker_.time().now());
  // Only a QoS 0 PUBLISH (QoS bits of the fixed header 0) joins the messages batched before it.
  if ((whole_packet[0] >> 4) != static_cast<std::uint8_t>(mqtt::packet_type::publish) ||
      (whole_packet[0] & 0x06) != 0) {
    route_batched();
  }
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
  if (kind == mqtt::packet_type::publish) {
    handle_publish_packet(whole_packet);
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

}  // namespace acemq::broker
