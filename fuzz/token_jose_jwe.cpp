// Parses arbitrary bytes as a compact JWE (and nested JWT) and decrypts with fixed keys for
// every key management algorithm. Nothing may crash; successes are rare.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "acemq/token/jose/jwe.hpp"
#include "acemq/token/jose/jwt.hpp"

using namespace acemq;
using namespace acemq::token;

namespace {

std::vector<crypto::key> make_keys() {
  std::vector<crypto::key> keys;
  keys.push_back(*crypto::key::symmetric_from_bytes(byte_vector(16, 0x22)));
  keys.push_back(*crypto::key::symmetric_from_bytes(byte_vector(32, 0x33)));
  // RFC 7515 A.3's P-256 key pair, as an ECDH-ES recipient.
  keys.push_back(*jose::parse_jwk(
      R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",)"
      R"("d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})"));
  return keys;
}

const std::vector<crypto::key>& keys() {
  static const std::vector<crypto::key> instance = make_keys();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  (void)jose::peek_kid(token);
  for (const auto& k : keys())
    (void)jose::decrypt_jwe(token, k);
  (void)jose::verify_jwt(token, {.verification = keys(), .decryption = keys()});
  (void)jose::decrypt_cnf_key(token, keys().back());
  return 0;
}
