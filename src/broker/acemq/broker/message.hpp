#pragma once
// An application message as the broker routes it: one immutable object shared by every
// subscriber's queue, with one payload buffer (no per-subscriber copy).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "acemq/broker/subscription_tree.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/mqtt/properties.hpp"

namespace acemq::broker {

class message_home;

/// A published message. Immutable once routed.
struct message {
  std::string topic;
  /// Never null; an empty vector for an empty payload.
  std::shared_ptr<const byte_vector> payload;
  std::uint8_t qos = 0;
  bool retain = false;
  /// Only the properties forwarded unchanged to subscribers [MQTT-3.3.2-17], [MQTT-3.3.2-18],
  /// [MQTT-3.3.2-20]: payload format indicator, content type, response topic, correlation data,
  /// user properties. Message Expiry is carried as `expires_at` instead. Null when there are none
  /// (most messages), so such a message neither builds nor destroys a set of properties.
  std::shared_ptr<const mqtt::properties> forwarded;
  /// When the Message Expiry Interval elapses (MQTT 5.0 3.3.2.3.3); nullopt = never.
  std::optional<clock::time_point> expires_at;
  /// When a retained copy must be dropped because the publisher's grant ends (RFC 9431 5:
  /// "min(token expiry, message expiry)"), from the publisher's principal::expires_at_unix();
  /// nullopt = only the Message Expiry Interval applies. Live deliveries are not affected.
  std::optional<clock::time_point> retain_until;
  /// Client identifier of the publisher, kept with a stored copy of the message: set when the
  /// broker persists and the message may be stored (QoS 1 or 2, or retained); empty otherwise.
  std::string publisher_client_id;
  /// The publisher's session (No Local [MQTT-3.8.3-3]).
  subscriber_id publisher_session = 0;
  /// The I/O thread's home it was built in, which frees it when its last holder is another
  /// thread (message_home.hpp); null for messages built elsewhere (Wills, restored messages).
  message_home* home = nullptr;

  bool expired(clock::time_point now) const noexcept { return expires_at && *expires_at <= now; }
  /// Whether a retained copy is gone: message expiry or the end of the publisher's grant.
  bool retained_expired(clock::time_point now) const noexcept {
    return expired(now) || (retain_until && *retain_until <= now);
  }
  std::size_t payload_size() const noexcept { return payload ? payload->size() : 0; }
  /// The forwarded properties; an empty set when there are none.
  const mqtt::properties& forwarded_properties() const noexcept {
    static const mqtt::properties none;
    return forwarded ? *forwarded : none;
  }
};

/// message::forwarded for the properties `kept`: null when the set is empty.
inline std::shared_ptr<const mqtt::properties> forwarded_from(mqtt::properties kept) {
  if (kept.empty()) return nullptr;
  return std::make_shared<const mqtt::properties>(std::move(kept));
}

using message_ptr = std::shared_ptr<const message>;

/// message::retain_until for a grant that ends at `ends_unix` (seconds since the epoch), on a
/// clock that reads `now` and `now_unix`; an end already past is `now` (RFC 9431 5).
inline clock::time_point retain_until_of(std::int64_t ends_unix, clock::time_point now,
                                         std::int64_t now_unix) {
  // Capped at 2^31 s (68 years), far beyond any token, so the clock's nanoseconds cannot
  // overflow for a far-future exp.
  constexpr std::int64_t bound = std::int64_t{1} << 31;
  const std::int64_t remaining = ends_unix <= now_unix          ? 0
                                 : ends_unix > now_unix + bound ? bound
                                                                : ends_unix - now_unix;
  return now + std::chrono::duration_cast<clock::duration>(std::chrono::seconds(remaining));
}

}  // namespace acemq::broker
