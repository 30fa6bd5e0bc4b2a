#include "acemq/as/token_minter.hpp"

#include <boost/json.hpp>

#include "acemq/common/base64.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cose_message.hpp"
#include "acemq/token/cose/cwt.hpp"
#include "acemq/token/crypto/aead.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jwt.hpp"

namespace acemq::as {
namespace {

namespace crypto = token::crypto;
namespace jose = token::jose;
namespace cose = token::cose;
namespace cbor = token::cbor;
namespace json = boost::json;

constexpr std::string_view profile_name = "mqtt_tls";  // RFC 9431 8.4
constexpr std::size_t reference_size = 32;             // 256-bit unguessable handle

/// The RS's key for encrypting symmetric PoP keys, from its registration (a JWK).
std::optional<crypto::key> encryption_key_of(const resource_server_record& server) {
  if (server.encryption_key.empty()) return std::nullopt;
  auto k = jose::parse_jwk(server.encryption_key);
  if (!k) return std::nullopt;
  return std::move(*k);
}

result<minted_token, mint_error> mint_jwt(const mint_request& request,
                                          const resource_server_record& server,
                                          const signing_key& signer, random_source& random) {
  json::object claims;
  claims["iss"] = request.issuer;
  claims["sub"] = request.client_id;
  claims["aud"] = server.audience;
  claims["iat"] = request.issued_at;
  claims["exp"] = request.expires_at;
  claims["jti"] = request.token_id;
  claims["client_id"] = request.client_id;
  // RFC 9431 2.3: the JWT scope is base64url (no padding) of the JSON AIF.
  claims["scope"] = request.scope.to_jwt_text();
  claims["ace_profile"] = profile_name;
  if (request.cnonce) claims["cnonce"] = base64url_encode(*request.cnonce);
  if (server.use_exi) claims["exi"] = request.expires_at - request.issued_at;
  if (request.pop.symmetric()) {
    // RFC 9431 2.1: a symmetric PoP key never travels in the clear; RFC 7800 3.3 "jwe".
    auto recipient = encryption_key_of(server);
    if (!recipient) return unexpected(mint_error::no_encryption_key);
    jose::jwe_encrypt_options options;
    if (recipient->type() == crypto::key_type::ec_p256) {
      options.key_management = crypto::algorithm::ecdh_es;
    } else if (recipient->symmetric_bytes().size() == 32) {
      options.key_management = crypto::algorithm::a256kw;
    } else {
      options.key_management = crypto::algorithm::a128kw;
    }
    auto cnf = jose::make_cnf_jwe(*request.pop.key, *recipient, options, random);
    if (!cnf) return unexpected(mint_error::no_encryption_key);
    claims["cnf"] = std::move(*cnf);
  } else if (request.pop.key) {
    auto cnf = jose::make_cnf_jwk(*request.pop.key);
    if (!cnf) return unexpected(mint_error::unsupported_key);
    claims["cnf"] = std::move(*cnf);
  } else {
    claims["cnf"] = jose::make_cnf_kid(as_string_view(request.pop.kid));
  }
  jose::jws_sign_options options;
  options.typ = "at+jwt";  // RFC 9068 2.1
  auto signed_jwt = jose::sign_jwt(claims, signer.key, options);
  if (!signed_jwt) return unexpected(mint_error::signing_failed);
  minted_token out;
  out.format = token_format::jwt;
  out.text = std::move(*signed_jwt);
  out.bytes = to_bytes(out.text);
  return out;
}

result<minted_token, mint_error> mint_cwt(const mint_request& request,
                                          const resource_server_record& server,
                                          const signing_key& signer, random_source& random) {
  cose::claims claims;
  claims.iss = request.issuer;
  claims.sub = request.client_id;
  claims.aud = {server.audience};
  claims.iat = request.issued_at;
  claims.exp = request.expires_at;
  claims.cti = to_bytes(request.token_id);
  // RFC 9431 2.3: in a CWT the scope is the AIF in CBOR.
  claims.scope = request.scope.to_cbor_value();
  claims.ace_profile = cose::ace_profile_mqtt_tls;
  if (request.cnonce) claims.cnonce = *request.cnonce;
  if (server.use_exi)
    claims.exi = static_cast<std::uint64_t>(request.expires_at - request.issued_at);
  cose::confirmation cnf;
  if (request.pop.symmetric()) {
    // RFC 8747 3.3: Encrypted_COSE_Key, a COSE_Encrypt0 under a key shared with the RS.
    auto recipient = encryption_key_of(server);
    if (!recipient || recipient->type() != crypto::key_type::symmetric) {
      return unexpected(mint_error::no_encryption_key);
    }
    auto cose_key = cose::key_to_cose(*request.pop.key, true);
    if (!cose_key) return unexpected(mint_error::unsupported_key);
    const auto alg = recipient->symmetric_bytes().size() == 32 ? crypto::algorithm::a256gcm
                                                               : crypto::algorithm::a128gcm;
    auto encrypted = cose::encrypt0_value(alg, *recipient, cbor::encode(*cose_key), random);
    if (!encrypted) return unexpected(mint_error::no_encryption_key);
    cnf.encrypted_cose_key = std::move(*encrypted);
  } else if (request.pop.key) {
    auto cose_key = cose::key_to_cose(*request.pop.key, false);
    if (!cose_key) return unexpected(mint_error::unsupported_key);
    cnf.cose_key = std::move(*cose_key);
  } else {
    cnf.kid = request.pop.kid;
  }
  claims.cnf = std::move(cnf);
  auto signed_token = cose::sign1(signer.key.bound_algorithm().value_or(crypto::algorithm::eddsa),
                                  signer.key, cose::encode_claims(claims));
  if (!signed_token) return unexpected(mint_error::signing_failed);
  minted_token out;
  out.format = token_format::cwt;
  out.bytes = cose::add_cwt_tag(*signed_token);
  out.text = base64url_encode(out.bytes);
  return out;
}

}  // namespace

std::string token_hash(byte_view token_bytes) {
  return base64url_encode(crypto::sha256(token_bytes));
}

std::string pop_cnf_json(const pop_key& pop) {
  json::object cnf;
  if (pop.key) {
    auto jwk = jose::to_jwk(*pop.key, pop.symmetric() ? jose::jwk_content::with_private
                                                      : jose::jwk_content::public_only);
    if (jwk) cnf["jwk"] = std::move(*jwk);
  } else {
    cnf["kid"] = std::string(as_string_view(pop.kid));
  }
  return json::serialize(cnf);
}

std::optional<cbor::value> pop_cnf_cbor(const pop_key& pop) {
  auto cnf = cbor::value::map();
  if (pop.key) {
    auto cose_key = cose::key_to_cose(*pop.key, pop.symmetric());
    if (!cose_key) return std::nullopt;
    cnf.insert(1, std::move(*cose_key));
  } else {
    cnf.insert(3, cbor::value::bytes(pop.kid));
  }
  return cnf;
}

std::optional<cbor::value> cnf_json_to_cbor(std::string_view cnf_json) {
  boost::system::error_code ec;
  auto parsed = json::parse(json::string_view(cnf_json.data(), cnf_json.size()), ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto& object = parsed.get_object();
  pop_key pop;
  if (const auto* jwk = object.if_contains("jwk"); jwk != nullptr && jwk->is_object()) {
    auto k = jose::parse_jwk(jwk->get_object());
    if (!k) return std::nullopt;
    pop.key = std::move(*k);
  } else if (const auto* kid = object.if_contains("kid"); kid != nullptr && kid->is_string()) {
    pop.kid = to_bytes(std::string_view(kid->get_string().data(), kid->get_string().size()));
  } else {
    return std::nullopt;
  }
  return pop_cnf_cbor(pop);
}

result<minted_token, mint_error> mint_token(const mint_request& request,
                                            const resource_server_record& server,
                                            const signing_key& signer, random_source& random) {
  result<minted_token, mint_error> out = unexpected(mint_error::signing_failed);
  switch (server.format) {
    case token_format::jwt:
      out = mint_jwt(request, server, signer, random);
      break;
    case token_format::cwt:
      out = mint_cwt(request, server, signer, random);
      break;
    case token_format::reference: {
      minted_token reference;
      reference.format = token_format::reference;
      reference.text = base64url_encode(random.bytes(reference_size));
      reference.bytes = to_bytes(reference.text);
      out = std::move(reference);
      break;
    }
  }
  if (!out) return out;
  out->hash = token_hash(out->bytes);
  out->cnf_json = pop_cnf_json(request.pop);
  if (server.format != token_format::reference) out->signing_kid = signer.record.kid;
  return out;
}

}  // namespace acemq::as
