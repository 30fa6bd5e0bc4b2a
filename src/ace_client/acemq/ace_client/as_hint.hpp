#pragma once
// AS discovery from the client's side (RFC 9431 2.4.1, RFC 9200 5.3): a CONNACK 0x87 may carry
// the User Property `ace_as_hint`, a JSON object naming the AS, the audience, the scope and a
// client nonce that must come back in the token.

#include <optional>
#include <string>
#include <string_view>

#include "acemq/common/result.hpp"
#include "acemq/mqtt/properties.hpp"

namespace acemq::ace_client {

/// RFC 9431 2.4.1: the User Property name.
inline constexpr std::string_view as_hint_property = "ace_as_hint";
/// Largest hint accepted (bytes of JSON); a real hint is a few hundred bytes.
inline constexpr std::size_t max_as_hint_size = 4096;

/// The fields of an AS hint; `as_url` is required, the others may be empty.
struct as_hint {
  std::string as_url;
  std::string audience;
  std::string scope;   // AIF-MQTT JSON text
  std::string cnonce;  // base64url, to send back in the token request
};

/// Why a hint was not usable.
enum class hint_error : std::uint8_t {
  absent = 0x01,     // no `ace_as_hint` property
  malformed = 0x02,  // not a JSON object, too large, wrong member types, no AS
  not_https = 0x03,  // the AS address is not an https URL: never send client secrets in clear
};

/// Reads the first `ace_as_hint` User Property of a CONNACK's properties.
result<as_hint, hint_error> parse_as_hint(const mqtt::properties& properties);
/// Reads a hint's JSON text (bounded by max_as_hint_size).
result<as_hint, hint_error> parse_as_hint(std::string_view json);

}  // namespace acemq::ace_client
