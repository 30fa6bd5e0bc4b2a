// Fuzz target: AIF-MQTT scope parsing from JSON text and the JWT claim form, then every check.
// Property: a parsed scope answers every question without crashing, and serialises to JSON that
// parses back to the same scope.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acemq/token/scope/aif.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using acemq::token::scope::aif_scope;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto parsed : {aif_scope::from_json(text), aif_scope::from_jwt_text(text)}) {
    if (!parsed) continue;
    for (std::string_view probe : {"a", "a/b", "$SYS/x", "#", "a/+", "$share/g/a/#", ""}) {
      (void)parsed->allows_publish(probe);
      (void)parsed->allows_subscribe(probe);
      (void)parsed->allows_delivery(probe);
    }
    auto again = aif_scope::from_json(parsed->to_json());
    if (!again || again->to_json() != parsed->to_json()) std::abort();
  }
  return 0;
}
