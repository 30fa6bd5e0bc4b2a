#include "token_command.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "acemq/common/base64.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cose_message.hpp"
#include "acemq/token/cose/cwt.hpp"
#include "acemq/token/detail/claims_json.hpp"
#include "acemq/token/jose/json.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jwt.hpp"
#include "acemq/token/scope/aif.hpp"
#include "acemq/token/verify.hpp"

namespace acemq::apps {
namespace {

namespace crypto = token::crypto;
namespace cose = token::cose;
namespace jose = token::jose;

// Configuration and I/O errors in a command-line tool are start-up errors: exceptions.
[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error(message);
}

template <typename T>
T require(result<T, token::failure> value, const std::string& what) {
  if (!value) fail(what + ": " + std::string(token::to_string(value.error())));
  return std::move(value).value();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("cannot write " + path);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) fail("cannot write " + path);
}

std::string extension_of(const std::string& path) {
  return std::filesystem::path(path).extension().string();
}

// Key files: PEM (PKCS#8 / SPKI), JWK (JSON) or COSE_Key (CBOR), by extension or content.
crypto::key load_key(const std::string& path) {
  const std::string content = read_file(path);
  const std::string ext = extension_of(path);
  if (ext == ".pem" || content.rfind("-----BEGIN", 0) == 0) {
    return require(crypto::key::from_pem(content), "PEM key " + path);
  }
  if (ext == ".jwk" || ext == ".json" || (!content.empty() && content.front() == '{')) {
    return require(jose::parse_jwk(content), "JWK " + path);
  }
  return require(cose::key_from_cose(as_bytes(content)), "COSE_Key " + path);
}

std::string format_for(const std::string& path, const std::string& explicit_format) {
  if (!explicit_format.empty()) return explicit_format;
  const std::string ext = extension_of(path);
  if (ext == ".pem") return "pem";
  if (ext == ".jwk" || ext == ".json") return "jwk";
  if (ext == ".cose" || ext == ".cbor") return "cose";
  fail("cannot tell the key format of " + path + " (use .pem, .jwk or .cose, or --format)");
}

std::string serialize_key(const crypto::key& k, const std::string& format, bool with_private) {
  if (format == "pem") {
    if (k.type() == crypto::key_type::symmetric) fail("symmetric keys have no PEM form");
    return require(with_private ? k.private_pem() : k.public_pem(), "PEM");
  }
  if (format == "jwk") {
    auto jwk = require(jose::to_jwk(k, with_private ? jose::jwk_content::with_private
                                                    : jose::jwk_content::public_only),
                       "JWK");
    return jose::serialize(jwk) + "\n";
  }
  if (format == "cose") {
    auto cose_key = require(cose::key_to_cose(k, with_private), "COSE_Key");
    const byte_vector bytes = token::cbor::encode(cose_key);
    return std::string(as_string_view(bytes));
  }
  fail("unknown key format " + format + " (pem, jwk or cose)");
}

// A token argument: "-" for stdin; JWT text; a CWT as base64url, hex, or raw bytes on stdin.
byte_vector read_token(const std::string& argument) {
  std::string text = argument == "-" ? std::string(std::istreambuf_iterator<char>(std::cin),
                                                   std::istreambuf_iterator<char>())
                                     : argument;
  if (auto raw = token::detect_format(as_bytes(text)); raw == token::token_format::cwt) {
    return to_bytes(text);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.erase(0, 1);
  if (token::detect_format(as_bytes(text)) == token::token_format::jwt) return to_bytes(text);
  if (auto decoded = base64url_decode(text)) return std::move(*decoded);
  byte_vector hex;
  if (from_hex(text, hex)) return hex;
  return to_bytes(text);
}

// --- keygen ----------------------------------------------------------------------------------

struct keygen_options {
  std::string type = "ed25519";
  std::string out;
  std::string public_out;
  std::string format;
  std::string kid;
  int rsa_bits = 2048;
  std::size_t symmetric_size = 32;
};

int run_keygen(const keygen_options& options) {
  crypto::key k = [&] {
    if (options.type == "ed25519") return crypto::key::generate_ed25519();
    if (options.type == "p256") return crypto::key::generate_p256();
    if (options.type == "rsa") return crypto::key::generate_rsa(options.rsa_bits);
    if (options.type == "symmetric") {
      return crypto::key::generate_symmetric(options.symmetric_size, system_random::instance());
    }
    fail("unknown key type " + options.type + " (ed25519, p256, rsa or symmetric)");
  }();
  if (!options.kid.empty()) k.set_kid(to_bytes(options.kid));
  write_file(options.out, serialize_key(k, format_for(options.out, options.format), true));
  if (!options.public_out.empty()) {
    if (k.type() == crypto::key_type::symmetric) fail("a symmetric key has no public half");
    write_file(options.public_out,
               serialize_key(k, format_for(options.public_out, options.format), false));
  }
  std::cerr << "wrote " << options.type << " key to " << options.out << '\n';
  return EXIT_SUCCESS;
}

// --- sign ------------------------------------------------------------------------------------

struct sign_options {
  std::string claims_path;
  std::string key_path;
  std::string format = "jwt";
  std::string alg;
  std::string encrypt_cnf_to;
  std::string out;
};

const boost::json::object& object_member(const boost::json::object& parent, std::string_view name) {
  const auto* member = parent.if_contains(name);
  if (member == nullptr || !member->is_object()) fail(std::string(name) + " must be an object");
  return member->get_object();
}

// RFC 9431 2.3: the JWT scope is base64url of the JSON AIF; accept an array in the claims file.
void normalise_jwt_scope(boost::json::object& claims) {
  if (auto* scope = claims.if_contains("scope"); scope != nullptr && scope->is_array()) {
    auto parsed = require(token::scope::aif_scope::from_json_value(*scope), "scope");
    *scope = parsed.to_jwt_text();
  }
}

std::string sign_jwt(boost::json::object claims, const crypto::key& signing_key,
                     const sign_options& options) {
  normalise_jwt_scope(claims);
  if (!options.encrypt_cnf_to.empty()) {
    // RFC 9431 2.1: a symmetric PoP key in a JWT must be encrypted (cnf "jwe").
    const auto& cnf = object_member(claims, "cnf");
    auto pop_key = require(jose::parse_jwk(object_member(cnf, "jwk")), "cnf jwk");
    const crypto::key broker_key = load_key(options.encrypt_cnf_to);
    jose::jwe_encrypt_options jwe;
    if (broker_key.type() == crypto::key_type::ec_p256) {
      jwe.key_management = crypto::algorithm::ecdh_es;
    } else if (broker_key.type() == crypto::key_type::symmetric &&
               broker_key.symmetric_bytes().size() == 32) {
      jwe.key_management = crypto::algorithm::a256kw;
    }
    claims["cnf"] =
        require(jose::make_cnf_jwe(pop_key, broker_key, jwe, system_random::instance()), "cnf jwe");
  }
  jose::jws_sign_options jws;
  if (!options.alg.empty()) {
    auto alg = crypto::algorithm_from_jose_name(options.alg);
    if (!alg) fail("unknown JOSE algorithm " + options.alg);
    jws.alg = *alg;
  }
  return require(jose::sign_jwt(claims, signing_key, jws), "signing");
}

result<std::int64_t, token::failure> json_int(const boost::json::value& value) {
  if (value.is_int64()) return value.get_int64();
  return unexpected(token::failure::bad_encoding);
}

cose::claims cwt_claims_from_json(const boost::json::object& json, const sign_options& options) {
  cose::claims c;
  for (const auto& [name, value] : json) {
    if (name == "iss") {
      c.iss = std::string(value.as_string());
    } else if (name == "sub") {
      c.sub = std::string(value.as_string());
    } else if (name == "aud") {
      if (value.is_string()) {
        c.aud.emplace_back(value.as_string());
      } else {
        for (const auto& a : value.as_array())
          c.aud.emplace_back(a.as_string());
      }
    } else if (name == "exp") {
      c.exp = require(json_int(value), "exp");
    } else if (name == "nbf") {
      c.nbf = require(json_int(value), "nbf");
    } else if (name == "iat") {
      c.iat = require(json_int(value), "iat");
    } else if (name == "cti" || name == "jti") {
      c.cti = to_bytes(std::string_view(value.as_string()));
    } else if (name == "scope") {
      auto parsed =
          value.is_array()
              ? require(token::scope::aif_scope::from_json_value(value), "scope")
              : require(token::scope::aif_scope::from_jwt_text(value.as_string()), "scope");
      c.scope = parsed.to_cbor_value();
    } else if (name == "ace_profile") {
      if (value.as_string() != token::mqtt_tls_profile) fail("ace_profile must be mqtt_tls");
      c.ace_profile = cose::ace_profile_mqtt_tls;
    } else if (name == "cnonce") {
      auto decoded = base64url_decode(value.as_string());
      if (!decoded) fail("cnonce must be base64url");
      c.cnonce = std::move(*decoded);
    } else if (name == "exi") {
      c.exi = static_cast<std::uint64_t>(require(json_int(value), "exi"));
    } else if (name == "cnf") {
      const auto& cnf = value.as_object();
      cose::confirmation confirmation;
      if (const auto* kid = cnf.if_contains("kid")) {
        confirmation.kid = to_bytes(std::string_view(kid->as_string()));
      } else {
        auto pop_key = require(jose::parse_jwk(object_member(cnf, "jwk")), "cnf jwk");
        const bool secret = pop_key.type() == crypto::key_type::symmetric;
        auto cose_key = require(cose::key_to_cose(pop_key, secret), "cnf COSE_Key");
        if (!options.encrypt_cnf_to.empty()) {
          // RFC 8747 3.3 / RFC 9431 2.1: Encrypted_COSE_Key, a COSE_Encrypt0 to the broker.
          const crypto::key broker_key = load_key(options.encrypt_cnf_to);
          const auto alg = broker_key.symmetric_bytes().size() == 32 ? crypto::algorithm::a256gcm
                                                                     : crypto::algorithm::a128gcm;
          confirmation.encrypted_cose_key =
              require(cose::encrypt0_value(alg, broker_key, token::cbor::encode(cose_key),
                                           system_random::instance()),
                      "Encrypted_COSE_Key");
        } else {
          confirmation.cose_key = std::move(cose_key);
        }
      }
      c.cnf = std::move(confirmation);
    } else {
      fail("claim " + std::string(name) + " has no CWT mapping in this tool");
    }
  }
  return c;
}

std::string sign_cwt(const boost::json::object& json, const crypto::key& signing_key,
                     const sign_options& options) {
  const cose::claims c = cwt_claims_from_json(json, options);
  const byte_vector payload = cose::encode_claims(c);
  byte_vector token;
  if (signing_key.type() == crypto::key_type::symmetric) {
    token = require(cose::mac0(crypto::algorithm::hs256, signing_key, payload), "COSE_Mac0");
  } else {
    crypto::algorithm alg = jose::default_signature_algorithm(signing_key);
    if (!options.alg.empty()) {
      auto named = crypto::algorithm_from_jose_name(options.alg);
      if (!named) fail("unknown algorithm " + options.alg);
      alg = *named;
    }
    token = require(cose::sign1(alg, signing_key, payload), "COSE_Sign1");
  }
  return base64url_encode(token);
}

int run_sign(const sign_options& options) {
  auto claims = require(jose::parse_object(read_file(options.claims_path)), "claims file");
  const crypto::key signing_key = load_key(options.key_path);
  std::string token;
  if (options.format == "jwt") {
    token = sign_jwt(std::move(claims), signing_key, options);
  } else if (options.format == "cwt") {
    token = sign_cwt(claims, signing_key, options);
  } else {
    fail("unknown token format " + options.format + " (jwt or cwt)");
  }
  if (options.out.empty()) {
    std::cout << token << '\n';
  } else {
    write_file(options.out, token + "\n");
  }
  return EXIT_SUCCESS;
}

// --- inspect ---------------------------------------------------------------------------------

void print_banner() {
  std::cout << "=====================================================================\n"
               "  NOT VERIFIED: decoded only. No signature, MAC or claim was checked.\n"
               "=====================================================================\n";
}

int run_inspect(const std::string& argument) {
  const byte_vector token = read_token(argument);
  print_banner();
  const auto format = token::detect_format(token);
  if (!format) fail("neither a JWT nor a CWT");
  if (*format == token::token_format::jwt) {
    const std::string_view compact = as_string_view(token);
    const auto first_dot = compact.find('.');
    auto header = require(jose::decode_object(compact.substr(0, first_dot)), "JOSE header");
    std::cout << "format: " << (jose::looks_like_jwe(compact) ? "JWE" : "JWS") << " (JWT)\n";
    std::cout << "header: " << jose::serialize(header) << '\n';
    if (!jose::looks_like_jwe(compact)) {
      const auto second_dot = compact.find('.', first_dot + 1);
      auto payload =
          require(jose::decode_object(compact.substr(first_dot + 1, second_dot - first_dot - 1)),
                  "JWT claims");
      std::cout << "claims: " << jose::serialize(payload) << '\n';
    } else {
      std::cout << "claims: (encrypted)\n";
    }
    return EXIT_SUCCESS;
  }
  auto item = require(token::cbor::decode(token), "CBOR");
  std::cout << "format: CWT (COSE)\n";
  std::cout << "cbor: " << boost::json::serialize(token::detail::cbor_to_json(item)) << '\n';
  if (item.is_tag() && item.tag_number() == cose::cwt_tag) item = item.tagged();
  if (auto message = cose::parse(item, std::nullopt)) {
    std::cout << "protected: "
              << boost::json::serialize(token::detail::cbor_to_json(message->header.protected_map))
              << '\n';
    if (message->type != cose::message_type::encrypt0) {
      if (auto claims = token::cbor::decode(message->content)) {
        std::cout << "claims: " << boost::json::serialize(token::detail::cbor_to_json(*claims))
                  << '\n';
      }
    } else {
      std::cout << "claims: (encrypted)\n";
    }
  }
  return EXIT_SUCCESS;
}

// --- verify ----------------------------------------------------------------------------------

struct verify_options {
  std::string token;
  std::vector<std::string> keys;
  std::vector<std::string> decryption_keys;
  std::string audience;
  std::string issuer;
  std::int64_t now = 0;
  std::int64_t leeway = 60;
  std::int64_t max_lifetime = 24 * 60 * 60;
  bool no_cnf = false;
  std::string cnonce;
};

int run_verify(const verify_options& options) {
  token::trusted_keys keys;
  for (const auto& path : options.keys)
    keys.issuer_keys.push_back(load_key(path));
  for (const auto& path : options.decryption_keys)
    keys.decryption_keys.push_back(load_key(path));
  token::expectations expected;
  expected.audience = options.audience;
  expected.issuer = options.issuer;
  expected.leeway_seconds = options.leeway;
  expected.max_lifetime_seconds = options.max_lifetime;
  expected.require_cnf = !options.no_cnf;
  if (!options.cnonce.empty()) {
    auto decoded = base64url_decode(options.cnonce);
    if (!decoded) fail("--cnonce must be base64url");
    expected.expected_cnonce = std::move(*decoded);
  }
  const std::int64_t now = options.now != 0 ? options.now : system_clock::instance().unix_seconds();
  auto verified = token::verify(read_token(options.token), keys, expected, now);
  if (!verified) {
    std::cerr << "verification failed: " << token::to_string(verified.error()) << '\n';
    return EXIT_FAILURE;
  }
  std::cout << verified->json << '\n';
  return EXIT_SUCCESS;
}

}  // namespace

void add_token_command(CLI::App& app, int& exit_code) {
  auto* token_app = app.add_subcommand("token", "ACE access tokens: keys, signing, inspection");
  token_app->require_subcommand(1);

  auto keygen = std::make_shared<keygen_options>();
  auto* keygen_app = token_app->add_subcommand("keygen", "generate a key");
  keygen_app->add_option("--type", keygen->type, "ed25519 | p256 | rsa | symmetric")
      ->check(CLI::IsMember({"ed25519", "p256", "rsa", "symmetric"}));
  keygen_app->add_option("--out", keygen->out, "key file (.pem, .jwk or .cose)")->required();
  keygen_app->add_option("--public-out", keygen->public_out, "also write the public key here");
  keygen_app->add_option("--format", keygen->format, "pem | jwk | cose (default: by extension)")
      ->check(CLI::IsMember({"pem", "jwk", "cose"}));
  keygen_app->add_option("--kid", keygen->kid, "key identifier");
  keygen_app->add_option("--bits", keygen->rsa_bits, "RSA modulus size")
      ->check(CLI::Range(2048, 8192));
  keygen_app->add_option("--size", keygen->symmetric_size, "symmetric key bytes")
      ->check(CLI::Range(16, 64));
  keygen_app->callback([keygen, &exit_code] { exit_code = run_keygen(*keygen); });

  auto sign = std::make_shared<sign_options>();
  auto* sign_app = token_app->add_subcommand("sign", "sign a claims set (JSON) into a JWT or CWT");
  sign_app->add_option("--claims", sign->claims_path, "claims JSON file")->required();
  sign_app->add_option("--key", sign->key_path, "signing key (the AS key)")->required();
  sign_app->add_option("--format", sign->format, "jwt | cwt")->check(CLI::IsMember({"jwt", "cwt"}));
  sign_app->add_option("--alg", sign->alg, "JOSE algorithm name (default: decided by the key)");
  sign_app->add_option("--encrypt-cnf-to", sign->encrypt_cnf_to,
                       "encrypt the cnf key to this broker key (JWT jwe / CWT Encrypted_COSE_Key)");
  sign_app->add_option("--out", sign->out, "write the token here instead of stdout");
  sign_app->callback([sign, &exit_code] { exit_code = run_sign(*sign); });

  auto inspect_token = std::make_shared<std::string>();
  auto* inspect_app = token_app->add_subcommand("inspect", "decode a token WITHOUT verifying it");
  inspect_app->add_option("token", *inspect_token, "the token, or - for stdin")->required();
  inspect_app->callback([inspect_token, &exit_code] { exit_code = run_inspect(*inspect_token); });

  auto verify = std::make_shared<verify_options>();
  auto* verify_app = token_app->add_subcommand("verify", "verify a token as the broker would");
  verify_app->add_option("token", verify->token, "the token, or - for stdin")->required();
  verify_app->add_option("--key", verify->keys, "trusted AS key (repeatable)")->required();
  verify_app->add_option("--decrypt-key", verify->decryption_keys,
                         "broker key for encrypted tokens or cnf (repeatable)");
  verify_app->add_option("--audience", verify->audience, "this broker's audience")->required();
  verify_app->add_option("--issuer", verify->issuer, "required issuer (default: any)");
  verify_app->add_option("--now", verify->now, "current time, seconds since the epoch");
  verify_app->add_option("--leeway", verify->leeway, "clock skew tolerated, seconds");
  verify_app->add_option("--max-lifetime", verify->max_lifetime, "longest lifetime, seconds");
  verify_app->add_flag("--no-require-cnf", verify->no_cnf, "accept tokens without cnf");
  verify_app->add_option("--cnonce", verify->cnonce, "expected cnonce (base64url)");
  verify_app->callback([verify, &exit_code] { exit_code = run_verify(*verify); });
}

}  // namespace acemq::apps
