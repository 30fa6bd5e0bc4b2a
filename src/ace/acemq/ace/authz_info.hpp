#pragma once
// The `authz-info` topic (RFC 9431 2.2.2): public and publish-only. A PUBLISH to it carries a
// token, which is validated and stored (one per PoP key) instead of being routed. The verdict
// says what the connection answers:
//   valid token            -> PUBACK/PUBREC 0x00 (QoS >= 1), nothing at QoS 0;
//   invalid token          -> PUBACK/PUBREC 0x87, or DISCONNECT 0x87 at QoS 0;
//   not a token            -> PUBACK/PUBREC 0x99, or DISCONNECT 0x99 at QoS 0;
//   over the address rate  -> PUBACK/PUBREC 0x97 Quota exceeded, or DISCONNECT 0x96 at QoS 0.
// MQTT 3.1.1 has no reason codes (RFC 9431 6.1: "the Broker cannot communicate the result"):
// the upload is acknowledged normally and the result shows at the next connection.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "acemq/ace/token_store.hpp"
#include "acemq/ace/token_validator.hpp"
#include "acemq/broker/interceptor.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/mqtt/reason_code.hpp"
#include "acemq/mqtt/version.hpp"

namespace acemq::ace {

/// RFC 9431 2.2.2: the topic name.
inline constexpr std::string_view authz_info_topic = "authz-info";

/// One PUBLISH to authz-info, as the connection saw it.
struct authz_info_upload {
  byte_view payload;
  std::uint8_t qos = 0;
  mqtt::protocol_version version = mqtt::protocol_version::v5;
  std::string_view remote_address;
  /// The uploading connection's client identifier: the token is also indexed by it.
  std::string_view client_id;
};

/// What the connection does with the PUBLISH.
struct authz_info_verdict {
  /// The PUBACK/PUBREC reason (QoS >= 1), or the DISCONNECT reason when `disconnect` is set.
  mqtt::reason_code reason = mqtt::reason_code::success;
  /// QoS 0 with an error: send DISCONNECT `reason` and close (RFC 9431 2.2.2).
  bool disconnect = false;
  /// Why, for logs and metrics (success when the token was stored).
  std::optional<rejection> why;
};

class authz_info_handler {
 public:
  using completion = std::function<void(authz_info_verdict)>;

  /// Both must outlive the handler.
  authz_info_handler(token_validator& validator, token_store& store);

  /// True for the authz-info topic name.
  static bool is_authz_info(std::string_view topic) noexcept { return topic == authz_info_topic; }
  /// RFC 9431 2.2.2: clients are not allowed to subscribe to authz-info (0x87 for the filter).
  /// Wildcard filters are allowed: authz-info messages are consumed, never routed.
  static bool refuses_subscription(std::string_view filter) noexcept {
    return filter == authz_info_topic;
  }

  /// Validates and stores the token in `upload.payload` (copied). `done` is called exactly once,
  /// possibly later from another thread (introspection, key fetch).
  void on_publish(const authz_info_upload& upload, completion done);

  /// The verdict for an outcome: exposed for the connection glue and for tests.
  static authz_info_verdict verdict_for(std::optional<rejection> why, std::uint8_t qos,
                                        mqtt::protocol_version version);

 private:
  token_validator& validator_;
  token_store& store_;
};

/// The broker's publish_interceptor for authz-info (listener_settings::interceptor): uploads go
/// to `handler` before any authorization, so a TLS:Anon,MQTT:None client (the broker's
/// public_topics_only provider) can publish its token (RFC 9431 2.2.1, 2.2.2).
class authz_info_interceptor final : public broker::publish_interceptor {
 public:
  /// `handler` must outlive the interceptor.
  explicit authz_info_interceptor(authz_info_handler& handler) : handler_(handler) {}
  bool intercepts(std::string_view topic) const override {
    return authz_info_handler::is_authz_info(topic);
  }
  bool refuses_subscription(std::string_view filter) const override {
    return authz_info_handler::refuses_subscription(filter);
  }
  void on_publish(const broker::intercepted_publish& publish, completion done) override;

 private:
  authz_info_handler& handler_;
};

}  // namespace acemq::ace
