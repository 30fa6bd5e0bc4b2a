#pragma once
// The Authentication Data an ACE client sends (RFC 9431 2.2.4), built from its credentials with
// the token library's layouts and PoP functions. Sans-I/O: the TLS exporter value and randomness
// are passed in.

#include <cstdint>
#include <string>

#include "acemq/ace_client/credentials.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::ace_client {

/// RFC 9431 2.2.4: the MQTT v5 Authentication Method of the profile.
inline constexpr std::string_view authentication_method = "ace";

/// Which proof of possession the client offers at CONNECT (RFC 9431 2.2.4.1 / 2.2.4.2).
enum class pop_method : std::uint8_t {
  exporter = 0x01,   // PoP over the TLS exporter value, in CONNECT
  challenge = 0x02,  // token in CONNECT, PoP over the broker's nonce in AUTH
};

/// CONNECT Authentication Data for the exporter method: `u16 len || token || pop(exporter)`
/// (RFC 9431 2.2.4.1). `exporter` must be the 32-byte value of
/// token::pop::exporter_label with an empty context (bad_encoding otherwise).
result<byte_vector, token::failure> exporter_connect_data(const pop_credentials& credentials,
                                                          byte_view exporter);

/// CONNECT Authentication Data for challenge/response: `u16 len || token` (RFC 9431 2.2.4.2).
result<byte_vector, token::failure> challenge_connect_data(const pop_credentials& credentials);

/// AUTH 0x19 Authentication Data for re-authentication: the same token-only layout (RFC 9431 2.4).
result<byte_vector, token::failure> reauthentication_data(const pop_credentials& credentials);

/// The client's AUTH 0x18 answer to the broker's `rs_nonce`: a fresh 8-byte client nonce from
/// `random` (a CSPRNG in production) and the PoP over `rs_nonce || client_nonce`
/// (RFC 9431 2.2.4.2.2). `broker_data` that is not exactly 8 bytes -> bad_encoding.
/// `draft06` length-prefixes the client nonce for brokers of the seed draft.
result<byte_vector, token::failure> answer_challenge(const pop_credentials& credentials,
                                                     byte_view broker_data, random_source& random,
                                                     bool draft06 = false);

/// MQTT 3.1.1 CONNECT credentials (RFC 9431 2.2.4.3, 6): username `"ace" || base64url(token)`,
/// password the PoP over the exporter value.
struct mqtt311_credentials {
  std::string username;
  byte_vector password;
};
result<mqtt311_credentials, token::failure> mqtt311_connect_credentials(
    const pop_credentials& credentials, byte_view exporter);

}  // namespace acemq::ace_client
