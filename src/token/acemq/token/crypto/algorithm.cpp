#include "acemq/token/crypto/algorithm.hpp"

#include <array>
#include <utility>

#include "acemq/token/crypto/key.hpp"

namespace acemq::token::crypto {

namespace {

struct algorithm_names {
  algorithm alg;
  std::string_view jose;
  std::optional<std::int64_t> cose;
};

// RFC 7518 3.1 / 4.1 / 5.1 names; RFC 9053 2-6 identifiers.
constexpr std::array<algorithm_names, 15> names{{
    {algorithm::hs256, "HS256", 5},
    {algorithm::hs384, "HS384", 6},
    {algorithm::hs512, "HS512", 7},
    {algorithm::hmac_256_64, "", 4},
    {algorithm::eddsa, "EdDSA", -8},
    {algorithm::es256, "ES256", -7},
    {algorithm::rs256, "RS256", -257},
    {algorithm::ps256, "PS256", -37},
    {algorithm::a128gcm, "A128GCM", 1},
    {algorithm::a256gcm, "A256GCM", 3},
    {algorithm::aes_ccm_16_64_128, "", 10},
    {algorithm::dir, "dir", -6},
    {algorithm::a128kw, "A128KW", -3},
    {algorithm::a256kw, "A256KW", -5},
    {algorithm::ecdh_es, "ECDH-ES", std::nullopt},
}};

const algorithm_names* find(algorithm alg) noexcept {
  for (const auto& entry : names) {
    if (entry.alg == alg) return &entry;
  }
  return nullptr;
}

result<void, failure> require(bool condition) {
  if (!condition) return unexpected(failure::algorithm_not_allowed);
  return {};
}

}  // namespace

std::string_view jose_name(algorithm alg) noexcept {
  const auto* entry = find(alg);
  return entry ? entry->jose : std::string_view{};
}

std::optional<algorithm> algorithm_from_jose_name(std::string_view name) noexcept {
  if (name.empty()) return std::nullopt;
  for (const auto& entry : names) {
    if (entry.jose == name) return entry.alg;  // case-sensitive, RFC 7515 4.1.1
  }
  return std::nullopt;
}

std::optional<std::int64_t> cose_id(algorithm alg) noexcept {
  const auto* entry = find(alg);
  return entry ? entry->cose : std::nullopt;
}

std::optional<algorithm> algorithm_from_cose_id(std::int64_t id) noexcept {
  for (const auto& entry : names) {
    if (entry.cose == id) return entry.alg;
  }
  return std::nullopt;
}

bool is_signature_or_mac(algorithm alg) noexcept {
  switch (alg) {
    case algorithm::hs256:
    case algorithm::hs384:
    case algorithm::hs512:
    case algorithm::hmac_256_64:
    case algorithm::eddsa:
    case algorithm::es256:
    case algorithm::rs256:
    case algorithm::ps256:
      return true;
    default:
      return false;
  }
}

result<void, failure> check_key_allows(const key& k, algorithm alg) {
  if (find(alg) == nullptr) return unexpected(failure::unsupported_algorithm);
  // A key bound to one algorithm is never used with another (RFC 7517 4.4, RFC 9052 7.1).
  if (k.bound_algorithm() && *k.bound_algorithm() != alg) {
    return unexpected(failure::algorithm_not_allowed);
  }
  const bool symmetric = k.type() == key_type::symmetric;
  const std::size_t size = k.symmetric_bytes().size();
  switch (alg) {
    // RFC 7518 3.2: an HMAC key of the same size as the hash output or larger.
    case algorithm::hs256:
    case algorithm::hmac_256_64:
      return require(symmetric && size >= 32);
    case algorithm::hs384:
      return require(symmetric && size >= 48);
    case algorithm::hs512:
      return require(symmetric && size >= 64);
    case algorithm::eddsa:
      return require(k.type() == key_type::okp_ed25519);
    case algorithm::es256:
    case algorithm::ecdh_es:
      return require(k.type() == key_type::ec_p256);
    case algorithm::rs256:
    case algorithm::ps256:
      return require(k.type() == key_type::rsa);
    case algorithm::a128gcm:
    case algorithm::a128kw:
    case algorithm::aes_ccm_16_64_128:
      return require(symmetric && size == 16);
    case algorithm::a256gcm:
    case algorithm::a256kw:
      return require(symmetric && size == 32);
    case algorithm::dir:
      return require(symmetric);
  }
  return unexpected(failure::unsupported_algorithm);
}

}  // namespace acemq::token::crypto
