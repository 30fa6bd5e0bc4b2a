#pragma once
// The ACE MQTT-TLS profile provider (RFC 9431): Authentication Method "ace" in MQTT 5, the
// "ace" username in MQTT 3.1.1, and TLS-PSK with a token or a stored token's kid as identity.
//
// MQTT 5 (RFC 9431 2.2.4.2), after the token is validated (token_validator):
//  * CONNECT data `u16 len || token || pop`: PoP over the TLS exporter
//    (EXPORTER-ACE-MQTT-Sign-Challenge, empty context, 32 bytes) -> success or 0x87;
//  * CONNECT data `u16 len || token`, or none with a token held for the client: the broker
//    challenge (AUTH 0x18 rs_nonce, 8 CSPRNG bytes); the client answers client_nonce (8) || pop
//    over rs_nonce || client_nonce (draft-06: u16 length before the client nonce);
//  * AUTH 0x19 `u16 len || token`: re-authentication, always by challenge/response (RFC 9431 4).
// Any other Authentication Method is not ours (next provider; the chain ends in 0x8C).
// Refusals are 0x87, with the `ace_as_hint` User Property when discovery is configured.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "acemq/ace/ace_settings.hpp"
#include "acemq/ace/discovery.hpp"
#include "acemq/ace/principal.hpp"
#include "acemq/ace/token_store.hpp"
#include "acemq/ace/token_validator.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/challenge_table.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/lru_cache.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/pop/auth_data.hpp"

namespace acemq::ace {

/// RFC 9431 2.2.4.2: the Authentication Method name.
inline constexpr std::string_view ace_method = "ace";

class ace_authenticator final : public broker::authenticator,
                                public std::enable_shared_from_this<ace_authenticator> {
 public:
  /// Everything must outlive the provider; `cnonces` may be null (no cnonce in hints). Create
  /// with std::make_shared: asynchronous completions hold a weak reference.
  ace_authenticator(const ace_settings& settings, std::shared_ptr<token_validator> validator,
                    token_store& store, cnonce_registry* cnonces, const clock& time,
                    random_source& random);

  std::string_view name() const override { return "ace"; }
  void start(const broker::authentication_request& request, completion done) override;
  void continue_auth(const broker::authentication_request& request, completion done) override;
  void reauthenticate(const broker::authentication_request& request, completion done) override;

  /// TLS-PSK (RFC 9431 2.2.3.2): the pre-shared key for a PSK identity that is a token (JWT or
  /// CWT) or an encoded cnf structure naming the kid of a stored token (`{"cnf":{"kid":..}}` or
  /// `{"cnf":{"jwk":{"kty":"oct","kid":..}}}`). Synchronous and AS-free, for the TLS callback.
  /// nullopt when the identity names no valid token with a symmetric PoP key.
  std::optional<byte_vector> psk_for_identity(std::string_view identity);

  /// Outstanding broker challenges (bounded by max_pending_challenges, in total and per host).
  std::size_t pending_challenges() const;
  /// Releases the challenge of a closed connection.
  void connection_closed(std::string_view listener_name, std::string_view remote_address) override;

 private:
  struct challenge {
    validated_token_ptr token;
    token::pop::nonce rs_nonce{};
    bool reauthentication = false;
    std::optional<std::string> will_topic;
  };

  broker::auth_step refuse(rejection why, bool tokenless,
                           mqtt::reason_code reason = mqtt::reason_code::not_authorized) const;
  broker::auth_step accept(const validated_token_ptr& token, const std::string& client_id,
                           const std::optional<std::string>& will_topic);
  broker::auth_step issue_challenge(const std::string& key, validated_token_ptr token,
                                    bool reauthentication, std::optional<std::string> will_topic);
  validated_token_ptr token_for_psk(std::string_view identity);
  /// Validates `token_bytes` (within the validation budget of the request's address), then
  /// answers `done` with `then(*this, token)` for a valid token. A token that fails is refused
  /// with its failure's code (RFC 9431 2.4.1); an authenticator gone meanwhile answers 0x87.
  template <typename Then>
  void validate_then(byte_view token_bytes, const broker::authentication_request& request,
                     completion done, Then then);
  void start_v5(const broker::authentication_request& request, completion done);
  /// Exporter proof of possession (v5 CONNECT and v3.1.1 password): reads the exporter now,
  /// validates the token, then checks `proof` against it with the token's cnf key.
  void validate_exporter_pop(const broker::authentication_request& request, byte_view token_bytes,
                             byte_vector proof, completion done);
  void start_v311(const broker::authentication_request& request, byte_vector token_bytes,
                  completion done);

  const ace_settings& settings_;
  std::shared_ptr<token_validator> validator_;
  token_store& store_;
  cnonce_registry* cnonces_;
  const clock& clock_;
  random_source& random_;

  std::mutex random_mutex_;
  /// PSK identities that named no valid token, by hash, until when they are refused without a
  /// second validation (bounded like the validator's cache; least recently used dropped first).
  static constexpr std::chrono::seconds refused_psk_identity_ttl{60};
  std::mutex refused_mutex_;
  lru_cache<std::string, clock::time_point> refused_psk_identities_;
  broker::challenge_table<challenge> challenges_;
};

}  // namespace acemq::ace
