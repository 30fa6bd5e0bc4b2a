// Fuzz target for the acemq-as request parsers: the first byte picks the content format (form,
// JSON, CBOR) and the endpoint (/token or /introspect-/revoke); the rest is the body. Also feeds
// the bytes to the Authorization: Basic parser. Every input must return a value, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "acemq/as/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using acemq::as::content_format;
  const content_format formats[] = {content_format::form, content_format::json,
                                    content_format::cbor};
  const auto format = formats[data[0] % 3];
  const bool token_endpoint = (data[0] & 0x04) == 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  if (token_endpoint) {
    auto parsed = acemq::as::parse_token_request(format, body);
    (void)parsed;
  } else {
    auto parsed = acemq::as::parse_token_reference_request(format, body);
    (void)parsed;
  }
  auto basic = acemq::as::parse_basic_authorization(body);
  (void)basic;
  return 0;
}
