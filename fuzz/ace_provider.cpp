// Fuzz target: the ACE provider on untrusted bytes. The first byte selects the entry point; the
// rest is the attacker-controlled value. Properties: no crash, no sanitizer report, and every
// provider completion is called exactly once. Keys are fixed (seeded) so that the seed corpus
// can hold real tokens (fuzz/corpus/ace_provider, built by its make_seeds.py).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "acemq/ace/authenticator.hpp"
#include "acemq/ace/authz_info.hpp"
#include "acemq/ace/revocation.hpp"
#include "acemq/ace/token_store.hpp"
#include "acemq/ace/token_validator.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/pop/auth_data.hpp"

namespace {

using namespace acemq;

class fixed_tls final : public broker::tls_facts {
 public:
  std::optional<byte_vector> export_keying_material(std::string_view, byte_view, bool,
                                                    std::size_t length) const override {
    return byte_vector(length, 0x5A);
  }
  std::optional<std::string> peer_certificate_pem() const override { return std::nullopt; }
  std::optional<std::string> peer_subject_common_name() const override { return std::nullopt; }
  std::vector<std::string> peer_subject_alternative_names() const override { return {}; }
  std::optional<std::string> psk_identity() const override { return psk; }
  std::string_view protocol() const override { return "TLSv1.3"; }
  std::optional<std::string> psk;
};

struct harness {
  manual_clock time{1'700'000'000};
  deterministic_random random{99};
  ace::ace_settings settings;
  std::unique_ptr<ace::revocation_list> revocations;
  std::unique_ptr<ace::cnonce_registry> cnonces;
  std::unique_ptr<ace::token_store> store;
  std::shared_ptr<ace::token_validator> validator;
  std::shared_ptr<ace::ace_authenticator> provider;
  std::unique_ptr<ace::authz_info_handler> authz_info;

  harness() {
    // The AS key: Ed25519 from the seed 0x11 * 32, kid "as-1" (make_seeds.py uses the same).
    auto as_key = token::crypto::key::ed25519_from_private(byte_vector(32, 0x11));
    if (!as_key) std::abort();
    as_key->set_kid(to_bytes("as-1"));
    settings.audience = "broker";
    settings.issuer = "https://as.example";
    settings.keys.issuer_keys = {*as_key->public_key()};
    settings.max_pending_challenges = 64;
    settings.discovery = ace::discovery_settings{"https://as.example", "", "", true, true};
    revocations = std::make_unique<ace::revocation_list>(64, time);
    cnonces = std::make_unique<ace::cnonce_registry>(64, std::chrono::seconds(60), time, random);
    store = std::make_unique<ace::token_store>(settings.store, time);
    validator = std::make_shared<ace::token_validator>(settings, time, nullptr, revocations.get(),
                                                       cnonces.get());
    provider = std::make_shared<ace::ace_authenticator>(settings, validator, *store, cnonces.get(),
                                                        time, random);
    authz_info = std::make_unique<ace::authz_info_handler>(*validator, *store);
  }
};

harness& shared() {
  static harness instance;
  return instance;
}

broker::authenticator::completion exactly_once(int& calls) {
  return [&calls](broker::auth_step) { ++calls; };
}

void require_once(int calls) {
  if (calls != 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  harness& h = shared();
  const std::uint8_t mode = data[0];
  const byte_view input(data + 1, size - 1);
  fixed_tls tls;
  broker::authentication_request request;
  request.version = mqtt::protocol_version::v5;
  request.client_id = "fuzz";
  request.method = std::string(ace::ace_method);
  request.tls = &tls;
  request.remote_address = "192.0.2.1:1";
  request.listener_name = "fuzz";
  int calls = 0;
  switch (mode % 7) {
    case 0:  // CONNECT Authentication Data, then the same bytes as the AUTH answer.
      request.data = byte_vector(input.begin(), input.end());
      h.provider->start(request, exactly_once(calls));
      require_once(calls);
      calls = 0;
      h.provider->continue_auth(request, exactly_once(calls));
      require_once(calls);
      break;
    case 1: {  // AUTH 0x18 answer to a real challenge; the token is the input's length-prefixed
               // head when it parses, so the corpus can carry a valid token.
      const auto split = token::pop::parse_connect_exporter(input);
      if (split) {
        auto challenge = token::pop::build_connect_challenge(split->token);
        if (!challenge) break;
        request.data = std::move(*challenge);
        h.provider->start(request, exactly_once(calls));
        require_once(calls);
        calls = 0;
        request.data = byte_vector(split->pop.begin(), split->pop.end());
        h.provider->continue_auth(request, exactly_once(calls));
        require_once(calls);
      }
      break;
    }
    case 2:  // AUTH 0x19 re-authentication data.
      request.data = byte_vector(input.begin(), input.end());
      h.provider->reauthenticate(request, exactly_once(calls));
      require_once(calls);
      break;
    case 3: {  // MQTT 3.1.1: "ace" username from the input, fixed password.
      request.version = mqtt::protocol_version::v311;
      request.method.reset();
      request.username = "ace" + std::string(as_string_view(input));
      request.password = byte_vector(32, 1);
      h.provider->start(request, exactly_once(calls));
      require_once(calls);
      break;
    }
    case 4: {  // authz-info payload.
      ace::authz_info_upload upload;
      upload.payload = input;
      upload.qos = static_cast<std::uint8_t>(size % 3);
      upload.remote_address = "198.51.100.1:1";
      upload.client_id = "fuzz";
      h.authz_info->on_publish(upload, [&calls](ace::authz_info_verdict) { ++calls; });
      require_once(calls);
      break;
    }
    case 5:  // AS revocation list page.
      if (auto page = ace::parse_revocation_page(as_string_view(input))) {
        h.revocations->apply(*page);
      }
      break;
    case 6: {  // TLS-PSK identity.
      const std::string identity(as_string_view(input));
      (void)h.provider->psk_for_identity(identity);
      tls.psk = identity;
      request.method.reset();
      h.provider->start(request, exactly_once(calls));
      require_once(calls);
      break;
    }
    default:
      break;
  }
  return 0;
}
