#pragma once
// Base64 (RFC 4648 section 4) and base64url without padding (section 5), strict decoders.

#include <optional>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"

namespace acemq {

std::string base64url_encode(byte_view bytes);
/// Rejects padding, whitespace, characters outside the URL-safe alphabet and non-canonical
/// trailing bits.
std::optional<byte_vector> base64url_decode(std::string_view text);

std::string base64_encode(byte_view bytes);
/// Standard alphabet; trailing '=' padding is optional; whitespace is rejected.
std::optional<byte_vector> base64_decode(std::string_view text);

}  // namespace acemq
