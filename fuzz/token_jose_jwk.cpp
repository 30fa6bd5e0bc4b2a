// Parses arbitrary bytes as a JWK, a JWK Set and a claims set with cnf; every key that parses
// is written back, re-read and must keep its thumbprint.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jwt.hpp"

using namespace acemq;
using namespace acemq::token;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto k = jose::parse_jwk(text)) {
    auto written = jose::to_jwk(*k, jose::jwk_content::with_private);
    if (written) {
      auto again = jose::parse_jwk(*written);
      if (!again || *jose::thumbprint(*again) != *jose::thumbprint(*k)) std::abort();
    }
  }
  (void)jose::parse_jwk(text, {.public_only = true, .required_use = "sig"});
  (void)jose::parse_jwk_set(text);
  if (auto claims = jose::parse_claims(as_bytes(text))) (void)jose::parse_cnf(*claims);
  return 0;
}
