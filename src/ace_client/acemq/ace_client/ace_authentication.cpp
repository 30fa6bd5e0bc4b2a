#include "acemq/ace_client/ace_authentication.hpp"

#include <algorithm>
#include <utility>

#include "acemq/token/pop/auth_data.hpp"

namespace acemq::ace_client {

struct ace_authentication::state {
  pop_credentials credentials;
  connect_settings settings;
  random_source* random = nullptr;
};

namespace {

bool token_fits(const pop_credentials& credentials) {
  // The u16 length prefix of every AuthData layout (RFC 9431 2.2.4).
  return !credentials.token.empty() && credentials.token.size() <= 0xFFFF;
}

}  // namespace

result<ace_authentication, settings_error> ace_authentication::create(pop_credentials credentials,
                                                                      connect_settings settings,
                                                                      random_source& random) {
  // RFC 9431 6: MQTT 3.1.1 has no AUTH packet, so only the exporter PoP in the password works.
  if (settings.version != mqtt::protocol_version::v5 && settings.method == pop_method::challenge) {
    return unexpected(settings_error::challenge_needs_v5);
  }
  // RFC 9431 2.2.4.2.2: without a token in CONNECT only the challenge proves possession.
  if (!settings.token_in_connect && (settings.version != mqtt::protocol_version::v5 ||
                                     settings.method != pop_method::challenge)) {
    return unexpected(settings_error::held_token_needs_challenge);
  }
  if (!token_fits(credentials)) return unexpected(settings_error::token_too_large);
  auto shared =
      std::make_shared<state>(state{std::move(credentials), std::move(settings), &random});
  return ace_authentication(std::move(shared));
}

mqtt::connect ace_authentication::connect_packet() const {
  mqtt::connect packet;
  packet.protocol_version = state_->settings.version;
  packet.client_id = state_->settings.client_id;
  packet.keep_alive = state_->settings.keep_alive;
  packet.clean_start = state_->settings.clean_start;
  if (state_->settings.version == mqtt::protocol_version::v5) {
    packet.properties.authentication_method = std::string(authentication_method);
    if (state_->settings.method == pop_method::challenge && state_->settings.token_in_connect) {
      // RFC 9431 2.2.4.2: the token alone; the PoP follows in AUTH. The size was checked in create.
      auto data = challenge_connect_data(state_->credentials);
      if (data) packet.properties.authentication_data = std::move(*data);
    }
  }
  return packet;
}

client::before_connect_hook ace_authentication::before_connect_hook() const {
  std::shared_ptr<state> shared = state_;
  return
      [shared](client::client& connection, mqtt::connect& packet) -> result<void, client::failure> {
        const connect_settings& settings = shared->settings;
        if (settings.version == mqtt::protocol_version::v5 &&
            settings.method == pop_method::challenge) {
          return {};
        }
        // RFC 9431 2.2.4.1: 32 bytes of the exporter with label EXPORTER-ACE-MQTT-Sign-Challenge
        // and an empty context, bound to this TLS session so the CONNECT cannot be replayed
        // elsewhere.
        auto exporter = connection.export_keying_material(token::pop::exporter_label,
                                                          as_bytes(token::pop::exporter_context),
                                                          token::pop::exporter_length);
        if (!exporter) {
          return unexpected(client::failure{client::client_error::authentication_failed,
                                            mqtt::reason_code::not_authorized,
                                            "the ACE exporter PoP needs a TLS connection"});
        }
        if (settings.version == mqtt::protocol_version::v5) {
          auto data = exporter_connect_data(shared->credentials, *exporter);
          if (!data) {
            return unexpected(client::failure{
                client::client_error::authentication_failed, mqtt::reason_code::not_authorized,
                "cannot compute the PoP: " + std::string(token::to_string(data.error()))});
          }
          packet.properties.authentication_data = std::move(*data);
          return {};
        }
        auto login = mqtt311_connect_credentials(shared->credentials, *exporter);
        if (!login) {
          return unexpected(client::failure{
              client::client_error::authentication_failed, mqtt::reason_code::not_authorized,
              "cannot compute the PoP: " + std::string(token::to_string(login.error()))});
        }
        packet.username = std::move(login->username);
        packet.password = std::move(login->password);
        return {};
      };
}

client::authentication_exchange ace_authentication::authentication_exchange() const {
  std::shared_ptr<state> shared = state_;
  return [shared](const mqtt::auth& challenge) -> result<byte_vector, mqtt::reason_code> {
    // [MQTT-4.12.0-5] the method stays the CONNECT's.
    if (challenge.properties.authentication_method.value_or(std::string()) !=
        authentication_method) {
      return unexpected(mqtt::reason_code::bad_authentication_method);
    }
    const byte_vector empty;
    const byte_vector& data = challenge.properties.authentication_data
                                  ? *challenge.properties.authentication_data
                                  : empty;
    auto answer =
        answer_challenge(shared->credentials, data, *shared->random, shared->settings.draft06);
    if (!answer) return unexpected(mqtt::reason_code::not_authorized);
    return std::move(*answer);
  };
}

result<void, client::client_error> ace_authentication::reauthenticate(client::client& connection,
                                                                      pop_credentials fresh) {
  if (!token_fits(fresh)) return unexpected(client::client_error::invalid_argument);
  auto data = reauthentication_data(fresh);
  if (!data) return unexpected(client::client_error::invalid_argument);
  auto sent = connection.reauthenticate(std::move(*data));
  if (!sent) return sent;
  // RFC 9431 2.4: the broker's challenge that follows must be answered with the new token's key.
  state_->credentials = std::move(fresh);
  return {};
}

const pop_credentials& ace_authentication::credentials() const noexcept {
  return state_->credentials;
}

const connect_settings& ace_authentication::settings() const noexcept {
  return state_->settings;
}

std::string_view describe(settings_error error) noexcept {
  switch (error) {
    case settings_error::challenge_needs_v5:
      return "the challenge PoP needs MQTT 5 (3.1.1 has no AUTH packet)";
    case settings_error::token_too_large:
      return "the token is too large for Authentication Data";
    case settings_error::held_token_needs_challenge:
      return "a CONNECT without the token needs the challenge PoP and MQTT 5";
  }
  return "unknown settings error";
}

std::optional<std::chrono::seconds> reauthentication_delay(const pop_credentials& credentials,
                                                           std::int64_t now,
                                                           std::chrono::seconds before,
                                                           std::chrono::seconds minimum) {
  const auto left = seconds_left(credentials, now);
  if (!left) return std::nullopt;
  const std::int64_t delay = *left - before.count();
  return std::chrono::seconds{std::max<std::int64_t>(delay, minimum.count())};
}

}  // namespace acemq::ace_client
