#pragma once
// The layouts carried in the MQTT v5 Authentication Data property (0x16) and the MQTT 3.1.1
// username by the ACE MQTT-TLS profile (RFC 9431 2.2.4). Parsing never copies the token: the
// views point into the caller's buffer. Every layout is exact: a byte too few or too many is
// `failure::bad_encoding`.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::pop {

/// RFC 9431 2.2.4.1: the TLS exporter label for the PoP challenge.
inline constexpr std::string_view exporter_label = "EXPORTER-ACE-MQTT-Sign-Challenge";
/// RFC 9431 2.2.4.1: the exporter is computed with an empty (present, zero-length) context.
inline constexpr std::string_view exporter_context = "";
/// RFC 9431 2.2.4.1: 32 bytes of exporter output are signed or MACed.
inline constexpr std::size_t exporter_length = 32;

/// RFC 9431 2.2.4.2: the broker's and the client's challenge nonces are 8 bytes.
inline constexpr std::size_t nonce_size = 8;
using nonce = std::array<std::uint8_t, nonce_size>;

/// PoP values: HMAC-SHA256 (32 bytes) or an Ed25519 / ES256 signature (64 bytes).
inline constexpr std::size_t hmac_pop_size = 32;
inline constexpr std::size_t signature_pop_size = 64;

/// Draft-06 compatibility: the client nonce carried a u16 length prefix; its length is bounded.
inline constexpr std::size_t max_draft06_client_nonce_size = 64;

/// MQTT 3.1.1 CONNECT username prefix (RFC 9431 2.2.4.3): "ace" || base64url(token).
inline constexpr std::string_view username_prefix = "ace";

/// CONNECT with PoP over the TLS exporter: `u16 token_len || token || pop`.
struct connect_exporter_data {
  byte_view token;
  byte_view pop;
};
result<connect_exporter_data, failure> parse_connect_exporter(byte_view auth_data);
/// Fails (bad_encoding) for an empty or over-long (> 65535) token or a PoP of the wrong size.
result<byte_vector, failure> build_connect_exporter(byte_view token, byte_view pop);

/// CONNECT for challenge/response: `u16 token_len || token` and nothing after it, or empty
/// Authentication Data when the broker already holds a token for this client (token absent).
struct connect_challenge_data {
  std::optional<byte_view> token;
};
result<connect_challenge_data, failure> parse_connect_challenge(byte_view auth_data);
result<byte_vector, failure> build_connect_challenge(byte_view token);

/// Reauthentication starts with the same `u16 token_len || token` layout (RFC 9431 2.4), but a
/// token must be present.
result<byte_view, failure> parse_token_only(byte_view auth_data);

/// Broker AUTH (0x18): exactly the 8-byte `rs_nonce`.
result<nonce, failure> parse_broker_challenge(byte_view auth_data);
byte_vector build_broker_challenge(const nonce& rs_nonce);

/// Client AUTH (0x18): `client_nonce (8) || pop` (RFC 9431), or, with `draft06` set,
/// `u16 nonce_len || client_nonce || pop` (draft-ietf-ace-mqtt-tls-profile-06).
struct client_response_data {
  byte_view client_nonce;
  byte_view pop;
};
result<client_response_data, failure> parse_client_response(byte_view auth_data,
                                                            bool draft06 = false);
result<byte_vector, failure> build_client_response(byte_view client_nonce, byte_view pop,
                                                   bool draft06 = false);

/// The bytes that the challenge/response PoP covers: `rs_nonce || client_nonce`.
byte_vector challenge_bytes(byte_view rs_nonce, byte_view client_nonce);

/// MQTT 3.1.1 username: `"ace" || base64url-without-padding(token)`. Returns the token bytes.
result<byte_vector, failure> parse_username(std::string_view username);
std::string build_username(byte_view token);

}  // namespace acemq::token::pop
