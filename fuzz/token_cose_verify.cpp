// Parses arbitrary bytes as COSE messages and CWTs and verifies/decrypts them with fixed keys of
// every supported type, plus the COSE_Key decoder. Nothing may crash; successes are rare by design.

#include <cstddef>
#include <cstdint>

#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cose_message.hpp"
#include "acemq/token/cose/cwt.hpp"

using namespace acemq;
using namespace acemq::token;

namespace {

struct fixed_keys {
  crypto::key hmac = *crypto::key::symmetric_from_bytes(byte_vector(32, 0x11));
  crypto::key aes128 = *crypto::key::symmetric_from_bytes(byte_vector(16, 0x22));
  crypto::key aes256 = *crypto::key::symmetric_from_bytes(byte_vector(32, 0x33));
  crypto::key ed25519 = *crypto::key::ed25519_from_private(byte_vector(32, 0x44));
};

const fixed_keys& keys() {
  static const fixed_keys instance;
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const byte_view input(data, size);
  const fixed_keys& k = keys();

  if (auto msg = cose::parse(input, cose::message_type::sign1)) {
    for (const crypto::key* key : {&k.hmac, &k.aes128, &k.aes256, &k.ed25519}) {
      (void)cose::open(*msg, *key);
    }
  }

  cose::key_lookup lookup = [&k](const cose::message& layer) -> result<crypto::key, failure> {
    switch (layer.type) {
      case cose::message_type::sign1:
        return k.ed25519;
      case cose::message_type::mac0:
        return k.hmac;
      case cose::message_type::encrypt0:
        return k.aes128;
    }
    return unexpected{failure::unknown_key};
  };
  if (auto verified = cose::verify_cwt(input, lookup)) {
    if (verified->claims_set.cnf) {
      (void)cose::confirmation_key(*verified->claims_set.cnf);
      (void)cose::decrypt_confirmation_key(*verified->claims_set.cnf, k.aes128);
    }
  }
  (void)cose::decode_claims(input);
  (void)cose::key_from_cose(input);
  return 0;
}
