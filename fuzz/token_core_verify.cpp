// Fuzz target: the whole verify() on arbitrary bytes, with fixed trusted keys (an HMAC key shared
// with the AS, an Ed25519 AS key and a broker key-encryption key). Property: no crash, no
// unbounded allocation; a token that verifies has the audience and a scope.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "acemq/token/verify.hpp"

namespace {

using namespace acemq;
using namespace acemq::token;

const trusted_keys& fixed_keys() {
  static const trusted_keys keys = [] {
    trusted_keys k;
    // Fixed test-only secrets (also used to build the seed corpus).
    crypto::key hmac = *crypto::key::symmetric_from_bytes(byte_vector(32, 0x4b));
    hmac.set_kid(to_bytes("as-hmac"));
    crypto::key ed25519 = *crypto::key::ed25519_from_private(byte_vector(32, 0x01));
    ed25519.set_kid(to_bytes("as-ed"));
    crypto::key kek = *crypto::key::symmetric_from_bytes(byte_vector(16, 0x6b));
    kek.set_kid(to_bytes("broker"));
    k.issuer_keys = {hmac, *ed25519.public_key()};
    k.decryption_keys = {kek};
    return k;
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  expectations expected;
  expected.audience = "broker";
  expected.require_cnf = false;  // reach the scope and claim code with fewer constraints
  expected.max_lifetime_seconds = std::numeric_limits<std::int64_t>::max();
  auto verified = verify(byte_view(data, size), fixed_keys(), expected, 1'700'000'000);
  if (verified && (!verified->has_scope || verified->audience.empty())) std::abort();
  return 0;
}
