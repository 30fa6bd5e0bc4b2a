#include "acemq/token/pop/auth_data.hpp"

#include <algorithm>
#include <limits>

#include "acemq/common/base64.hpp"

namespace acemq::token::pop {
namespace {

constexpr std::size_t length_prefix_size = 2;
constexpr std::size_t max_prefixed_length = std::numeric_limits<std::uint16_t>::max();

bool is_pop_size(std::size_t size) {
  return size == hmac_pop_size || size == signature_pop_size;
}

// Reads `u16 length || bytes` at the start of `data` (MQTT Binary Data layout, big-endian
// [MQTT-1.5.6]); the prefixed part must be non-empty and fit. Returns the bytes after it in `rest`.
result<byte_view, failure> read_prefixed(byte_view data, byte_view& rest) {
  if (data.size() < length_prefix_size) return unexpected(failure::bad_encoding);
  const std::size_t length = (std::size_t{data[0]} << 8) | std::size_t{data[1]};
  if (length == 0 || length > data.size() - length_prefix_size) {
    return unexpected(failure::bad_encoding);
  }
  rest = data.subspan(length_prefix_size + length);
  return data.subspan(length_prefix_size, length);
}

void append_prefixed(byte_vector& out, byte_view bytes) {
  out.push_back(static_cast<std::uint8_t>(bytes.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(bytes.size() & 0xFF));
  out.insert(out.end(), bytes.begin(), bytes.end());
}

}  // namespace

result<connect_exporter_data, failure> parse_connect_exporter(byte_view auth_data) {
  byte_view rest;
  auto token = read_prefixed(auth_data, rest);
  if (!token) return unexpected(token.error());
  // RFC 9431 2.2.4.1: the PoP follows the token without a length and runs to the end.
  if (!is_pop_size(rest.size())) return unexpected(failure::bad_encoding);
  return connect_exporter_data{*token, rest};
}

result<byte_vector, failure> build_connect_exporter(byte_view token, byte_view pop) {
  if (token.empty() || token.size() > max_prefixed_length || !is_pop_size(pop.size())) {
    return unexpected(failure::bad_encoding);
  }
  byte_vector out;
  out.reserve(length_prefix_size + token.size() + pop.size());
  append_prefixed(out, token);
  out.insert(out.end(), pop.begin(), pop.end());
  return out;
}

result<connect_challenge_data, failure> parse_connect_challenge(byte_view auth_data) {
  // RFC 9431 2.2.4.2: no Authentication Data means the broker already holds a token.
  if (auth_data.empty()) return connect_challenge_data{};
  auto token = parse_token_only(auth_data);
  if (!token) return unexpected(token.error());
  return connect_challenge_data{*token};
}

result<byte_vector, failure> build_connect_challenge(byte_view token) {
  if (token.empty() || token.size() > max_prefixed_length) {
    return unexpected(failure::bad_encoding);
  }
  byte_vector out;
  out.reserve(length_prefix_size + token.size());
  append_prefixed(out, token);
  return out;
}

result<byte_view, failure> parse_token_only(byte_view auth_data) {
  byte_view rest;
  auto token = read_prefixed(auth_data, rest);
  if (!token) return unexpected(token.error());
  // RFC 9431 2.2.4.2: "the token and nothing after it"; trailing bytes would be an exporter
  // PoP sent on the wrong path.
  if (!rest.empty()) return unexpected(failure::bad_encoding);
  return *token;
}

result<nonce, failure> parse_broker_challenge(byte_view auth_data) {
  // RFC 9431 2.2.4.2: the broker's challenge is an 8-byte nonce.
  if (auth_data.size() != nonce_size) return unexpected(failure::bad_encoding);
  nonce out{};
  std::copy(auth_data.begin(), auth_data.end(), out.begin());
  return out;
}

byte_vector build_broker_challenge(const nonce& rs_nonce) {
  return byte_vector(rs_nonce.begin(), rs_nonce.end());
}

result<client_response_data, failure> parse_client_response(byte_view auth_data, bool draft06) {
  byte_view client_nonce;
  byte_view rest;
  if (draft06) {
    auto prefixed = read_prefixed(auth_data, rest);
    if (!prefixed) return unexpected(prefixed.error());
    if (prefixed->size() > max_draft06_client_nonce_size) {
      return unexpected(failure::bad_encoding);
    }
    client_nonce = *prefixed;
  } else {
    // RFC 9431 2.2.4.2: a fixed 8-byte client nonce, no length prefix.
    if (auth_data.size() < nonce_size) return unexpected(failure::bad_encoding);
    client_nonce = auth_data.first(nonce_size);
    rest = auth_data.subspan(nonce_size);
  }
  if (!is_pop_size(rest.size())) return unexpected(failure::bad_encoding);
  return client_response_data{client_nonce, rest};
}

result<byte_vector, failure> build_client_response(byte_view client_nonce, byte_view pop,
                                                   bool draft06) {
  if (!is_pop_size(pop.size())) return unexpected(failure::bad_encoding);
  byte_vector out;
  if (draft06) {
    if (client_nonce.empty() || client_nonce.size() > max_draft06_client_nonce_size) {
      return unexpected(failure::bad_encoding);
    }
    append_prefixed(out, client_nonce);
  } else {
    if (client_nonce.size() != nonce_size) return unexpected(failure::bad_encoding);
    out.insert(out.end(), client_nonce.begin(), client_nonce.end());
  }
  out.insert(out.end(), pop.begin(), pop.end());
  return out;
}

byte_vector challenge_bytes(byte_view rs_nonce, byte_view client_nonce) {
  byte_vector out;
  out.reserve(rs_nonce.size() + client_nonce.size());
  out.insert(out.end(), rs_nonce.begin(), rs_nonce.end());
  out.insert(out.end(), client_nonce.begin(), client_nonce.end());
  return out;
}

result<byte_vector, failure> parse_username(std::string_view username) {
  // RFC 9431 2.2.4.3: "ace" followed by the base64url (no padding) token, always encoded.
  if (username.substr(0, username_prefix.size()) != username_prefix) {
    return unexpected(failure::bad_encoding);
  }
  auto token = base64url_decode(username.substr(username_prefix.size()));
  if (!token || token->empty()) return unexpected(failure::bad_encoding);
  return std::move(*token);
}

std::string build_username(byte_view token) {
  std::string out(username_prefix);
  out += base64url_encode(token);
  return out;
}

}  // namespace acemq::token::pop
