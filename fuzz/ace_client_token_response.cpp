// Fuzz target: an AS answer to /token or /revoke. The first byte picks the HTTP status (200 or an
// error status); the rest is the body. Properties: no crash, no sanitizer report; an accepted
// response always has a token and, with a cnf key, yields usable credentials or a value error.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acemq/ace_client/credentials.hpp"
#include "acemq/ace_client/token_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static constexpr unsigned statuses[] = {200, 400, 401, 500};
  const unsigned status = statuses[data[0] % 4];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto response = acemq::ace_client::parse_token_response(status, body);
  if (response) {
    if (response->access_token.empty()) std::abort();
    // Pairing with the key must never crash, whatever the AS sent.
    (void)acemq::ace_client::make_credentials(*response, std::nullopt, "aud", "https://as", 0);
  } else {
    (void)acemq::ace_client::describe(response.error());
  }
  (void)acemq::ace_client::parse_revocation_response(status, body);
  return 0;
}
