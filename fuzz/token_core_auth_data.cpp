// Fuzz target: every RFC 9431 AuthData layout and the MQTT 3.1.1 username. Property: whatever
// parses re-builds to exactly the input bytes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acemq/token/pop/auth_data.hpp"

namespace {

void require_same(const acemq::byte_vector& built, acemq::byte_view input) {
  if (built.size() != input.size() || !std::equal(built.begin(), built.end(), input.begin())) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace pop = acemq::token::pop;
  const acemq::byte_view input(data, size);
  if (auto parsed = pop::parse_connect_exporter(input)) {
    require_same(*pop::build_connect_exporter(parsed->token, parsed->pop), input);
  }
  if (auto parsed = pop::parse_connect_challenge(input); parsed && parsed->token) {
    require_same(*pop::build_connect_challenge(*parsed->token), input);
  }
  if (auto parsed = pop::parse_broker_challenge(input)) {
    require_same(pop::build_broker_challenge(*parsed), input);
  }
  for (bool draft06 : {false, true}) {
    if (auto parsed = pop::parse_client_response(input, draft06)) {
      require_same(*pop::build_client_response(parsed->client_nonce, parsed->pop, draft06), input);
    }
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto token = pop::parse_username(text)) {
    if (pop::build_username(*token) != text) std::abort();
  }
  return 0;
}
