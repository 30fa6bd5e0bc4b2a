// Fuzz target: a credentials file (`acemq token get --out`), read back by pub/sub/demo.
// Properties: no crash, no sanitizer report; accepted credentials hold a private key and survive
// a round trip through to_json.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acemq/ace_client/credentials.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  auto credentials = acemq::ace_client::credentials_from_json(json);
  if (!credentials) return 0;
  if (!credentials->pop_key.is_private()) std::abort();
  auto again = acemq::ace_client::credentials_from_json(acemq::ace_client::to_json(*credentials));
  if (!again || again->token != credentials->token ||
      again->expires_at != credentials->expires_at) {
    std::abort();
  }
  return 0;
}
