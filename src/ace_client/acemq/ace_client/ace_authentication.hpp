#pragma once
// Drives an acemq::client connection through ACE authentication (RFC 9431 2.2.4 and 2.4): builds
// the CONNECT, computes the exporter PoP once TLS is up, answers the broker's challenge, and
// re-authenticates with a fresh token (AUTH 0x19) without dropping the session.
//
// Usage: create an ace_authentication, then
//   client::events ev; ev.on_authentication = auth.authentication_exchange();
//   client::client c(io, options, ev);
//   c.connect(auth.connect_packet(), auth.before_connect_hook());
// The callbacks share the object's state, so they stay valid even if it is destroyed first.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/ace_client/authentication_data.hpp"
#include "acemq/ace_client/credentials.hpp"
#include "acemq/client/client.hpp"
#include "acemq/client/events.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"
#include "acemq/mqtt/connect.hpp"
#include "acemq/mqtt/version.hpp"

namespace acemq::ace_client {

/// How to connect.
struct connect_settings {
  pop_method method = pop_method::exporter;
  mqtt::protocol_version version = mqtt::protocol_version::v5;
  std::string client_id;
  std::uint16_t keep_alive = 60;
  bool clean_start = true;
  /// Answer challenges in the draft-06 layout (length-prefixed client nonce).
  bool draft06 = false;
  /// false: the broker already holds the token (uploaded to authz-info, or from an earlier
  /// connection), so the CONNECT carries no Authentication Data and the broker challenges the
  /// stored token (RFC 9431 2.2.4.2.2). Only with the challenge method in MQTT 5.
  bool token_in_connect = true;
};

/// Why a combination of settings cannot work.
enum class settings_error : std::uint8_t {
  challenge_needs_v5 = 0x01,  // MQTT 3.1.1 has no AUTH packet: only the exporter PoP (RFC 9431 6)
  token_too_large = 0x02,     // the token does not fit the u16 length prefix
  held_token_needs_challenge = 0x03,  // a CONNECT without the token can only be challenged
};

/// The ACE authentication of one client identity; reusable across connections.
class ace_authentication {
 public:
  /// `random` must outlive every callback (system_random::instance() in production).
  static result<ace_authentication, settings_error> create(pop_credentials credentials,
                                                           connect_settings settings,
                                                           random_source& random);

  /// CONNECT with Authentication Method `ace` (v5) and, for challenge/response, the token; the
  /// exporter PoP (and the 3.1.1 username/password) is added by before_connect_hook().
  mqtt::connect connect_packet() const;
  /// Computes the TLS exporter and fills the Authentication Data / username and password.
  /// Fails the attempt (authentication_failed) on a connection without TLS.
  client::before_connect_hook before_connect_hook() const;
  /// Answers AUTH 0x18 with client_nonce || PoP over rs_nonce || client_nonce with the current
  /// credentials' key; malformed broker data or an unusable key aborts
  /// the exchange with DISCONNECT 0x87 (not authorized).
  client::authentication_exchange authentication_exchange() const;

  /// Starts re-authentication (AUTH 0x19) with `fresh` credentials; the broker's challenge is then
  /// answered with the fresh key. The session and subscriptions are kept (RFC 9431 2.4).
  result<void, client::client_error> reauthenticate(client::client& connection,
                                                    pop_credentials fresh);

  const pop_credentials& credentials() const noexcept;
  const connect_settings& settings() const noexcept;

  struct state;

 private:
  explicit ace_authentication(std::shared_ptr<state> shared) : state_(std::move(shared)) {}
  std::shared_ptr<state> state_;
};

/// One line naming a settings error, e.g. for a command-line tool.
std::string_view describe(settings_error error) noexcept;

/// When to re-authenticate: `before` ahead of expiry, never sooner than `minimum` from `now`
/// (so an almost expired token does not cause a busy loop). nullopt when the expiry is unknown.
std::optional<std::chrono::seconds> reauthentication_delay(
    const pop_credentials& credentials, std::int64_t now, std::chrono::seconds before,
    std::chrono::seconds minimum = std::chrono::seconds{1});

}  // namespace acemq::ace_client
