#pragma once
// Shared fixture of the ACE provider tests: an AS key, PoP keys of each kind, token minting,
// a fake TLS session with fixed exporter bytes, an in-memory AS client and synchronous helpers.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acemq/ace/authenticator.hpp"
#include "acemq/ace/authz_info.hpp"
#include "acemq/ace/discovery.hpp"
#include "acemq/ace/revocation.hpp"
#include "acemq/ace/token_store.hpp"
#include "acemq/ace/token_validator.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jwt.hpp"
#include "acemq/token/pop/auth_data.hpp"
#include "acemq/token/pop/proof.hpp"

namespace acemq::ace::testing {

namespace crypto = token::crypto;
namespace jose = token::jose;
namespace pop = token::pop;

inline constexpr std::string_view default_scope =
    R"([["sensors/+/temp",["pub"]],["cmd/#",["sub"]],["will/me",["pub"]]])";

/// A TLS session whose exporter returns fixed bytes; records how it was asked.
class fake_tls final : public broker::tls_facts {
 public:
  explicit fake_tls(std::uint8_t fill, std::optional<std::string> psk = std::nullopt)
      : exporter_(pop::exporter_length, fill), psk_(std::move(psk)) {}
  std::optional<byte_vector> export_keying_material(std::string_view label, byte_view context,
                                                    bool use_context,
                                                    std::size_t length) const override {
    // RFC 9431 2.2.4.2.1: this label, an empty context that is present, 32 bytes.
    if (label != pop::exporter_label || !context.empty() || !use_context || length != 32) {
      return std::nullopt;
    }
    return exporter_;
  }
  std::optional<std::string> peer_certificate_pem() const override { return std::nullopt; }
  std::optional<std::string> peer_subject_common_name() const override { return std::nullopt; }
  std::vector<std::string> peer_subject_alternative_names() const override { return {}; }
  std::optional<std::string> psk_identity() const override { return psk_; }
  std::string_view protocol() const override { return "TLSv1.3"; }
  const byte_vector& exporter() const { return exporter_; }

 private:
  byte_vector exporter_;
  std::optional<std::string> psk_;
};

/// An AS reachable only in memory: calls wait until the test answers them.
class fake_as final : public as_client {
 public:
  struct call {
    std::string what;
    std::string argument;
    completion done;
  };
  void fetch_jwks(completion done) override { calls.push_back({"jwks", "", std::move(done)}); }
  void introspect(byte_view token, completion done) override {
    calls.push_back({"introspect", std::string(as_string_view(token)), std::move(done)});
  }
  void fetch_revocations(std::int64_t cursor, completion done) override {
    calls.push_back({"trl", std::to_string(cursor), std::move(done)});
  }
  /// Answers the oldest call.
  void answer(result<std::string, as_error> body) {
    ASSERT_FALSE(calls.empty());
    call next = std::move(calls.front());
    calls.pop_front();
    next.done(std::move(body));
  }
  std::deque<call> calls;
};

/// The PoP key kinds of the profile.
enum class pop_kind { ed25519, p256, hs256 };

struct world {
  manual_clock time{1'700'000'000};
  deterministic_random random{7};
  crypto::key as_key = crypto::key::generate_ed25519();
  crypto::key broker_kek;
  crypto::key pop_ed25519 = crypto::key::generate_ed25519();
  crypto::key pop_p256 = crypto::key::generate_p256();
  crypto::key pop_hs256;
  ace_settings settings;
  fake_as as;
  revocation_list revocations{1000, time};
  cnonce_registry cnonces{100, std::chrono::seconds(300), time, random};
  token_store store{settings.store, time};
  std::shared_ptr<token_validator> validator;
  std::shared_ptr<ace_authenticator> provider;

  explicit world(bool with_as = false, ace_settings base = {})
      : broker_kek(crypto::key::generate_symmetric(16, random)),
        pop_hs256(crypto::key::generate_symmetric(32, random)),
        settings(std::move(base)) {
    as_key.set_kid(to_bytes("as-1"));
    broker_kek.set_kid(to_bytes("broker-kek"));
    pop_hs256.set_kid(to_bytes("pop-hs"));
    settings.audience = "broker";
    settings.issuer = "https://as.example";
    settings.keys.issuer_keys = {*as_key.public_key()};
    settings.keys.decryption_keys = {broker_kek};
    rebuild(with_as);
  }

  /// Recreates validator and provider after a settings change.
  void rebuild(bool with_as = false) {
    validator = std::make_shared<token_validator>(settings, time, with_as ? &as : nullptr,
                                                  &revocations, &cnonces);
    validator->set_key_lookup([this](byte_view kid) -> std::optional<crypto::key> {
      if (auto held = store.find_by_kid(kid)) return held->pop_key;
      return std::nullopt;
    });
    provider =
        std::make_shared<ace_authenticator>(settings, validator, store, &cnonces, time, random);
  }

  const crypto::key& pop_key(pop_kind kind) const {
    switch (kind) {
      case pop_kind::ed25519:
        return pop_ed25519;
      case pop_kind::p256:
        return pop_p256;
      case pop_kind::hs256:
        return pop_hs256;
    }
    return pop_ed25519;
  }

  boost::json::object claims(pop_kind kind = pop_kind::ed25519,
                             std::string_view scope = default_scope) {
    const std::int64_t now = time.unix_seconds();
    boost::json::object c;
    c["iss"] = "https://as.example";
    c["aud"] = "broker";
    c["sub"] = "client-1";
    c["iat"] = now;
    c["exp"] = now + 3600;
    c["scope"] = base64url_encode(as_bytes(scope));
    c["ace_profile"] = "mqtt_tls";
    if (kind == pop_kind::hs256) {
      // RFC 9431 2.1: a symmetric PoP key travels encrypted to the broker.
      c["cnf"] = *jose::make_cnf_jwe(pop_hs256, broker_kek, {}, random);
    } else {
      c["cnf"] = *jose::make_cnf_jwk(*pop_key(kind).public_key());
    }
    return c;
  }

  std::string sign(const boost::json::object& c, const crypto::key* signer = nullptr) {
    auto jwt = jose::sign_jwt(c, signer ? *signer : as_key);
    EXPECT_TRUE(jwt.has_value());
    return jwt ? *jwt : std::string();
  }

  std::string token(pop_kind kind = pop_kind::ed25519, std::string_view scope = default_scope) {
    return sign(claims(kind, scope));
  }
};

/// The result of one provider call, when it completed synchronously.
struct captured {
  std::optional<broker::auth_step> step;
  broker::authenticator::completion sink() {
    return [this](broker::auth_step s) {
      ASSERT_FALSE(step.has_value()) << "completion called twice";
      step = std::move(s);
    };
  }
};

inline broker::authentication_request connect_request(const fake_tls* tls,
                                                      std::optional<byte_vector> data,
                                                      std::string client_id = "client-1") {
  broker::authentication_request r;
  r.version = mqtt::protocol_version::v5;
  r.client_id = std::move(client_id);
  r.method = std::string(ace_method);
  r.data = std::move(data);
  r.tls = tls;
  r.remote_address = "192.0.2.1:50000";
  r.listener_name = "tls";
  return r;
}

inline byte_vector exporter_data(const std::string& token, const crypto::key& key,
                                 const fake_tls& tls) {
  auto proof = pop::compute_pop(key, tls.exporter());
  EXPECT_TRUE(proof.has_value());
  return *pop::build_connect_exporter(as_bytes(token), *proof);
}

inline byte_vector challenge_answer(const byte_vector& rs_nonce, const crypto::key& key,
                                    bool draft06 = false) {
  const byte_vector client_nonce{1, 2, 3, 4, 5, 6, 7, 8};
  auto proof = pop::compute_pop(key, pop::challenge_bytes(rs_nonce, client_nonce));
  EXPECT_TRUE(proof.has_value());
  return *pop::build_client_response(client_nonce, *proof, draft06);
}

inline const broker::principal& principal_of(const broker::auth_step& step) {
  EXPECT_EQ(step.what, broker::auth_step::kind::success);
  EXPECT_NE(step.who, nullptr);
  return *step.who;
}

}  // namespace acemq::ace::testing
