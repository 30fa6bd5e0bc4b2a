#pragma once
// Device-signed JWTs (RS256 / ES256 / EdDSA), as carried by the Password of CONNECT on platforms
// such as the former Google Cloud IoT Core, made safe from replay and from "JWT back to the
// future" (seed 004: tokens pre-minted with a future `iat`) by a per-device replay policy.
//
// Two ways in:
//  * MQTT 5 enhanced authentication, Authentication Method `acemq-device-jwt`: the broker answers
//    CONNECT with AUTH 0x18 whose Authentication Data is a fresh nonce (22 ASCII characters,
//    base64url of 16 CSPRNG bytes); the device replies with AUTH 0x18 whose Authentication Data
//    is a JWT carrying `"nonce": "<that string>"`. The same exchange serves re-authentication
//    (AUTH 0x19), which is how a device refreshes its JWT without reconnecting.
//  * The JWT in the Password (MQTT 3.1.1, or MQTT 5 without a method). Under policy `nonce` it
//    must carry `"tls_exporter": BASE64URL(TLS-Exporter("EXPORTER-acemq-device-jwt", no context,
//    32 bytes))` (RFC 5705 / RFC 8446 7.5), binding it to this TLS session.
//
// The device identifier is the MQTT Client Identifier.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "acemq/auth/acl.hpp"
#include "acemq/auth/device_registry.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/challenge_table.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"

namespace acemq::auth {

/// The Authentication Method name of the nonce challenge.
inline constexpr std::string_view device_jwt_method = "acemq-device-jwt";
/// The TLS exporter label and length of the MQTT 3.1.1 channel binding.
inline constexpr std::string_view device_jwt_exporter_label = "EXPORTER-acemq-device-jwt";
inline constexpr std::size_t device_jwt_exporter_length = 32;
/// The claim carrying the channel binding.
inline constexpr std::string_view device_jwt_exporter_claim = "tls_exporter";
/// Bytes of randomness in a challenge nonce.
inline constexpr std::size_t device_jwt_nonce_size = 16;

struct device_jwt_settings {
  /// The `aud` a device's JWT must name (this broker). Required.
  std::string audience;
  std::chrono::seconds clock_skew{60};
  std::chrono::seconds max_lifetime{std::chrono::hours(24)};
  /// How long a nonce challenge waits for the device's AUTH reply.
  std::chrono::seconds challenge_timeout{30};
  /// Challenges outstanding at once, and from one remote host; beyond, new challenges are
  /// refused with 0x89 Server busy (broker::challenge_table).
  std::size_t max_pending_challenges = 10'000;
  std::size_t max_pending_challenges_per_address = 100;
  std::size_t max_token_size = 8 * 1024;
};

/// Why a device JWT was refused (a closed set; each has a test).
enum class device_jwt_failure : std::uint8_t {
  malformed = 0x01,    // not a compact JWS, bad JSON, or a JWE
  unknown_key = 0x02,  // no registered key of the device matches
  bad_signature = 0x03,
  wrong_audience = 0x04,
  missing_claim = 0x05,  // exp, iat, aud, or the claim the policy needs
  expired = 0x06,
  issued_in_future = 0x07,
  not_yet_valid = 0x08,
  lifetime_too_long = 0x09,
  wrong_subject = 0x0A,        // `sub` present and not the device id
  nonce_mismatch = 0x0B,       // `nonce` is not the broker's challenge
  binding_mismatch = 0x0C,     // `tls_exporter` is not this TLS session's
  channel_unavailable = 0x0D,  // policy nonce over plain TCP without a challenge
  replayed = 0x0E,             // `jti` already used
  counter_not_increasing = 0x0F,
  replay_store_full = 0x10,
  storage = 0x11,
};

std::string_view to_string(device_jwt_failure reason) noexcept;

/// What the verifier knows about the connection.
struct device_jwt_context {
  std::int64_t now_unix = 0;
  /// The challenge sent in AUTH, when the MQTT 5 exchange was used.
  std::optional<std::string> expected_nonce;
  /// This TLS session's exporter value (device_jwt_exporter_label), when on TLS.
  std::optional<byte_vector> tls_exporter;
};

/// A JWT that passed every check and whose replay state was recorded.
struct verified_device_jwt {
  std::string key_id;
  std::int64_t expires_at = 0;
};

/// Verifies a device JWT against the device's keys, the claim checks and its policy, recording
/// jti / ctr state in the registry (only once everything else has passed).
result<verified_device_jwt, device_jwt_failure> verify_device_jwt(
    std::string_view token, const device_record& device, const device_jwt_settings& settings,
    const device_jwt_context& context, device_registry& registry);

class device_jwt_provider final : public broker::authenticator {
 public:
  device_jwt_provider(std::shared_ptr<device_registry> registry,
                      std::shared_ptr<const acl_store> acl, device_jwt_settings settings,
                      const clock& time, random_source& random);

  std::string_view name() const override { return "device_jwt"; }
  void start(const broker::authentication_request& request, completion done) override;
  void continue_auth(const broker::authentication_request& request, completion done) override;
  void reauthenticate(const broker::authentication_request& request, completion done) override;

  std::size_t pending_challenges() const;
  /// Releases the challenge of a closed connection.
  void connection_closed(std::string_view listener_name, std::string_view remote_address) override;

 private:
  broker::auth_step issue_challenge(const broker::authentication_request& request);
  broker::auth_step check(const broker::authentication_request& request, std::string_view token,
                          const device_record& device, std::optional<std::string> nonce);

  std::shared_ptr<device_registry> registry_;
  std::shared_ptr<const acl_store> acl_;
  device_jwt_settings settings_;
  const clock& clock_;
  random_source& random_;
  std::mutex random_mutex_;
  /// The nonce sent to each connection.
  broker::challenge_table<std::string> challenges_;
};

}  // namespace acemq::auth
