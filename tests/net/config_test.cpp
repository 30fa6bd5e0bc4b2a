#include "acemq/app/app_config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace acemq::app {
namespace {

TEST(config, defaults_have_tcp_and_tls_listeners_and_anonymous_access) {
  const app_config config = default_config();
  ASSERT_EQ(config.server.listeners.size(), 2u);
  EXPECT_EQ(config.server.listeners[0].type, transport::tcp);
  EXPECT_EQ(config.server.listeners[0].port, 1883);
  EXPECT_EQ(config.server.listeners[1].type, transport::tls);
  EXPECT_EQ(config.server.listeners[1].port, 8883);
  EXPECT_EQ(config.server.listeners[1].certificate, "var/pki/server.pem");
  EXPECT_TRUE(config.allow_anonymous);
}

TEST(config, toml_sets_every_section) {
  app_config config = default_config();
  const auto applied = apply_toml(config, R"(
[server]
threads = 3
write_queue_limit = 65536
[log]
level = "debug"
[auth]
allow_anonymous = false
[broker]
maximum_packet_size = 4096
receive_maximum = 10
connect_timeout = 2
server_keep_alive = 30
maximum_qos = 1
retain_available = false
v311_denied_publish = "disconnect"
[[listener]]
name = "plain"
type = "tcp"
address = "127.0.0.1"
port = 0
[[listener]]
name = "secure"
type = "tls"
port = 8884
certificate = "c.pem"
key = "k.pem"
ca = "ca.pem"
client_certificates = "required"
handshake_timeout = 3
)",
                                  "test.toml");
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(config.server.threads, 3u);
  EXPECT_EQ(config.server.write_queue_limit, 65536u);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_FALSE(config.allow_anonymous);
  EXPECT_EQ(config.broker.maximum_packet_size, 4096u);
  EXPECT_EQ(config.broker.receive_maximum, 10);
  EXPECT_EQ(config.broker.connect_timeout, std::chrono::seconds(2));
  ASSERT_TRUE(config.broker.server_keep_alive.has_value());
  EXPECT_EQ(*config.broker.server_keep_alive, 30);
  EXPECT_EQ(config.broker.maximum_qos, 1);
  EXPECT_FALSE(config.broker.retain_available);
  EXPECT_EQ(config.broker.v311_denied_publish, broker::v311_denied_publish_policy::disconnect);
  // Listeners in a file replace the embedded ones.
  ASSERT_EQ(config.server.listeners.size(), 2u);
  EXPECT_EQ(config.server.listeners[0].name, "plain");
  EXPECT_EQ(config.server.listeners[0].address, "127.0.0.1");
  EXPECT_EQ(config.server.listeners[0].port, 0);
  const auto& secure = config.server.listeners[1];
  EXPECT_EQ(secure.type, transport::tls);
  EXPECT_EQ(secure.client_certificates, client_certificate_mode::required);
  EXPECT_EQ(secure.handshake_timeout, std::chrono::seconds(3));
}

TEST(config, unknown_key_names_key_and_line) {
  app_config config = default_config();
  const auto applied =
      apply_toml(config, "[broker]\nreceive_maximum = 5\nno_such_thing = 1\n", "bad.toml");
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message, "bad.toml:3: broker.no_such_thing: unknown setting");
}

TEST(config, wrong_type_and_range_are_errors) {
  app_config config = default_config();
  auto applied = apply_toml(config, "[broker]\nreceive_maximum = \"many\"\n", "f");
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message, "f:2: broker.receive_maximum: expected an integer");
  applied = apply_toml(config, "[broker]\nreceive_maximum = 0\n", "f");
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message, "f:2: broker.receive_maximum: must be between 1 and 65535");
  applied = apply_toml(config, "[broker]\nmaximum_qos = 3\n", "f");
  ASSERT_FALSE(applied);
  applied = apply_toml(config, "[log]\nlevel = \"loud\"\n", "f");
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("log.level"), std::string::npos);
}

TEST(config, persistence_durability_is_sync_or_milliseconds) {
  EXPECT_EQ(durability_interval("sync"), std::nullopt);
  EXPECT_EQ(durability_interval("10ms"), std::chrono::milliseconds(10));
  EXPECT_EQ(durability_interval("1ms"), std::chrono::milliseconds(1));
  EXPECT_EQ(durability_interval("10000ms"), std::chrono::milliseconds(10000));
  for (const char* bad : {"0ms", "10001ms", "ms", "", "-5ms", "1.5ms", "10s", "999999ms"}) {
    EXPECT_EQ(durability_interval(bad), std::nullopt) << bad;
  }
  app_config config = default_config();
  EXPECT_TRUE(config.persistence.enabled);
  EXPECT_EQ(config.persistence.durability, "sync");
  ASSERT_TRUE(apply_override(config, "persistence.durability=25ms"));
  EXPECT_EQ(config.persistence.durability, "25ms");
  const auto refused = apply_override(config, "persistence.durability=often");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("persistence.durability"), std::string::npos);
  ASSERT_TRUE(apply_toml(config, "[persistence]\nenabled = false\n", "f"));
  EXPECT_FALSE(config.persistence.enabled);
}

TEST(config, syntax_error_reports_line_and_column) {
  app_config config = default_config();
  const auto applied = apply_toml(config, "[broker]\nreceive_maximum = = 3\n", "syntax.toml");
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message.rfind("syntax.toml:2:", 0), 0u) << applied.error().message;
}

TEST(config, listener_errors) {
  app_config config = default_config();
  auto applied = apply_toml(config, "[[listener]]\ntype = \"tcp\"\n", "f");
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("needs a non-empty name"), std::string::npos);
  applied = apply_toml(config, "[[listener]]\nname = \"a\"\n[[listener]]\nname = \"a\"\n", "f");
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("duplicate"), std::string::npos);
  applied = apply_toml(config, "[[listener]]\nname = \"a\"\ntype = \"udp\"\n", "f");
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message,
            "f:3: listener.a.type: expected one of: tcp, tls, ws, wss, http");
  applied = apply_toml(config, "[[listener]]\nname = \"a\"\nport = 70000\n", "f");
  ASSERT_FALSE(applied);
  applied = apply_toml(config, "listener = 5\n", "f");
  ASSERT_FALSE(applied);
}

TEST(config, overrides_parse_toml_values_and_bare_strings) {
  app_config config = default_config();
  ASSERT_TRUE(apply_override(config, "broker.receive_maximum=7"));
  EXPECT_EQ(config.broker.receive_maximum, 7);
  ASSERT_TRUE(apply_override(config, "auth.allow_anonymous=false"));
  EXPECT_FALSE(config.allow_anonymous);
  ASSERT_TRUE(apply_override(config, "log.level=warn"));  // bare string
  EXPECT_EQ(config.log_level, "warn");
  ASSERT_TRUE(apply_override(config, "log.level=\"error\""));
  EXPECT_EQ(config.log_level, "error");
  ASSERT_TRUE(apply_override(config, "listener.tcp.port=1884"));
  EXPECT_EQ(config.server.listeners[0].port, 1884);
  ASSERT_TRUE(apply_override(config, "broker.server_keep_alive=-1"));
  EXPECT_FALSE(config.broker.server_keep_alive.has_value());
}

TEST(config, override_creates_a_listener) {
  app_config config = default_config();
  ASSERT_TRUE(apply_override(config, "listener.extra.port=0"));
  ASSERT_TRUE(apply_override(config, "listener.extra.address=127.0.0.1"));
  ASSERT_EQ(config.server.listeners.size(), 3u);
  EXPECT_EQ(config.server.listeners[2].name, "extra");
  EXPECT_EQ(config.server.listeners[2].type, transport::tcp);
  EXPECT_EQ(config.server.listeners[2].address, "127.0.0.1");
}

TEST(config, override_errors_name_the_key) {
  app_config config = default_config();
  auto applied = apply_override(config, "nonsense");
  ASSERT_FALSE(applied);
  EXPECT_NE(applied.error().message.find("key=value"), std::string::npos);
  applied = apply_override(config, "broker.bogus=1");
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message, "--set broker.bogus: unknown setting");
  applied = apply_override(config, "listener.tcp.colour=red");
  ASSERT_FALSE(applied);
  applied = apply_override(config, "listener.port=1");
  ASSERT_FALSE(applied);
  // A value with an embedded newline cannot smuggle in a second key.
  applied = apply_override(config, "broker.receive_maximum=1\nreceive_maximum = 2");
  ASSERT_FALSE(applied);
}

TEST(config, finalize_checks_listeners_and_resolves_paths) {
  app_config config = default_config();
  config.data_dir = "/srv/acemq";
  config.server.threads = 0;
  ASSERT_TRUE(finalize(config));
  EXPECT_EQ(config.server.listeners[1].certificate, "/srv/acemq/var/pki/server.pem");
  EXPECT_GE(config.server.threads, 1u);
  EXPECT_EQ(config.server.max_connections, config.broker.max_connections);

  app_config missing_key = default_config();
  missing_key.server.listeners[1].key.clear();
  auto finalized = finalize(missing_key);
  ASSERT_FALSE(finalized);
  EXPECT_NE(finalized.error().message.find("certificate and key"), std::string::npos);

  app_config no_ca = default_config();
  no_ca.server.listeners[1].ca.clear();
  ASSERT_FALSE(finalize(no_ca));

  app_config none = default_config();
  none.server.listeners.clear();
  ASSERT_FALSE(finalize(none));
}

TEST(config, describe_lists_every_broker_bound_once) {
  std::set<std::string> keys;
  for (const auto& item : describe_settings()) {
    EXPECT_TRUE(keys.insert(item.key).second) << item.key;
    EXPECT_FALSE(item.description.empty()) << item.key;
  }
  for (const char* key : {"broker.max_connections",
                          "broker.maximum_packet_size",
                          "broker.receive_maximum",
                          "broker.max_inflight",
                          "broker.max_queued_messages",
                          "broker.max_queued_bytes",
                          "broker.topic_alias_maximum",
                          "broker.max_topic_length",
                          "broker.max_topic_levels",
                          "broker.max_subscriptions_per_client",
                          "broker.connect_timeout",
                          "broker.server_keep_alive",
                          "broker.maximum_session_expiry",
                          "broker.maximum_qos",
                          "broker.retain_available",
                          "broker.max_retained_messages",
                          "broker.wildcard_subscription_available",
                          "broker.shared_subscription_available",
                          "broker.subscription_identifier_available",
                          "broker.max_client_id_length",
                          "broker.allow_empty_client_id",
                          "broker.response_information_prefix",
                          "broker.queue_qos0_when_offline",
                          "broker.v311_denied_publish",
                          "server.threads",
                          "log.level",
                          "auth.allow_anonymous",
                          "listener.<name>.port",
                          "listener.<name>.client_certificates"}) {
    EXPECT_EQ(keys.count(key), 1u) << key;
  }
}

TEST(config, describe_shows_defaults) {
  for (const auto& item : describe_settings()) {
    if (item.key == "broker.receive_maximum") {
      EXPECT_EQ(item.default_value, "256");
    } else if (item.key == "auth.allow_anonymous") {
      EXPECT_EQ(item.default_value, "true");
    } else if (item.key == "log.level") {
      EXPECT_EQ(item.default_value, "\"info\"");
    }
  }
}

TEST(config, example_file_documents_the_real_defaults) {
  app_config loaded = default_config();
  const auto applied = apply_toml_file(loaded, ACEMQ_EXAMPLE_CONFIG);
  ASSERT_TRUE(applied) << applied.error().message;
  const auto expected = describe_settings();
  const auto actual = describe_settings(loaded);
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].default_value, expected[i].default_value) << actual[i].key;
  }
  const app_config defaults = default_config();
  ASSERT_EQ(loaded.server.listeners.size(), defaults.server.listeners.size());
  for (std::size_t i = 0; i < loaded.server.listeners.size(); ++i) {
    const auto& a = loaded.server.listeners[i];
    const auto& b = defaults.server.listeners[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.address, b.address);
    EXPECT_EQ(a.port, b.port);
    EXPECT_EQ(a.certificate, b.certificate);
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.ca, b.ca);
    EXPECT_EQ(a.client_certificates, b.client_certificates);
    EXPECT_EQ(a.handshake_timeout, b.handshake_timeout);
    EXPECT_EQ(a.session_ticket_lifetime, b.session_ticket_lifetime);
  }
}

TEST(config, unreadable_file_is_an_error) {
  app_config config = default_config();
  const auto applied = apply_toml_file(config, "no/such/file.toml");
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().message, "no/such/file.toml: cannot be read");
}

TEST(config, websocket_http_listeners_rates_and_provider_lists) {
  app_config config = default_config();
  const auto applied = apply_toml(config, R"(
[[listener]]
name = "ws"
type = "ws"
port = 8080
path = "/mqtt/ws"
auth = ["password", "anonymous"]
connection_rate = 50
connection_burst = 100
address_connection_rate = 0.5
address_connection_burst = 5

[[listener]]
name = "wss"
type = "wss"
port = 8443
certificate = "pki/server.pem"
key = "pki/server.key"

[[listener]]
name = "metrics"
type = "http"
address = "127.0.0.1"
port = 9090
)",
                                  "test.toml");
  ASSERT_TRUE(applied) << applied.error().message;
  ASSERT_EQ(config.server.listeners.size(), 3u);
  const auto& ws = config.server.listeners[0];
  EXPECT_EQ(ws.type, transport::ws);
  EXPECT_EQ(ws.path, "/mqtt/ws");
  EXPECT_EQ(ws.auth, (std::vector<std::string>{"password", "anonymous"}));
  EXPECT_DOUBLE_EQ(ws.connection_rate, 50);
  EXPECT_DOUBLE_EQ(ws.connection_burst, 100);
  EXPECT_DOUBLE_EQ(ws.address_connection_rate, 0.5);
  EXPECT_DOUBLE_EQ(ws.address_connection_burst, 5);
  EXPECT_EQ(config.server.listeners[1].type, transport::wss);
  EXPECT_EQ(config.server.listeners[2].type, transport::http);
  config.data_dir = "/srv/acemq";
  ASSERT_TRUE(finalize(config));
  EXPECT_EQ(config.server.listeners[1].certificate, "/srv/acemq/pki/server.pem");
  EXPECT_TRUE(uses_tls(transport::wss));
  EXPECT_FALSE(carries_mqtt(transport::http));
}

TEST(config, a_metrics_listener_reachable_from_other_machines_needs_a_bearer_token) {
  app_config config = default_config();
  ASSERT_TRUE(apply_override(config, "listener.metrics.type=http"));
  EXPECT_EQ(config.server.listeners.back().address, "127.0.0.1");  // loopback unless told
  ASSERT_TRUE(finalize(config));
  EXPECT_TRUE(config.server.metrics_bearer_token.empty());

  ASSERT_TRUE(apply_override(config, "listener.metrics.address=0.0.0.0"));
  auto refused = finalize(config);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("metrics.bearer_token_file"), std::string::npos);

  const auto file = std::filesystem::temp_directory_path() /
                    ("acemq-metrics-token-" + std::to_string(::getpid()));
  {
    std::ofstream out(file);
    out << "s3cret-token\r\n";
  }
  ASSERT_TRUE(apply_override(config, "metrics.bearer_token_file=" + file.string()));
  ASSERT_TRUE(finalize(config));
  EXPECT_EQ(config.server.metrics_bearer_token, "s3cret-token");  // the line ending is not in it
  { std::ofstream out(file, std::ios::trunc); }
  auto empty = finalize(config);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message.find("s3cret"), std::string::npos);
  std::filesystem::remove(file);
  ASSERT_FALSE(finalize(config));  // absent
}

TEST(config, the_metrics_bearer_token_is_bounded_at_4096_bytes_and_the_file_at_4_mib) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("acemq-metrics-bound-" + std::to_string(::getpid()));
  app_config config = default_config();
  ASSERT_TRUE(apply_override(config, "metrics.bearer_token_file=" + file.string()));
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(4096, 't') << "\r\n";  // at the bound, with its line ending
  }
  ASSERT_TRUE(finalize(config));
  EXPECT_EQ(config.server.metrics_bearer_token.size(), 4096U);
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(4097, 't');  // one byte over
  }
  auto over = finalize(config);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("must hold one token of 1 to 4096 bytes"), std::string::npos);
  EXPECT_EQ(over.error().message.find("tttt"), std::string::npos);  // the secret is not echoed

  // A configuration file over 4 MiB is refused before it is parsed; at 4 MiB it is read.
  app_config other = default_config();
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(4 * 1024 * 1024 + 1, '#');
  }
  auto big = apply_toml_file(other, file.string());
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("larger than 4 MiB"), std::string::npos);
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(4 * 1024 * 1024, '#');  // one comment line, exactly 4 MiB
  }
  EXPECT_TRUE(apply_toml_file(other, file.string()));
  std::filesystem::remove(file);
  auto missing = apply_toml_file(other, file.string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot be read"), std::string::npos);
}

TEST(config, introspection_bounds_of_the_ace_provider) {
  app_config config = default_config();
  EXPECT_EQ(config.ace.settings.reference_token_length, 43u);
  ASSERT_TRUE(apply_override(config, "ace.reference_token_length=0"));
  ASSERT_TRUE(apply_override(config, "ace.inactive_cache_ttl=5"));
  ASSERT_TRUE(apply_override(config, "ace.inactive_cache_size=7"));
  ASSERT_TRUE(apply_override(config, "ace.introspection_address_burst=3"));
  ASSERT_TRUE(apply_override(config, "ace.introspection_address_rate=0.5"));
  EXPECT_EQ(config.ace.settings.reference_token_length, 0u);
  EXPECT_EQ(config.ace.settings.inactive_cache_ttl, std::chrono::seconds(5));
  EXPECT_EQ(config.ace.settings.inactive_cache_size, 7u);
  EXPECT_DOUBLE_EQ(config.ace.settings.introspection_address_burst, 3);
  EXPECT_DOUBLE_EQ(config.ace.settings.introspection_address_rate, 0.5);
  EXPECT_FALSE(apply_override(config, "ace.introspection_address_burst=0"));
}

TEST(config, listener_option_errors) {
  app_config config = default_config();
  auto bad_path = apply_override(config, "listener.tcp.path=mqtt");
  ASSERT_FALSE(bad_path);
  EXPECT_NE(bad_path.error().message.find("absolute HTTP path"), std::string::npos);
  auto bad_provider = apply_override(config, R"(listener.tcp.auth=["kerberos"])");
  ASSERT_FALSE(bad_provider);
  EXPECT_NE(bad_provider.error().message.find("kerberos"), std::string::npos);
  EXPECT_FALSE(apply_override(config, R"(listener.tcp.auth=["password", "password"])"));
  EXPECT_FALSE(apply_override(config, "listener.tcp.connection_rate=-1"));
  EXPECT_FALSE(apply_override(config, "listener.tcp.connection_rate=nan"));
  // TLS 1.3 ticket lifetime: 0 (no tickets) up to 7 days (RFC 8446 4.6.1), nothing beyond.
  ASSERT_TRUE(apply_override(config, "listener.tls.session_ticket_lifetime=0"));
  ASSERT_TRUE(apply_override(config, "listener.tls.session_ticket_lifetime=604800"));
  EXPECT_EQ(config.server.listeners.at(1).session_ticket_lifetime, std::chrono::seconds(604800));
  EXPECT_FALSE(apply_override(config, "listener.tls.session_ticket_lifetime=604801"));
  EXPECT_FALSE(apply_override(config, "listener.tls.session_ticket_lifetime=-1"));
  ASSERT_TRUE(apply_override(config, "listener.wss.type=\"wss\""));
  auto no_certificate = finalize(config);
  ASSERT_FALSE(no_certificate);
  EXPECT_NE(no_certificate.error().message.find("a wss listener needs certificate and key"),
            std::string::npos);
}

TEST(config, auth_keys_are_parsed_by_the_auth_library_and_paths_resolved) {
  app_config config = default_config();
  const auto applied = apply_toml(config, R"(
[auth]
allow_anonymous = false
acl_file = "etc/acl"
password_file = "/abs/passwd"
certificates = true
[auth.certificate]
identity = "san_uri"
[auth.password]
user_refill_per_second = 0.5
)",
                                  "test.toml");
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_FALSE(config.allow_anonymous);
  EXPECT_TRUE(config.auth.certificates);
  EXPECT_DOUBLE_EQ(config.auth.password.per_user.refill_per_second, 0.5);
  auto unknown = apply_toml(config, "[auth]\nkerberos = true\n", "x.toml");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "x.toml:2: auth.kerberos: unknown setting");
  auto wrong = apply_override(config, "auth.certificate.identity=serial");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("expected cn"), std::string::npos);
  config.data_dir = "/srv/acemq";
  ASSERT_TRUE(finalize(config));
  EXPECT_EQ(config.auth.acl_file, "/srv/acemq/etc/acl");
  EXPECT_EQ(config.auth.password_file, "/abs/passwd");
}

TEST(config, ace_section_maps_onto_the_provider_settings) {
  app_config config = default_config();
  const auto applied = apply_toml(config, R"(
[ace]
enabled = true
audience = "mqtts://broker.example"
issuer = "https://as.example"
keys_file = "keys/as.jwks"
max_token_size = 4096
hide_topic_names = true
revocation_poll_interval_ms = 500
[ace.store]
max_tokens = 100
uploads_per_second = 0.25
[ace.discovery]
as_uri = "https://as.example/token"
issue_cnonce = true
[ace.as]
base_url = "https://as.example:8443"
client_id = "broker"
client_secret_file = "secrets/as"
timeout_ms = 2000
)",
                                  "test.toml");
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(config.ace.enabled);
  EXPECT_EQ(config.ace.settings.audience, "mqtts://broker.example");
  EXPECT_EQ(config.ace.settings.issuer, "https://as.example");
  EXPECT_EQ(config.ace.settings.max_token_size, 4096u);
  EXPECT_TRUE(config.ace.settings.hide_topic_names);
  EXPECT_EQ(config.ace.settings.revocation_poll_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(config.ace.settings.store.max_tokens, 100u);
  EXPECT_DOUBLE_EQ(config.ace.settings.store.uploads_per_second, 0.25);
  EXPECT_EQ(config.ace.discovery.as_uri, "https://as.example/token");
  EXPECT_TRUE(config.ace.discovery.issue_cnonce);
  EXPECT_EQ(config.ace.as.base_url, "https://as.example:8443");
  EXPECT_EQ(config.ace.as.timeout, std::chrono::milliseconds(2000));
  config.data_dir = "/srv";
  ASSERT_TRUE(finalize(config));
  EXPECT_EQ(config.ace.keys_file, "/srv/keys/as.jwks");
  EXPECT_EQ(config.ace.as_client_secret_file, "/srv/secrets/as");
}

TEST(config, ace_needs_an_audience_and_listeners_need_ace_enabled) {
  app_config config = default_config();
  ASSERT_TRUE(apply_override(config, "ace.enabled=true"));
  auto no_audience = finalize(config);
  ASSERT_FALSE(no_audience);
  EXPECT_EQ(no_audience.error().message, "ace.audience: required when ace.enabled = true");

  app_config other = default_config();
  ASSERT_TRUE(apply_override(other, R"(listener.tcp.auth=["ace"])"));
  auto disabled = finalize(other);
  ASSERT_FALSE(disabled);
  EXPECT_NE(disabled.error().message.find("needs ace.enabled"), std::string::npos);
  EXPECT_FALSE(apply_override(other, "ace.max_token_size=1"));
}

TEST(config, log_format) {
  app_config config = default_config();
  EXPECT_EQ(config.log_output, log_format::text);
  ASSERT_TRUE(apply_override(config, "log.format=json"));
  EXPECT_EQ(config.log_output, log_format::json);
  EXPECT_FALSE(apply_override(config, "log.format=xml"));
}

}  // namespace
}  // namespace acemq::app
