// Interop helper driven by tests/token/interop/cose_interop.mjs (node's cbor + crypto are the
// independent peer):
//   interop_tool make eddsa|es256          -> prints {"token": hex, "public_key_pem": "..."}
//   interop_tool verify eddsa|hmac TOKEN_HEX KEY_HEX
//       -> prints "ok iss=<iss> sub=<sub>" (exit 0) or "refused <reason code>" (exit 1)
// Ed25519 keys are passed raw (32-byte public key), HMAC keys as the secret.

#include <cstdio>
#include <string>
#include <string_view>

#include "acemq/token/cose/cose_message.hpp"
#include "acemq/token/cose/cwt.hpp"

using namespace acemq;
using namespace acemq::token;

namespace {

std::string json_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out;
}

int make(std::string_view kind) {
  const bool eddsa = kind == "eddsa";
  crypto::key key = eddsa ? crypto::key::generate_ed25519() : crypto::key::generate_p256();
  key.set_kid(to_bytes(eddsa ? "acemq-ed25519" : "acemq-es256"));
  cose::claims claims;
  claims.iss = "acemq-as";
  claims.sub = "client-7";
  claims.aud = {"acemq-broker"};
  claims.exp = 2000000000;
  claims.iat = 1700000000;
  claims.cti = byte_vector{0x0b, 0x71};
  claims.ace_profile = cose::ace_profile_mqtt_tls;
  auto signed_token = cose::sign1(eddsa ? crypto::algorithm::eddsa : crypto::algorithm::es256, key,
                                  cose::encode_claims(claims));
  auto pem = key.public_pem();
  if (!signed_token || !pem) {
    std::fprintf(stderr, "cannot build the token\n");
    return 2;
  }
  const byte_vector token = cose::add_cwt_tag(*signed_token);
  std::printf("{\"token\": \"%s\", \"public_key_pem\": \"%s\"}\n", to_hex(token).c_str(),
              json_escape(*pem).c_str());
  return 0;
}

int verify(std::string_view kind, std::string_view token_hex, std::string_view key_hex) {
  byte_vector token;
  byte_vector key_bytes;
  if (!from_hex(token_hex, token) || !from_hex(key_hex, key_bytes)) {
    std::fprintf(stderr, "bad hex\n");
    return 2;
  }
  auto key = kind == "eddsa" ? crypto::key::ed25519_from_public(key_bytes)
                             : crypto::key::symmetric_from_bytes(key_bytes);
  if (!key) {
    std::printf("refused %d\n", static_cast<int>(key.error()));
    return 1;
  }
  const crypto::key trusted = *key;
  cose::key_lookup lookup = [&trusted](const cose::message&) -> result<crypto::key, failure> {
    return trusted;
  };
  auto verified = cose::verify_cwt(token, lookup);
  if (!verified) {
    std::printf("refused %d\n", static_cast<int>(verified.error()));
    return 1;
  }
  const auto& claims = verified->claims_set;
  std::printf("ok iss=%s sub=%s\n", claims.iss.value_or("").c_str(),
              claims.sub.value_or("").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view command = argc > 1 ? argv[1] : "";
  if (command == "make" && argc == 3) return make(argv[2]);
  if (command == "verify" && argc == 5) return verify(argv[2], argv[3], argv[4]);
  std::fprintf(stderr, "usage: %s make eddsa|es256 | verify eddsa|hmac TOKEN_HEX KEY_HEX\n",
               argc > 0 ? argv[0] : "interop_tool");
  return 2;
}
