#include "acemq/token/jose/jws.hpp"

#include "acemq/common/base64.hpp"
#include "acemq/common/utf8.hpp"
#include "acemq/token/crypto/sign.hpp"

namespace acemq::token::jose {

namespace {

using crypto::algorithm;
using crypto::key;

bool kid_matches(const key& k, std::string_view kid) {
  return k.kid() && as_string_view(*k.kid()) == kid;
}

}  // namespace

algorithm default_signature_algorithm(const key& k) noexcept {
  if (k.bound_algorithm()) return *k.bound_algorithm();
  switch (k.type()) {
    case crypto::key_type::okp_ed25519:
      return algorithm::eddsa;
    case crypto::key_type::ec_p256:
      return algorithm::es256;
    case crypto::key_type::rsa:
      return algorithm::rs256;
    case crypto::key_type::symmetric:
      return algorithm::hs256;
  }
  return algorithm::hs256;
}

result<std::string, failure> sign_jws(const key& signing_key, byte_view payload,
                                      const jws_sign_options& options) {
  const algorithm alg = options.alg.value_or(default_signature_algorithm(signing_key));
  if (!crypto::is_signature_or_mac(alg) || crypto::jose_name(alg).empty()) {
    return unexpected(failure::unsupported_algorithm);
  }
  boost::json::object header;
  header["alg"] = crypto::jose_name(alg);
  if (options.kid) {
    if (!options.kid->empty()) header["kid"] = *options.kid;
  } else if (signing_key.kid() && is_valid_utf8(as_string_view(*signing_key.kid()))) {
    header["kid"] = as_string_view(*signing_key.kid());
  }
  if (options.typ) header["typ"] = *options.typ;
  if (options.cty) header["cty"] = *options.cty;

  std::string compact = base64url_encode(as_bytes(serialize(header)));
  compact += '.';
  compact += base64url_encode(payload);
  auto signature = crypto::sign(alg, signing_key, as_bytes(compact));
  if (!signature) return unexpected(signature.error());
  compact += '.';
  compact += base64url_encode(*signature);
  return compact;
}

result<jws_parts, failure> parse_jws(std::string_view compact, const limits& bounds) {
  auto parts = read_compact(compact, 3, bounds);
  if (!parts) return unexpected(parts.error());
  const auto& segments = parts->segments;
  boost::json::object& header = parts->header;
  auto alg_name = optional_string(header, "alg");
  if (!alg_name || !*alg_name) return unexpected(failure::bad_encoding);  // RFC 7515 4.1.1
  // RFC 7518 3.6: unsecured JWS are never accepted.
  if (**alg_name == "none") return unexpected(failure::alg_none);
  auto alg = crypto::algorithm_from_jose_name(**alg_name);
  if (!alg || !crypto::is_signature_or_mac(*alg)) return unexpected(failure::unsupported_algorithm);
  if (auto critical = check_critical(header); !critical) return unexpected(critical.error());
  auto kid = optional_string(header, "kid");
  if (!kid) return unexpected(kid.error());

  auto payload = base64url_decode(segments[1]);
  auto signature = base64url_decode(segments[2]);
  if (!payload || !signature) return unexpected(failure::bad_encoding);

  jws_parts out{std::move(header),
                *alg,
                *kid ? std::optional<std::string>(std::string(**kid)) : std::nullopt,
                std::move(*payload),
                std::move(*signature),
                std::string(compact.substr(0, segments[0].size() + 1 + segments[1].size()))};
  return out;
}

namespace {

verified_jws to_verified(jws_parts&& parts) {
  return {std::move(parts.header), parts.alg, std::move(parts.kid), std::move(parts.payload)};
}

}  // namespace

result<verified_jws, failure> verify_jws(std::string_view compact, const key& trusted,
                                         const limits& bounds) {
  auto parts = parse_jws(compact, bounds);
  if (!parts) return unexpected(parts.error());
  auto ok = crypto::verify(parts->alg, trusted, as_bytes(parts->signing_input), parts->signature);
  if (!ok) return unexpected(ok.error());
  return to_verified(std::move(parts).value());
}

result<verified_jws, failure> verify_jws(std::string_view compact, std::span<const key> trusted,
                                         const limits& bounds) {
  auto parts = parse_jws(compact, bounds);
  if (!parts) return unexpected(parts.error());
  bool tried = false;
  failure last = parts->kid ? failure::unknown_key : failure::algorithm_not_allowed;
  for (const auto& candidate : trusted) {
    if (parts->kid && !kid_matches(candidate, *parts->kid)) continue;
    if (!parts->kid && !crypto::check_key_allows(candidate, parts->alg)) continue;
    auto ok =
        crypto::verify(parts->alg, candidate, as_bytes(parts->signing_input), parts->signature);
    if (ok) return to_verified(std::move(parts).value());
    // Report the most telling reason: a signature failure over a key-type mismatch.
    if (!tried || ok.error() == failure::bad_signature) last = ok.error();
    tried = true;
  }
  return unexpected(last);
}

result<verified_jws, failure> verify_jws(std::string_view compact, const jwk_set& trusted,
                                         const limits& bounds) {
  return verify_jws(compact, std::span<const key>(trusted.keys()), bounds);
}

}  // namespace acemq::token::jose
