// The program's configuration: the embedded defaults, the warnings about insecure choices, and
// the cross-field checks and path resolution run once every source is applied (finalize).

#include "acemq/app/app_config.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>
#include "acemq/common/small_file.hpp"

#include "acemq/app/settings_registry.hpp"
#include "acemq/common/topic.hpp"

namespace acemq::app {

std::string_view to_string(log_format value) {
  return name_in(log_format_names, value, "text");
}

app_config default_config() {
  app_config config;
  listener_config tcp;
  tcp.name = "tcp";
  tcp.type = transport::tcp;
  tcp.address = "127.0.0.1";
  tcp.port = 1883;
  listener_config tls;
  tls.name = "tls";
  tls.type = transport::tls;
  tls.address = "127.0.0.1";
  tls.port = 8883;
  tls.certificate = "var/pki/server.pem";
  tls.key = "var/pki/server.key";
  tls.ca = "var/pki/ca.pem";
  tls.client_certificates = client_certificate_mode::optional;
  config.server.listeners = {tcp, tls};
  return config;
}

namespace {

/// Whether a listener address can only be reached from this machine.
bool is_loopback(std::string_view address) {
  return address == "localhost" || address == "::1" || address.starts_with("127.");
}

}  // namespace

std::vector<std::string> insecure_settings(const app_config& config) {
  std::vector<std::string> out;
  if (config.allow_anonymous) {
    std::string topics;
    bool everything = false;
    for (const auto& filter : config.anonymous_topics) {
      topics += (topics.empty() ? "" : ", ") + filter;
      everything = everything || topic::covers(filter, "#");
    }
    out.push_back(everything
                      ? "anonymous clients may publish and subscribe everywhere "
                        "(auth.allow_anonymous, auth.anonymous_topics = " +
                            topics + "): development only"
                      : "anonymous clients are accepted (auth.allow_anonymous) on " + topics);
  }
  if (config.ace.enabled && config.ace.settings.allow_plain_tcp) {
    out.push_back(
        "the ace method is accepted over plain TCP (ace.allow_plain_tcp): tokens cross the "
        "network in clear and the proof binds to no channel (RFC 9431 2.2.1 requires TLS)");
  }
  for (const auto& listener : config.server.listeners) {
    if (uses_tls(listener.type) || listener.type == transport::http ||
        is_loopback(listener.address)) {
      continue;
    }
    out.push_back("listener " + listener.name + " serves MQTT without TLS on " + listener.address +
                  ": user names, passwords, tokens and messages cross the network in clear");
  }
  return out;
}

namespace {

/// Room in a CONNECT for what is not the token or the client identifier: user name,
/// authentication method, properties, the fixed and variable headers.
constexpr std::size_t connect_fields_allowance = 4096;

result<void, config_error> finalize_broker_settings(app_config& config) {
  // The network layer enforces the connection bound the engine counts.
  config.server.max_connections = config.broker.max_connections;
  // A WebSocket message never needs to be larger than the largest MQTT packet; the codec bounds
  // packets that span several messages.
  config.server.max_websocket_message = config.broker.maximum_packet_size;
  // Before authentication a client may need to send a CONNECT (MQTT 3.1.1: its password) or an
  // AUTH carrying the largest token accepted, with its client identifier and a few fields: the
  // bound before authentication never falls below that (docs/configuration.md).
  const std::size_t largest_token =
      std::max(config.ace.enabled ? config.ace.settings.max_token_size : 0,
               config.auth.device_jwt.max_token_size);
  const std::size_t connect_floor =
      largest_token + config.broker.max_client_id_length + connect_fields_allowance;
  if (config.broker.max_packet_size_before_authentication < connect_floor) {
    config.broker.max_packet_size_before_authentication =
        static_cast<std::uint32_t>(std::min<std::size_t>(connect_floor, detail::max_packet_bytes));
  }
  return {};
}

/// Reads metrics.bearer_token_file (a trailing newline is not part of the token), and refuses an
/// http listener that other machines can reach without one: /metrics tells who is connected
/// and how the broker refuses them.
result<void, config_error> load_metrics_bearer_token(server_config& server) {
  server.metrics_bearer_token.clear();
  if (!server.metrics_bearer_token_file.empty()) {
    constexpr std::size_t limit = 4096;
    const std::string& path = server.metrics_bearer_token_file;
    // The token and a line ending ("\r\n" at most), which is not part of it.
    auto token = read_small_file(path, limit + 2);
    if (token) {
      while (!token->empty() && (token->back() == '\n' || token->back() == '\r'))
        token->pop_back();
    }
    if (!token && token.error() != small_file_error::too_large) {
      return unexpected(config_error{"metrics.bearer_token_file: " + path + ": cannot be read"});
    }
    if (!token || token->empty() || token->size() > limit) {
      return unexpected(config_error{"metrics.bearer_token_file: " + path +
                                     ": must hold one token of 1 to 4096 bytes"});
    }
    server.metrics_bearer_token = std::move(*token);
  }
  for (const auto& listener : server.listeners) {
    if (listener.type == transport::http && !is_loopback(listener.address) &&
        server.metrics_bearer_token.empty()) {
      return unexpected(config_error{"listener." + listener.name + ": /metrics on " +
                                     listener.address +
                                     " would be served to other machines without credentials; set "
                                     "metrics.bearer_token_file or bind a loopback address"});
    }
  }
  return {};
}

}  // namespace

result<void, config_error> finalize(app_config& config) {
  if (config.server.listeners.empty()) {
    return unexpected(config_error{"no listener configured"});
  }
  std::set<std::string> names;
  const std::filesystem::path base(config.data_dir.empty() ? "." : config.data_dir);
  auto resolve = [&base](std::string& path) {
    if (!path.empty() && std::filesystem::path(path).is_relative()) path = (base / path).string();
  };
  for (auto& listener : config.server.listeners) {
    if (!names.insert(listener.name).second) {
      return unexpected(config_error{"listener." + listener.name + ": duplicate name"});
    }
    if (listener.address.empty()) {
      return unexpected(config_error{"listener." + listener.name + ".address: empty"});
    }
    if (uses_tls(listener.type)) {
      if (listener.certificate.empty() || listener.key.empty()) {
        return unexpected(config_error{"listener." + listener.name + ": a " +
                                       std::string(to_string(listener.type)) +
                                       " listener needs certificate and key"});
      }
      if (listener.client_certificates != client_certificate_mode::none && listener.ca.empty()) {
        return unexpected(
            config_error{"listener." + listener.name + ": client_certificates needs a ca bundle"});
      }
      resolve(listener.certificate);
      resolve(listener.key);
      resolve(listener.ca);
    }
  }
  if (config.ace.enabled && config.ace.settings.audience.empty()) {
    return unexpected(config_error{"ace.audience: required when ace.enabled = true"});
  }
  for (auto& listener : config.server.listeners) {
    for (const auto& provider : listener.auth) {
      if ((provider == "ace" || provider == "public_topics_only") && !config.ace.enabled) {
        return unexpected(config_error{"listener." + listener.name + ".auth: \"" + provider +
                                       "\" needs ace.enabled = true"});
      }
    }
  }
  for (std::string* path :
       {&config.auth.acl_file, &config.auth.password_file, &config.auth.certificate.crl_file,
        &config.auth.certificate.crl_issuer_file, &config.auth.device_registry,
        &config.ace.keys_file, &config.ace.decryption_keys_file, &config.ace.as.ca_file,
        &config.ace.as_client_secret_file, &config.persistence.path,
        &config.server.metrics_bearer_token_file}) {
    resolve(*path);
  }
  if (auto loaded = load_metrics_bearer_token(config.server); !loaded) return loaded;
  if (config.server.threads == 0) {
    config.server.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  return finalize_broker_settings(config);
}

std::optional<std::chrono::milliseconds> durability_interval(std::string_view durability) {
  std::string_view digits = durability;
  if (digits.ends_with("ms")) digits.remove_suffix(2);
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  long milliseconds = 0;
  for (const char digit : digits) {
    if (digit < '0' || digit > '9') return std::nullopt;
    milliseconds = milliseconds * 10 + (digit - '0');
  }
  if (milliseconds < 1 || milliseconds > 10'000) return std::nullopt;
  return std::chrono::milliseconds(milliseconds);
}

}  // namespace acemq::app
