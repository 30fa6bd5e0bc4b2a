// Token benchmarks (a program, not a test: conventions 10). Prints sign/verify rates for the JWS
// and COSE algorithms, the AIF checks and the whole verify() path. The `primitive/...` cases are
// the ones bench/token-vs-openssl sets against `openssl speed`.

#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "acemq/common/base64.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cose_message.hpp"
#include "acemq/token/cose/cwt.hpp"
#include "acemq/token/crypto/sign.hpp"
#include "acemq/token/jose/jws.hpp"
#include "acemq/token/jose/jwt.hpp"
#include "acemq/token/scope/aif.hpp"
#include "acemq/token/verify.hpp"

namespace {

using namespace acemq;
using namespace acemq::token;

constexpr std::int64_t bench_now = 1'700'000'000;

crypto::key key_for(crypto::algorithm alg) {
  static deterministic_random random(1);
  switch (alg) {
    case crypto::algorithm::hs256:
      return crypto::key::generate_symmetric(32, random);
    case crypto::algorithm::eddsa:
      return crypto::key::generate_ed25519();
    case crypto::algorithm::es256:
      return crypto::key::generate_p256();
    default:
      return crypto::key::generate_rsa(2048);
  }
}

const byte_vector& sample_payload() {
  static const byte_vector payload(64, 0x42);  // the size of an exporter PoP input and then some
  return payload;
}

// --- raw primitives (compared with openssl speed) ----------------------------------------------

void primitive_sign(benchmark::State& state, crypto::algorithm alg) {
  const crypto::key k = key_for(alg);
  for (auto _ : state)
    benchmark::DoNotOptimize(crypto::sign(alg, k, sample_payload()));
}

void primitive_verify(benchmark::State& state, crypto::algorithm alg) {
  const crypto::key k = key_for(alg);
  const byte_vector signature = *crypto::sign(alg, k, sample_payload());
  const crypto::key verifier = alg == crypto::algorithm::hs256 ? k : *k.public_key();
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::verify(alg, verifier, sample_payload(), signature));
  }
}

BENCHMARK_CAPTURE(primitive_sign, hmac_sha256, crypto::algorithm::hs256)
    ->Name("primitive/hmac_sha256");
BENCHMARK_CAPTURE(primitive_verify, hmac_sha256, crypto::algorithm::hs256)
    ->Name("primitive/hmac_sha256_verify");
BENCHMARK_CAPTURE(primitive_sign, ed25519, crypto::algorithm::eddsa)
    ->Name("primitive/ed25519_sign");
BENCHMARK_CAPTURE(primitive_verify, ed25519, crypto::algorithm::eddsa)
    ->Name("primitive/ed25519_verify");
BENCHMARK_CAPTURE(primitive_sign, p256, crypto::algorithm::es256)->Name("primitive/p256_sign");
BENCHMARK_CAPTURE(primitive_verify, p256, crypto::algorithm::es256)->Name("primitive/p256_verify");
BENCHMARK_CAPTURE(primitive_sign, rsa2048, crypto::algorithm::rs256)
    ->Name("primitive/rsa2048_sign");
BENCHMARK_CAPTURE(primitive_verify, rsa2048, crypto::algorithm::rs256)
    ->Name("primitive/rsa2048_verify");

// --- JWS ---------------------------------------------------------------------------------------

void jws_sign(benchmark::State& state, crypto::algorithm alg) {
  crypto::key k = key_for(alg);
  jose::jws_sign_options options;
  options.alg = alg;
  for (auto _ : state)
    benchmark::DoNotOptimize(jose::sign_jws(k, sample_payload(), options));
}

void jws_verify(benchmark::State& state, crypto::algorithm alg) {
  crypto::key k = key_for(alg);
  jose::jws_sign_options options;
  options.alg = alg;
  const std::string compact = *jose::sign_jws(k, sample_payload(), options);
  const crypto::key verifier = alg == crypto::algorithm::hs256 ? k : *k.public_key();
  for (auto _ : state)
    benchmark::DoNotOptimize(jose::verify_jws(compact, verifier));
}

BENCHMARK_CAPTURE(jws_sign, HS256, crypto::algorithm::hs256)->Name("jws/HS256_sign");
BENCHMARK_CAPTURE(jws_verify, HS256, crypto::algorithm::hs256)->Name("jws/HS256_verify");
BENCHMARK_CAPTURE(jws_sign, EdDSA, crypto::algorithm::eddsa)->Name("jws/EdDSA_sign");
BENCHMARK_CAPTURE(jws_verify, EdDSA, crypto::algorithm::eddsa)->Name("jws/EdDSA_verify");
BENCHMARK_CAPTURE(jws_sign, ES256, crypto::algorithm::es256)->Name("jws/ES256_sign");
BENCHMARK_CAPTURE(jws_verify, ES256, crypto::algorithm::es256)->Name("jws/ES256_verify");
BENCHMARK_CAPTURE(jws_sign, RS256, crypto::algorithm::rs256)->Name("jws/RS256_sign");
BENCHMARK_CAPTURE(jws_verify, RS256, crypto::algorithm::rs256)->Name("jws/RS256_verify");
BENCHMARK_CAPTURE(jws_sign, PS256, crypto::algorithm::ps256)->Name("jws/PS256_sign");
BENCHMARK_CAPTURE(jws_verify, PS256, crypto::algorithm::ps256)->Name("jws/PS256_verify");

// --- COSE --------------------------------------------------------------------------------------

void cose_sign1(benchmark::State& state) {
  const crypto::key k = key_for(crypto::algorithm::eddsa);
  for (auto _ : state) {
    benchmark::DoNotOptimize(cose::sign1(crypto::algorithm::eddsa, k, sample_payload()));
  }
}
void cose_sign1_verify(benchmark::State& state) {
  const crypto::key k = key_for(crypto::algorithm::eddsa);
  const byte_vector token = *cose::sign1(crypto::algorithm::eddsa, k, sample_payload());
  const crypto::key verifier = *k.public_key();
  for (auto _ : state) {
    auto message = cose::parse(token);
    benchmark::DoNotOptimize(cose::verify(*message, verifier));
  }
}
void cose_mac0(benchmark::State& state) {
  const crypto::key k = key_for(crypto::algorithm::hs256);
  for (auto _ : state) {
    benchmark::DoNotOptimize(cose::mac0(crypto::algorithm::hs256, k, sample_payload()));
  }
}
void cose_mac0_verify(benchmark::State& state) {
  const crypto::key k = key_for(crypto::algorithm::hs256);
  const byte_vector token = *cose::mac0(crypto::algorithm::hs256, k, sample_payload());
  for (auto _ : state) {
    auto message = cose::parse(token);
    benchmark::DoNotOptimize(cose::verify(*message, k));
  }
}
BENCHMARK(cose_sign1)->Name("cose/Sign1_EdDSA_sign");
BENCHMARK(cose_sign1_verify)->Name("cose/Sign1_EdDSA_verify");
BENCHMARK(cose_mac0)->Name("cose/Mac0_HS256_mac");
BENCHMARK(cose_mac0_verify)->Name("cose/Mac0_HS256_verify");

// --- AIF ---------------------------------------------------------------------------------------

scope::aif_scope bench_scope() {
  std::vector<scope::grant> grants;
  for (int i = 0; i < 32; ++i) {
    grants.push_back({"site/" + std::to_string(i) + "/+/telemetry", true, false});
    grants.push_back({"site/" + std::to_string(i) + "/commands/#", false, true});
  }
  return *scope::aif_scope::from_grants(grants);
}

void aif_publish(benchmark::State& state) {
  const scope::aif_scope s = bench_scope();
  for (auto _ : state)
    benchmark::DoNotOptimize(s.allows_publish("site/31/device-7/telemetry"));
}
void aif_subscribe(benchmark::State& state) {
  const scope::aif_scope s = bench_scope();
  for (auto _ : state)
    benchmark::DoNotOptimize(s.allows_subscribe("site/31/commands/+/reboot"));
}
void aif_delivery(benchmark::State& state) {
  const scope::aif_scope s = bench_scope();
  for (auto _ : state)
    benchmark::DoNotOptimize(s.allows_delivery("site/31/commands/a/b"));
}
BENCHMARK(aif_publish)->Name("aif/allows_publish_64_entries");
BENCHMARK(aif_subscribe)->Name("aif/allows_subscribe_64_entries");
BENCHMARK(aif_delivery)->Name("aif/allows_delivery_64_entries");

// --- the whole verify() ------------------------------------------------------------------------

struct verify_setup {
  crypto::key as_key = crypto::key::generate_ed25519();
  crypto::key pop_key = crypto::key::generate_ed25519();
  trusted_keys keys;
  expectations expected;
  verify_setup() {
    keys.issuer_keys = {*as_key.public_key()};
    expected.audience = "broker";
    expected.issuer = "as";
  }
};

void full_verify_jwt(benchmark::State& state) {
  verify_setup setup;
  boost::json::object c;
  c["iss"] = "as";
  c["aud"] = "broker";
  c["iat"] = bench_now;
  c["exp"] = bench_now + 3600;
  c["scope"] = bench_scope().to_jwt_text();
  c["cnf"] = *jose::make_cnf_jwk(*setup.pop_key.public_key());
  const std::string token = *jose::sign_jwt(c, setup.as_key);
  for (auto _ : state) {
    benchmark::DoNotOptimize(verify(as_bytes(token), setup.keys, setup.expected, bench_now));
  }
}
void full_verify_cwt(benchmark::State& state) {
  verify_setup setup;
  cose::claims c;
  c.iss = "as";
  c.aud = {"broker"};
  c.iat = bench_now;
  c.exp = bench_now + 3600;
  c.scope = bench_scope().to_cbor_value();
  cose::confirmation cnf;
  cnf.cose_key = *cose::key_to_cose(*setup.pop_key.public_key());
  c.cnf = cnf;
  const byte_vector token =
      *cose::sign1(crypto::algorithm::eddsa, setup.as_key, cose::encode_claims(c));
  for (auto _ : state) {
    benchmark::DoNotOptimize(verify(token, setup.keys, setup.expected, bench_now));
  }
}
BENCHMARK(full_verify_jwt)->Name("verify/JWT_EdDSA_64_entry_scope");
BENCHMARK(full_verify_cwt)->Name("verify/CWT_Sign1_EdDSA_64_entry_scope");

}  // namespace

BENCHMARK_MAIN();
