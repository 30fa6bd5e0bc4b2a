// Parses arbitrary bytes as a compact JWS / JWT and verifies it with fixed keys of every
// supported type (one at a time and as a key set). Nothing may crash; successes are rare.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "acemq/token/jose/jws.hpp"
#include "acemq/token/jose/jwt.hpp"

using namespace acemq;
using namespace acemq::token;

namespace {

std::vector<crypto::key> make_keys() {
  std::vector<crypto::key> keys;
  auto hmac = *crypto::key::symmetric_from_bytes(byte_vector(32, 0x11));
  hmac.set_kid(to_bytes("hmac"));
  keys.push_back(hmac);
  auto ed = *crypto::key::ed25519_from_private(byte_vector(32, 0x44));
  ed.set_kid(to_bytes("ed"));
  keys.push_back(*ed.public_key());
  // RFC 7515 A.3's P-256 key.
  auto ec = *jose::parse_jwk(
      R"({"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
  keys.push_back(ec);
  return keys;
}

const std::vector<crypto::key>& keys() {
  static const std::vector<crypto::key> instance = make_keys();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  (void)jose::parse_jws(token);
  for (const auto& k : keys())
    (void)jose::verify_jws(token, k);
  (void)jose::verify_jws(token, std::span<const crypto::key>(keys()));
  (void)jose::verify_jwt(token, {.verification = keys(), .decryption = {}});
  return 0;
}
