// The settings registry: every scalar setting of the broker program and of a listener, with its
// key, default, help text and bounds (see settings_registry.hpp).

#include <set>

#include "acemq/app/settings_registry.hpp"
#include "acemq/common/topic.hpp"

namespace acemq::app::detail {
namespace {

assign_error check_provider_name(const std::string& name) {
  static const std::set<std::string> names{"ace",      "device_jwt", "certificate",
                                           "password", "anonymous",  "public_topics_only"};
  if (names.count(name) == 0) {
    return "unknown provider \"" + name +
           "\" (expected ace, device_jwt, certificate, password, anonymous or "
           "public_topics_only)";
  }
  return std::nullopt;
}

assign_error check_path(const std::string& path) {
  if (path.empty() || path.front() != '/') return "expected an absolute HTTP path (\"/mqtt\")";
  for (const char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return "no spaces or control characters";
  }
  return std::nullopt;
}

assign_error check_log_level(const std::string& level) {
  static const std::set<std::string> names{"trace", "debug", "info", "warn", "error", "off"};
  if (names.count(level) == 0) return "expected trace, debug, info, warn, error or off";
  return std::nullopt;
}

/// Every bound of the broker engine (broker::broker_settings), under [broker].
void append_broker_settings(std::vector<entry<app_config>>& r) {
  using C = app_config;
  r.push_back(integer<C, std::size_t>(
      "broker.max_connections",
      "simultaneous connections; beyond it new sockets are closed at once",
      [](C& c) -> std::size_t& { return c.broker.max_connections; }, 1, 10'000'000));
  r.push_back(integer<C, std::uint32_t>(
      "broker.maximum_packet_size",
      "largest packet accepted, advertised in CONNACK (MQTT 5.0 3.2.2.3.6)",
      [](C& c) -> std::uint32_t& { return c.broker.maximum_packet_size; }, 64, max_packet_bytes));
  r.push_back(integer<C, std::uint32_t>(
      "broker.max_packet_size_before_authentication",
      "largest packet before the client is authenticated (then 0x95); never less than a CONNECT "
      "with the largest token accepted",
      [](C& c) -> std::uint32_t& { return c.broker.max_packet_size_before_authentication; }, 128,
      max_packet_bytes));
  r.push_back(integer<C, std::uint16_t>(
      "broker.receive_maximum", "inbound QoS 1/2 messages in flight per client [MQTT-3.3.4-8]",
      [](C& c) -> std::uint16_t& { return c.broker.receive_maximum; }, 1, max_u16));
  r.push_back(integer<C, std::uint16_t>(
      "broker.max_inflight", "outbound QoS 1/2 messages in flight per session [MQTT-3.3.4-9]",
      [](C& c) -> std::uint16_t& { return c.broker.max_inflight; }, 1, max_u16));
  r.push_back(integer<C, std::size_t>(
      "broker.max_queued_messages", "messages queued per session beyond the in-flight window",
      [](C& c) -> std::size_t& { return c.broker.max_queued_messages; }, 0, 100'000'000));
  r.push_back(integer<C, std::size_t>(
      "broker.max_queued_bytes", "payload bytes queued per session",
      [](C& c) -> std::size_t& { return c.broker.max_queued_bytes; }, 0, std::int64_t{1} << 40));
  r.push_back(integer<C, std::size_t>(
      "broker.max_queued_memory",
      "payload bytes queued across all sessions (the memory ceiling for queued messages)",
      [](C& c) -> std::size_t& { return c.broker.max_queued_memory; }, 0, std::int64_t{1} << 44));
  r.push_back(integer<C, std::size_t>(
      "broker.max_queued_memory_per_principal",
      "payload bytes queued across the sessions of one principal (0: a quarter of "
      "max_queued_memory)",
      [](C& c) -> std::size_t& { return c.broker.max_queued_memory_per_principal; }, 0,
      std::int64_t{1} << 44));
  r.push_back(milliseconds<C>(
      "broker.congestion_pause_ms",
      "milliseconds a publisher's connection stops reading when a connected subscriber's queue is "
      "three quarters full (0: never)",
      [](C& c) -> std::chrono::milliseconds& { return c.broker.congestion_pause; }, 0, 10'000));
  r.push_back(integer<C, std::uint32_t>(
      "broker.max_publish_rate",
      "PUBLISH packets per second per connection; beyond it the connection is read more slowly "
      "(0: unlimited)",
      [](C& c) -> std::uint32_t& { return c.broker.max_publish_rate; }, 0, 10'000'000));
  r.push_back(integer<C, std::uint16_t>(
      "broker.topic_alias_maximum", "topic aliases a client may use towards the broker (0: none)",
      [](C& c) -> std::uint16_t& { return c.broker.topic_alias_maximum; }, 0, max_u16));
  r.push_back(integer<C, std::size_t>(
      "broker.max_topic_length", "longest topic name or filter, in bytes",
      [](C& c) -> std::size_t& { return c.broker.max_topic_length; }, 1, 65535));
  r.push_back(integer<C, std::size_t>(
      "broker.max_topic_levels", "most levels in a topic name or filter",
      [](C& c) -> std::size_t& { return c.broker.max_topic_levels; }, 1, 65535));
  r.push_back(integer<C, std::size_t>(
      "broker.max_subscriptions_per_client", "subscriptions one session may hold (then 0x97)",
      [](C& c) -> std::size_t& { return c.broker.max_subscriptions_per_client; }, 1, 10'000'000));
  r.push_back(seconds<C>(
      "broker.connect_timeout", "seconds from accept to a completed CONNECT",
      [](C& c) -> std::chrono::seconds& { return c.broker.connect_timeout; }, 1, 3600));
  r.push_back(seconds<C>(
      "broker.sys_interval", "seconds between $SYS/broker/... statistics (0: none published)",
      [](C& c) -> std::chrono::seconds& { return c.broker.sys_interval; }, 0, 86400));
  r.push_back({"broker.server_keep_alive",
               "Server Keep Alive imposed on MQTT 5 clients, seconds (-1: use the client's)",
               [](C& c) {
                 return c.broker.server_keep_alive ? std::to_string(*c.broker.server_keep_alive)
                                                   : std::string("-1");
               },
               [](C& c, const toml::node& node) -> assign_error {
                 const auto* value = node.as_integer();
                 if (value == nullptr) return "expected an integer";
                 if (value->get() == -1) {
                   c.broker.server_keep_alive.reset();
                   return std::nullopt;
                 }
                 if (value->get() < 0 || value->get() > max_u16) return "must be -1 or 0..65535";
                 c.broker.server_keep_alive = static_cast<std::uint16_t>(value->get());
                 return std::nullopt;
               }});
  r.push_back(integer<C, std::uint32_t>(
      "broker.maximum_session_expiry",
      "upper bound on Session Expiry Interval, seconds (4294967295: never)",
      [](C& c) -> std::uint32_t& { return c.broker.maximum_session_expiry; }, 0, max_u32));
  r.push_back(integer<C, std::uint8_t>(
      "broker.maximum_qos", "Maximum QoS (0x24) the broker supports: 0, 1 or 2",
      [](C& c) -> std::uint8_t& { return c.broker.maximum_qos; }, 0, 2));
  r.push_back(boolean<C>("broker.retain_available", "Retain Available (0x25)",
                         [](C& c) -> bool& { return c.broker.retain_available; }));
  r.push_back(integer<C, std::size_t>(
      "broker.max_retained_messages", "retained messages kept broker-wide",
      [](C& c) -> std::size_t& { return c.broker.max_retained_messages; }, 0, 100'000'000));
  r.push_back(integer<C, std::size_t>(
      "broker.max_retained_memory",
      "bytes (topic and payload) of all retained messages; beyond, a retained PUBLISH gets 0x97",
      [](C& c) -> std::size_t& { return c.broker.max_retained_memory; }, 0, std::int64_t{1} << 44));
  r.push_back(integer<C, std::size_t>(
      "broker.max_sessions", "sessions, connected or not; a CONNECT needing one more gets 0x97",
      [](C& c) -> std::size_t& { return c.broker.max_sessions; }, 1, 100'000'000));
  r.push_back(integer<C, std::size_t>(
      "broker.max_sessions_per_principal",
      "sessions one principal (provider, issuer, subject) may hold; more get 0x97",
      [](C& c) -> std::size_t& { return c.broker.max_sessions_per_principal; }, 1, 100'000'000));
  r.push_back(integer<C, std::size_t>(
      "broker.max_sessions_anonymous",
      "sessions of all anonymous clients together (one principal); more get 0x97",
      [](C& c) -> std::size_t& { return c.broker.max_sessions_anonymous; }, 0, 100'000'000));
  r.push_back(boolean<C>("broker.wildcard_subscription_available",
                         "Wildcard Subscription Available (0x28)",
                         [](C& c) -> bool& { return c.broker.wildcard_subscription_available; }));
  r.push_back(boolean<C>("broker.shared_subscription_available",
                         "Shared Subscription Available (0x2A)",
                         [](C& c) -> bool& { return c.broker.shared_subscription_available; }));
  r.push_back(boolean<C>("broker.subscription_identifier_available",
                         "Subscription Identifiers Available (0x29)",
                         [](C& c) -> bool& { return c.broker.subscription_identifier_available; }));
  r.push_back(integer<C, std::size_t>(
      "broker.max_client_id_length", "longest client identifier, bytes (at least 23)",
      [](C& c) -> std::size_t& { return c.broker.max_client_id_length; }, 23, 65535));
  r.push_back(boolean<C>("broker.allow_empty_client_id",
                         "assign an identifier to clients that send an empty one [MQTT-3.1.3-6]",
                         [](C& c) -> bool& { return c.broker.allow_empty_client_id; }));
  r.push_back(boolean<C>("broker.client_id_must_match_identity",
                         "refuse (0x85) a client identifier other than the identity the client "
                         "proved (user name, certificate identity, device id, ACE client)",
                         [](C& c) -> bool& { return c.broker.client_id_must_match_identity; }));
  r.push_back(text<C>("broker.response_information_prefix",
                      "Response Information prefix (client id appended; empty: never sent)",
                      [](C& c) -> std::string& { return c.broker.response_information_prefix; }));
  r.push_back(boolean<C>("broker.queue_qos0_when_offline",
                         "queue QoS 0 messages for disconnected sessions",
                         [](C& c) -> bool& { return c.broker.queue_qos0_when_offline; }));
  r.push_back(choice<C, broker::v311_denied_publish_policy>(
      "broker.v311_denied_publish", "unauthorized MQTT 3.1.1 PUBLISH: \"drop\" or \"disconnect\"",
      [](C& c) -> broker::v311_denied_publish_policy& { return c.broker.v311_denied_publish; },
      v311_denied_publish_names));
}

/// The ACE provider (acemq::ace::ace_settings and https_as_settings), under [ace].
void append_ace_settings(std::vector<entry<app_config>>& r) {
  using C = app_config;
  constexpr std::int64_t day = 24 * 3600;
  r.push_back(boolean<C>("ace.enabled", "enable the ACE provider (RFC 9431)",
                         [](C& c) -> bool& { return c.ace.enabled; }));
  r.push_back(text<C>("ace.audience", "this broker's audience; every token's aud must contain it",
                      [](C& c) -> std::string& { return c.ace.settings.audience; }));
  r.push_back(text<C>("ace.issuer", "required iss (empty: any issuer whose key is trusted)",
                      [](C& c) -> std::string& { return c.ace.settings.issuer; }));
  r.push_back(text<C>("ace.keys_file", "JWK Set of the AS verification keys",
                      [](C& c) -> std::string& { return c.ace.keys_file; }));
  r.push_back(text<C>("ace.decryption_keys_file",
                      "JWK Set of the broker's private keys (encrypted tokens and cnf keys)",
                      [](C& c) -> std::string& { return c.ace.decryption_keys_file; }));
  r.push_back(integer<C, std::int64_t>(
      "ace.leeway_seconds", "clock skew tolerated on nbf and iat, seconds",
      [](C& c) -> std::int64_t& { return c.ace.settings.leeway_seconds; }, 0, 3600));
  r.push_back(integer<C, std::int64_t>(
      "ace.max_lifetime_seconds", "longest token lifetime accepted, seconds",
      [](C& c) -> std::int64_t& { return c.ace.settings.max_lifetime_seconds; }, 1, 366 * day));
  r.push_back(integer<C, std::size_t>(
      "ace.max_token_size", "largest token accepted, bytes",
      [](C& c) -> std::size_t& { return c.ace.settings.max_token_size; }, 64, 1024 * 1024));
  r.push_back(boolean<C>("ace.hide_topic_names",
                         "answer unauthorized PUBLISH/SUBSCRIBE with 0x80 (RFC 9431 3.1)",
                         [](C& c) -> bool& { return c.ace.settings.hide_topic_names; }));
  r.push_back(boolean<C>("ace.draft06", "draft-ietf-ace-mqtt-tls-profile-06 compatibility",
                         [](C& c) -> bool& { return c.ace.settings.draft06; }));
  r.push_back(boolean<C>("ace.allow_v311", "accept MQTT 3.1.1 clients (RFC 9431 6)",
                         [](C& c) -> bool& { return c.ace.settings.allow_v311; }));
  r.push_back(boolean<C>("ace.allow_psk_identity",
                         "accept a token or its kid as TLS 1.3 PSK identity (RFC 9431 2.2.3.2)",
                         [](C& c) -> bool& { return c.ace.settings.allow_psk_identity; }));
  r.push_back(seconds<C>(
      "ace.cnonce_lifetime", "lifetime of an issued cnonce, seconds",
      [](C& c) -> std::chrono::seconds& { return c.ace.settings.cnonce_lifetime; }, 1, day));
  r.push_back(integer<C, std::size_t>(
      "ace.max_cnonces", "cnonces outstanding (oldest dropped beyond)",
      [](C& c) -> std::size_t& { return c.ace.settings.max_cnonces; }, 1, 10'000'000));
  r.push_back(boolean<C>("ace.require_cnonce",
                         "refuse tokens without a cnonce this broker issued (RFC 9200 5.3.1)",
                         [](C& c) -> bool& { return c.ace.settings.require_cnonce; }));
  r.push_back(seconds<C>(
      "ace.challenge_timeout", "how long a broker challenge (AUTH 0x18) waits, seconds",
      [](C& c) -> std::chrono::seconds& { return c.ace.settings.challenge_timeout; }, 1, 3600));
  r.push_back(integer<C, std::size_t>(
      "ace.max_pending_challenges", "challenges outstanding; beyond, 0x89 Server busy",
      [](C& c) -> std::size_t& { return c.ace.settings.max_pending_challenges; }, 1, 10'000'000));
  r.push_back(
      boolean<C>("ace.allow_plain_tcp",
                 "accept the ace method over plain TCP (insecure: RFC 9431 2.2.1 requires TLS)",
                 [](C& c) -> bool& { return c.ace.settings.allow_plain_tcp; }));
  r.push_back(integer<C, std::size_t>(
      "ace.max_pending_challenges_per_address",
      "challenges outstanding from one remote host; beyond, 0x89 Server busy",
      [](C& c) -> std::size_t& { return c.ace.settings.max_pending_challenges_per_address; }, 1,
      10'000'000));
  r.push_back(integer<C, std::size_t>(
      "ace.verified_cache_size", "verified tokens remembered by hash (LRU)",
      [](C& c) -> std::size_t& { return c.ace.settings.verified_cache_size; }, 1, 10'000'000));
  r.push_back(seconds<C>(
      "ace.introspection_cache_ttl", "how long an introspection result is trusted, seconds",
      [](C& c) -> std::chrono::seconds& { return c.ace.settings.introspection_cache_ttl; }, 0,
      day));
  r.push_back(seconds<C>(
      "ace.jwks_min_refresh_interval", "minimum seconds between two /jwks fetches",
      [](C& c) -> std::chrono::seconds& { return c.ace.settings.jwks_min_refresh_interval; }, 1,
      day));
  r.push_back(integer<C, std::size_t>(
      "ace.max_waiting_validations", "connections waiting for one AS answer; beyond, 0x87",
      [](C& c) -> std::size_t& { return c.ace.settings.max_waiting_validations; }, 1, 1'000'000));
  r.push_back(integer<C, std::size_t>(
      "ace.reference_token_length",
      "length of the AS's reference tokens (base64url); others are refused without "
      "introspection (0: any b64token)",
      [](C& c) -> std::size_t& { return c.ace.settings.reference_token_length; }, 0, 4096));
  r.push_back(integer<C, std::size_t>(
      "ace.inactive_cache_size", "reference tokens the AS called inactive, remembered (LRU)",
      [](C& c) -> std::size_t& { return c.ace.settings.inactive_cache_size; }, 1, 10'000'000));
  r.push_back(seconds<C>(
      "ace.inactive_cache_ttl",
      "seconds a token the AS called inactive is refused without asking again (0: not cached)",
      [](C& c) -> std::chrono::seconds& { return c.ace.settings.inactive_cache_ttl; }, 0, day));
  r.push_back(real<C>(
      "ace.introspection_address_burst",
      "introspection calls one remote host's tokens may cause back to back; beyond, 0x9F",
      [](C& c) -> double& { return c.ace.settings.introspection_address_burst; }, 1, 1e6));
  r.push_back(real<C>(
      "ace.introspection_address_rate", "introspection calls regained per remote host per second",
      [](C& c) -> double& { return c.ace.settings.introspection_address_rate; }, 0, 1e6));
  r.push_back(integer<C, std::size_t>(
      "ace.store.max_tokens", "tokens held from authz-info uploads (RFC 9431 2.2.2)",
      [](C& c) -> std::size_t& { return c.ace.settings.store.max_tokens; }, 1, 10'000'000));
  r.push_back(real<C>(
      "ace.store.uploads_burst", "authz-info uploads per address back to back",
      [](C& c) -> double& { return c.ace.settings.store.uploads_burst; }, 1, 1e6));
  r.push_back(real<C>(
      "ace.store.uploads_per_second", "authz-info uploads per address per second",
      [](C& c) -> double& { return c.ace.settings.store.uploads_per_second; }, 0, 1e6));
  r.push_back(integer<C, std::size_t>(
      "ace.store.max_tracked_addresses", "addresses tracked by the upload rate limiter",
      [](C& c) -> std::size_t& { return c.ace.settings.store.max_tracked_addresses; }, 1,
      10'000'000));
  r.push_back(milliseconds<C>(
      "ace.revocation_poll_interval_ms", "how often the AS revocation list is polled, ms",
      [](C& c) -> std::chrono::milliseconds& { return c.ace.settings.revocation_poll_interval; },
      100, 3'600'000));
  r.push_back(integer<C, std::size_t>(
      "ace.max_revoked_entries", "revoked token hashes remembered",
      [](C& c) -> std::size_t& { return c.ace.settings.max_revoked_entries; }, 1, 100'000'000));
  r.push_back(text<C>("ace.discovery.as_uri",
                      "AS URI of the ace_as_hint User Property (RFC 9431 2.4.1); empty: no hint",
                      [](C& c) -> std::string& { return c.ace.discovery.as_uri; }));
  r.push_back(text<C>("ace.discovery.audience", "hint audience (empty: ace.audience)",
                      [](C& c) -> std::string& { return c.ace.discovery.audience; }));
  r.push_back(text<C>("ace.discovery.scope", "hint scope (AIF JSON text; empty: omitted)",
                      [](C& c) -> std::string& { return c.ace.discovery.scope; }));
  r.push_back(boolean<C>("ace.discovery.issue_cnonce", "include a fresh cnonce in the hint",
                         [](C& c) -> bool& { return c.ace.discovery.issue_cnonce; }));
  r.push_back(boolean<C>("ace.discovery.on_every_failure",
                         "send the hint on every refused ACE CONNECT, not only tokenless ones",
                         [](C& c) -> bool& { return c.ace.discovery.on_every_failure; }));
  r.push_back(text<C>("ace.as.base_url",
                      "https://host[:port] of the AS (empty: no /jwks, /introspect, /trl calls)",
                      [](C& c) -> std::string& { return c.ace.as.base_url; }));
  r.push_back(text<C>("ace.as.ca_file", "CA of the AS certificate (empty: system trust store)",
                      [](C& c) -> std::string& { return c.ace.as.ca_file; }));
  r.push_back(text<C>("ace.as.client_id", "this broker's client id at the AS (HTTP Basic)",
                      [](C& c) -> std::string& { return c.ace.as.client_id; }));
  r.push_back(text<C>("ace.as.client_secret_file",
                      "file holding this broker's secret at the AS (never logged)",
                      [](C& c) -> std::string& { return c.ace.as_client_secret_file; }));
  r.push_back(text<C>(
      "ace.as.jwks_path", "AS key set path",
      [](C& c) -> std::string& { return c.ace.as.jwks_path; }, check_path));
  r.push_back(text<C>(
      "ace.as.introspection_path", "AS introspection path (RFC 7662)",
      [](C& c) -> std::string& { return c.ace.as.introspection_path; }, check_path));
  r.push_back(text<C>(
      "ace.as.revocation_list_path", "AS token revocation list path",
      [](C& c) -> std::string& { return c.ace.as.revocation_list_path; }, check_path));
  r.push_back(milliseconds<C>(
      "ace.as.timeout_ms", "deadline of one AS call, ms",
      [](C& c) -> std::chrono::milliseconds& { return c.ace.as.timeout; }, 100, 600'000));
  r.push_back(integer<C, std::size_t>(
      "ace.as.max_body", "largest AS response body, bytes",
      [](C& c) -> std::size_t& { return c.ace.as.max_body; }, 1024, 64 * 1024 * 1024));
}

}  // namespace

const std::vector<entry<app_config>>& app_registry() {
  using C = app_config;
  static const std::vector<entry<C>> registry = [] {
    std::vector<entry<C>> r;
    // The network layer.
    r.push_back(integer<C, unsigned>(
        "server.threads", "I/O threads (0: one per hardware core)",
        [](C& c) -> unsigned& { return c.server.threads; }, 0, 1024));
    r.push_back(integer<C, std::size_t>(
        "server.write_queue_limit",
        "bytes queued on one socket before its reader is disconnected as a slow consumer",
        [](C& c) -> std::size_t& { return c.server.write_queue_limit; }, 4096,
        std::int64_t{1} << 32));
    r.push_back(integer<C, std::size_t>(
        "server.write_high_water",
        "bytes queued on one socket at which deliveries stay in the session queue until it drains",
        [](C& c) -> std::size_t& { return c.server.write_high_water; }, 1024,
        std::int64_t{1} << 32));
    r.push_back(seconds<C>(
        "server.slow_consumer_timeout",
        "seconds a socket may stay above write_high_water, with deliveries waiting, before its "
        "reader is disconnected as a slow consumer (0: never)",
        [](C& c) -> std::chrono::seconds& { return c.server.slow_consumer_timeout; }, 0, 86400));
    r.push_back(integer<C, std::size_t>(
        "server.read_chunk", "bytes read from a socket per system call",
        [](C& c) -> std::size_t& { return c.server.read_chunk; }, 512, 1024 * 1024));
    r.push_back(text<C>("server.data_dir",
                        "base directory for relative certificate paths (var/pki/...)",
                        [](C& c) -> std::string& { return c.data_dir; }));
    r.push_back(boolean<C>("persistence.enabled",
                           "keep sessions, queued messages and retained messages in a database "
                           "(false: in memory only)",
                           [](C& c) -> bool& { return c.persistence.enabled; }));
    r.push_back(text<C>("persistence.path", "SQLite database, relative to server.data_dir",
                        [](C& c) -> std::string& { return c.persistence.path; }));
    r.push_back(text<C>(
        "persistence.durability",
        "\"sync\" (commit before acknowledging) or a commit interval \"<N>ms\" (1..10000)",
        [](C& c) -> std::string& { return c.persistence.durability; },
        [](const std::string& value) -> assign_error {
          if (value == "sync" || durability_interval(value)) return std::nullopt;
          return "expected \"sync\" or \"<N>ms\" with N from 1 to 10000";
        }));
    r.push_back(text<C>(
        "metrics.bearer_token_file",
        "file holding the token every /metrics request must present as \"Authorization: Bearer\" "
        "(empty: none; then http listeners must bind a loopback address)",
        [](C& c) -> std::string& { return c.server.metrics_bearer_token_file; }));
    r.push_back(text<C>("server.port_file",
                        "file to write \"<listener> <port>\" lines to once listening (empty: none)",
                        [](C& c) -> std::string& { return c.port_file; }));
    r.push_back(text<C>(
        "log.level", "trace, debug, info, warn, error or off",
        [](C& c) -> std::string& { return c.log_level; }, check_log_level));
    r.push_back(choice<C, log_format>(
        "log.format", "\"text\" or \"json\" (one JSON object per line)",
        [](C& c) -> log_format& { return c.log_output; }, log_format_names));
    r.push_back(boolean<C>("auth.allow_anonymous",
                           "accept clients without credentials (development only)",
                           [](C& c) -> bool& { return c.allow_anonymous; }));
    r.push_back(text_list<C>(
        "auth.anonymous_topics",
        "topic filters anonymous clients may publish, subscribe and receive on (\"#\": all)",
        [](C& c) -> std::vector<std::string>& { return c.anonymous_topics; },
        [](const std::string& filter) -> assign_error {
          if (!topic::is_valid_filter(filter)) return "\"" + filter + "\" is not a topic filter";
          return std::nullopt;
        },
        64));
    append_broker_settings(r);
    append_ace_settings(r);
    return r;
  }();
  return registry;
}

const std::vector<entry<listener_config>>& listener_registry() {
  using L = listener_config;
  static const std::vector<entry<L>> registry = [] {
    std::vector<entry<L>> r;
    r.push_back(choice<L, transport>(
        "type", "\"tcp\", \"tls\", \"ws\", \"wss\" (MQTT over WebSocket) or \"http\" (/metrics)",
        [](L& l) -> transport& { return l.type; }, net::transport_names));
    r.push_back(text<L>("address", "address to bind (0.0.0.0, ::, 127.0.0.1, ...)",
                        [](L& l) -> std::string& { return l.address; }));
    r.push_back(integer<L, std::uint16_t>(
        "port", "port to bind (0: any free port, reported on start)",
        [](L& l) -> std::uint16_t& { return l.port; }, 0, max_u16));
    r.push_back(text<L>("certificate", "TLS: PEM certificate chain",
                        [](L& l) -> std::string& { return l.certificate; }));
    r.push_back(text<L>("key", "TLS: PEM private key", [](L& l) -> std::string& { return l.key; }));
    r.push_back(text<L>("ca", "TLS: PEM CA bundle that client certificates must chain to",
                        [](L& l) -> std::string& { return l.ca; }));
    r.push_back(choice<L, client_certificate_mode>(
        "client_certificates", "TLS: \"none\", \"optional\" or \"required\"",
        [](L& l) -> client_certificate_mode& { return l.client_certificates; },
        net::client_certificate_mode_names));
    r.push_back(seconds<L>(
        "handshake_timeout", "TLS: seconds allowed for the handshake",
        [](L& l) -> std::chrono::seconds& { return l.handshake_timeout; }, 1, 3600));
    r.push_back(seconds<L>(
        "session_ticket_lifetime",
        "TLS: seconds a TLS 1.3 session ticket allows resumption (0: no resumption)",
        [](L& l) -> std::chrono::seconds& { return l.session_ticket_lifetime; }, 0, 604800));
    r.push_back(text<L>(
        "path", "ws/wss: HTTP path of the WebSocket upgrade",
        [](L& l) -> std::string& { return l.path; }, check_path));
    r.push_back(text_list<L>(
        "auth", "providers of this listener in chain order ([]: every configured provider)",
        [](L& l) -> std::vector<std::string>& { return l.auth; }, check_provider_name, 6));
    r.push_back(real<L>(
        "connection_rate", "new connections per second on this listener (0: unlimited)",
        [](L& l) -> double& { return l.connection_rate; }, 0, 1e9));
    r.push_back(real<L>(
        "connection_burst", "connections accepted back to back (0: connection_rate, at least 1)",
        [](L& l) -> double& { return l.connection_burst; }, 0, 1e9));
    r.push_back(real<L>(
        "address_connection_rate", "new connections per second per remote address (0: unlimited)",
        [](L& l) -> double& { return l.address_connection_rate; }, 0, 1e9));
    r.push_back(real<L>(
        "address_connection_burst", "per address: back to back (0: the rate, at least 1)",
        [](L& l) -> double& { return l.address_connection_burst; }, 0, 1e9));
    return r;
  }();
  return registry;
}

}  // namespace acemq::app::detail
