// Fuzz target: the JSON of a broker's `ace_as_hint` User Property (RFC 9431 2.4.1), which any
// broker (or a man in the middle before TLS verification fails) can send. Properties: no crash,
// no sanitizer report; an accepted hint names an https AS.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "acemq/ace_client/as_hint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto hint = acemq::ace_client::parse_as_hint(json);
  if (hint && !hint->as_url.starts_with("https://")) std::abort();
  // The same text through the CONNACK properties path.
  acemq::mqtt::properties properties;
  properties.user_properties.emplace_back("ace_as_hint", std::string(json));
  auto from_properties = acemq::ace_client::parse_as_hint(properties);
  if (static_cast<bool>(hint) != static_cast<bool>(from_properties)) std::abort();
  return 0;
}
