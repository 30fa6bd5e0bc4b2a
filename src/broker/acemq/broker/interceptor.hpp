#pragma once
// Publish interceptors: topics whose PUBLISH the broker hands to a handler instead of routing it,
// e.g. the public "authz-info" topic of RFC 9431 2.2.2 where a client uploads its access token.

#include <cstdint>
#include <functional>
#include <string_view>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/mqtt/reason_code.hpp"
#include "acemq/mqtt/version.hpp"

namespace acemq::broker {

/// One intercepted PUBLISH as the connection saw it. Every view is valid only during
/// publish_interceptor::on_publish(); a handler that completes later copies what it needs.
struct intercepted_publish {
  std::string_view topic;
  byte_view payload;
  std::uint8_t qos = 0;
  mqtt::protocol_version version = mqtt::protocol_version::v5;
  std::string_view remote_address;
  std::string_view client_id;
  /// Null on plain TCP.
  const tls_facts* tls = nullptr;
};

/// What the connection answers to an intercepted PUBLISH.
struct intercept_verdict {
  /// The PUBACK/PUBREC reason at QoS 1/2 (MQTT 3.1.1: an error still closes nothing and is
  /// acknowledged normally, it has no reason codes), or the DISCONNECT reason with `disconnect`.
  mqtt::reason_code reason = mqtt::reason_code::success;
  /// Send DISCONNECT `reason` (v5; 3.1.1 just closes) instead of an acknowledgement, e.g. an
  /// invalid token uploaded at QoS 0 (RFC 9431 2.2.2).
  bool disconnect = false;
};

/// A handler for the PUBLISH packets of some topics. It runs BEFORE the principal is asked (the
/// topic may be public, as authz-info is), its messages are never routed nor retained, and
/// subscriptions it refuses get SUBACK 0x87 (0x80 in 3.1.1). Installed per listener
/// (listener_settings::interceptor); must be thread-safe (connections on several threads call it).
class publish_interceptor {
 public:
  using completion = std::function<void(intercept_verdict)>;
  virtual ~publish_interceptor() = default;
  /// Whether a PUBLISH to `topic` is consumed by this handler.
  virtual bool intercepts(std::string_view topic) const = 0;
  /// Whether a SUBSCRIBE to `filter` is refused (e.g. RFC 9431 2.2.2: authz-info is publish-only).
  virtual bool refuses_subscription(std::string_view filter) const = 0;
  /// Handles one PUBLISH. `done` is called exactly once, inside the call or later from any
  /// thread; the connection holds back the client's later packets until then, so its
  /// acknowledgements stay in order [MQTT-4.6.0-2].
  virtual void on_publish(const intercepted_publish& publish, completion done) = 0;
};

}  // namespace acemq::broker
