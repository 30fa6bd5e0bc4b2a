#pragma once
// Bounded JSON for JOSE: every header, JWK and claims set goes through these helpers, so size and
// nesting limits and strict types are enforced in one place.

#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::jose {

/// Bounds applied to untrusted JOSE input.
struct limits {
  std::size_t max_size = 64 * 1024;  // whole compact serialisation or JSON text -> too_large
  std::size_t max_depth = 32;        // JSON nesting -> too_deep
};

/// Parses a JSON object (valid UTF-8, nothing after it). Not an object / malformed ->
/// bad_encoding; nesting above `max_depth` -> too_deep. Duplicate member names keep the last one,
/// as RFC 7515 4 permits.
result<boost::json::object, failure> parse_object(std::string_view text,
                                                  std::size_t max_depth = limits{}.max_depth);

/// base64url (no padding) then parse_object; bad base64url -> bad_encoding.
result<boost::json::object, failure> decode_object(std::string_view base64url_text,
                                                   std::size_t max_depth = limits{}.max_depth);

/// Compact JSON text of an object (no whitespace).
std::string serialize(const boost::json::object& object);

/// The string member `name`; std::nullopt when absent; bad_encoding when present but not a string.
result<std::optional<std::string_view>, failure> optional_string(const boost::json::object& object,
                                                                 std::string_view name);

/// The base64url member `name` decoded; std::nullopt when absent; bad_encoding when present but
/// not a string of valid base64url.
result<std::optional<byte_vector>, failure> optional_base64url(const boost::json::object& object,
                                                               std::string_view name);

/// RFC 7515 4.1.11 / RFC 7516 4.1.13: "crit" must be a non-empty array of distinct strings that
/// name extension parameters present in the header, else bad_encoding. This library implements
/// no extension, so any well-formed "crit" -> unknown_critical_header. "b64" (RFC 7797) with any
/// value other than true -> unknown_critical_header: unencoded payloads are not supported.
result<void, failure> check_critical(const boost::json::object& header);

/// Splits a compact serialisation at '.' into exactly `count` parts, else bad_encoding.
result<std::vector<std::string_view>, failure> split_compact(std::string_view compact,
                                                             std::size_t count);

/// A compact serialisation split into its parts (views into the text), with its protected
/// header decoded.
struct compact_parts {
  std::vector<std::string_view> segments;
  boost::json::object header;
};

/// The first steps of reading a JWS (3 parts, RFC 7515 5.2) or a JWE (5 parts, RFC 7516 5.2):
/// more than `bounds.max_size` bytes -> too_large; split_compact into `count` parts; the first
/// part through decode_object with `bounds.max_depth`. The header's members are the caller's.
result<compact_parts, failure> read_compact(std::string_view compact, std::size_t count,
                                            const limits& bounds);

}  // namespace acemq::token::jose
