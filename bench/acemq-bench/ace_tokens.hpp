#pragma once
// ACE connections for acemq-bench (RFC 9431): tokens are fetched from the AS before any timing
// starts, so a connection-rate figure measures the broker's token validation and proof-of-
// possession check, not the AS. With one token every connection presents the same token (the
// broker's verification cache hits and only the PoP check remains); with as many tokens as
// connections every connection presents a token the broker has never seen.

#include <acemq/ace_client/ace_authentication.hpp>
#include <acemq/mqtt/version.hpp>

#include <memory>
#include <string>
#include <vector>

namespace acemq::bench {

/// Where the tokens come from and what kind of connection they are for.
struct ace_settings {
  std::string as_url;  // https://host:port of acemq-as
  std::string as_ca_file;
  std::string client_id;
  std::string client_secret;  // never printed
  std::string audience;
  std::string scope;  // AIF-MQTT JSON; empty = what the grants allow
  /// false: the AS generates a symmetric PoP key (HS256 PoP, key sent to the broker encrypted
  /// in the token's cnf); true: a fresh Ed25519 key per token, sent as req_cnf (RFC 9201 3.1).
  bool own_ed25519_key = false;
  ace_client::pop_method method = ace_client::pop_method::exporter;
  /// Distinct tokens; connection i uses token i mod tokens.
  unsigned tokens = 1;
  unsigned fetch_threads = 2;
};

/// The prepared authentications, one per token, shared read-only by every worker thread.
struct ace_tokens {
  std::vector<std::shared_ptr<const ace_client::ace_authentication>> authentications;
  double fetch_seconds = 0;
  std::string description;  // e.g. "ace challenge, Ed25519 PoP key"
};

/// Fetches `settings.tokens` tokens over HTTPS (blocking, `fetch_threads` at a time). Throws
/// std::runtime_error naming the first failure; the message never contains the secret.
ace_tokens fetch_ace_tokens(const ace_settings& settings, mqtt::protocol_version version);

}  // namespace acemq::bench
