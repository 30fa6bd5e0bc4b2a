#include "acemq/token/pop/proof.hpp"

#include "acemq/token/crypto/sign.hpp"
#include "acemq/token/pop/auth_data.hpp"

namespace acemq::token::pop {

result<crypto::algorithm, failure> pop_algorithm(const crypto::key& pop_key) {
  switch (pop_key.type()) {
    case crypto::key_type::symmetric:
      return crypto::algorithm::hs256;
    case crypto::key_type::okp_ed25519:
      return crypto::algorithm::eddsa;
    case crypto::key_type::ec_p256:
      return crypto::algorithm::es256;
    case crypto::key_type::rsa:
      break;
  }
  return unexpected(failure::bad_key);
}

result<byte_vector, failure> compute_pop(const crypto::key& pop_key, byte_view data) {
  auto alg = pop_algorithm(pop_key);
  if (!alg) return unexpected(alg.error());
  if (!pop_key.is_private()) return unexpected(failure::bad_key);
  return crypto::sign(*alg, pop_key, data);
}

result<void, failure> verify_pop(const crypto::key& pop_key, byte_view data, byte_view pop) {
  auto alg = pop_algorithm(pop_key);
  if (!alg) return unexpected(alg.error());
  // The key must be usable with its algorithm (size, binding) before the PoP is looked at.
  auto allowed = crypto::check_key_allows(pop_key, *alg);
  if (!allowed) return unexpected(failure::bad_key);
  const std::size_t expected_size =
      *alg == crypto::algorithm::hs256 ? hmac_pop_size : signature_pop_size;
  if (pop.size() != expected_size) return unexpected(failure::bad_pop);
  // crypto::verify compares MACs with acemq::constant_time_equal.
  auto verified = crypto::verify(*alg, pop_key, data, pop);
  if (!verified) return unexpected(failure::bad_pop);
  return {};
}

}  // namespace acemq::token::pop
