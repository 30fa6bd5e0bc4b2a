#pragma once
// Internal to the protocol machine (not installed): the state `connection` holds only some of the
// time (its completion relays, split packet, held-back bytes, pending CONNECT, topic aliases,
// throttle), and the helpers that more than one of its source files (connection*.cpp,
// handle_*.cpp) use.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "acemq/broker/broker.hpp"
#include "acemq/broker/completion_relay.hpp"
#include "acemq/broker/connection.hpp"
#include "acemq/mqtt/packet.hpp"
#include "acemq/mqtt/reason_code.hpp"
#include "acemq/mqtt/topic_alias.hpp"

namespace acemq::broker {

namespace detail {

inline clock::duration seconds(std::uint64_t count) {
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::seconds(static_cast<std::int64_t>(count)));
}

// The properties a broker forwards unchanged to subscribers [MQTT-3.3.2-17], [MQTT-3.3.2-18],
// [MQTT-3.3.2-20] (plus Content Type and Payload Format Indicator, MQTT 5.0 3.3.2.3.2/3.3.2.3.9).
// Null when there are none (message::forwarded).
std::shared_ptr<const mqtt::properties> forwarded_of(mqtt::properties& from);

// Reads the Protocol Level of a CONNECT the decoder refused, to answer in a form the client
// understands: 0 when the packet is too short to tell.
std::uint8_t protocol_level_of(byte_view whole_packet, std::size_t header_size);

/// The route batch of this I/O thread (broker::route_batch) and the connection whose read fills
/// it now (null: none). One connection at a time: another one consuming inside its handling on
/// this thread (a completion that runs inline) routes its messages one by one.
struct thread_routes {
  route_batch batch;
  const connection* owner = nullptr;
};
thread_routes& routes_of_this_thread();

}  // namespace detail

struct connection::topic_aliases {
  mqtt::inbound_topic_aliases inbound;
  mqtt::outbound_topic_aliases outbound;
};

struct connection::occasional {
  /// While an authentication exchange may still complete.
  std::shared_ptr<completion_relay<auth_outcome>> auth_relay;
  /// While an intercepted PUBLISH may still get its verdict.
  std::shared_ptr<completion_relay<intercept_verdict>> intercept_relay;
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
  /// The part of the pause max_publish_rate imposes: not ended early by
  /// connection::resume_after_congestion.
  deadline rate_limited_until;
  /// Token bucket of broker_settings::max_publish_rate: PUBLISH packets still allowed now, and
  /// when it was last refilled. Kept for the connection's life while a rate is set.
  double publish_tokens = 0;
  clock::time_point publish_tokens_at{};

  bool empty(const broker_settings& settings) const noexcept {
    return !auth_relay && !intercept_relay && partial.empty() && deferred.empty() &&
           !pending_connect && !aliases && !throttled_until && !rate_limited_until &&
           settings.max_publish_rate == 0;
  }
};

}  // namespace acemq::broker
