// Fuzz target: AIF-MQTT scope parsing from CBOR (CWT claim 9). Property: a parsed scope re-encodes
// deterministically and decodes back to the same scope.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "acemq/token/scope/aif.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using acemq::token::scope::aif_scope;
  auto parsed = aif_scope::from_cbor(acemq::byte_view(data, size));
  if (!parsed) return 0;
  (void)parsed->allows_publish("a/b");
  (void)parsed->allows_subscribe("a/#");
  (void)parsed->allows_delivery("$SYS/x");
  auto again = aif_scope::from_cbor(parsed->to_cbor());
  if (!again || again->to_cbor() != parsed->to_cbor()) std::abort();
  return 0;
}
