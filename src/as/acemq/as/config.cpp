#include "acemq/as/config.hpp"

#include <toml++/toml.h>

#include <sstream>
#include <stdexcept>

namespace acemq::as {

server_config default_config() {
  server_config config;
  config.https.address = "127.0.0.1";
  config.https.port = 8443;
  config.service.issuer = "https://127.0.0.1:8443";
  return config;
}

server_config load_config(const std::string& path) {
  server_config config = default_config();
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    std::ostringstream message;
    message << "configuration " << path << ": " << error.description() << " at line "
            << error.source().begin.line;
    throw std::runtime_error(message.str());
  }
  const auto require_positive = [&](std::int64_t value, const char* name) {
    if (value <= 0)
      throw std::runtime_error(std::string("configuration: ") + name + " must be > 0");
    return value;
  };
  config.data_dir = table["data_dir"].value_or(config.data_dir);
  config.log_level = table["log_level"].value_or(config.log_level);
  config.audit_log = table["audit_log"].value_or(config.audit_log);

  if (auto https = table["https"]) {
    config.https.address = https["address"].value_or(config.https.address);
    const auto port = https["port"].value_or(std::int64_t{config.https.port});
    if (port < 0 || port > 65535)
      throw std::runtime_error("configuration: https.port out of range");
    config.https.port = static_cast<std::uint16_t>(port);
    config.https.certificate_file = https["certificate"].value_or(std::string());
    config.https.private_key_file = https["private_key"].value_or(std::string());
    config.https.client_ca_file = https["client_ca"].value_or(std::string());
    config.https.threads = static_cast<int>(
        require_positive(https["threads"].value_or(std::int64_t{2}), "https.threads"));
    config.https.max_connections = static_cast<std::size_t>(require_positive(
        https["max_connections"].value_or(std::int64_t{1024}), "https.max_connections"));
    config.https.max_body = static_cast<std::size_t>(
        require_positive(https["max_body"].value_or(std::int64_t{16384}), "https.max_body"));
    config.https.max_header = static_cast<std::size_t>(
        require_positive(https["max_header"].value_or(std::int64_t{8192}), "https.max_header"));
    config.https.idle_timeout = std::chrono::seconds(
        require_positive(https["idle_timeout"].value_or(std::int64_t{30}), "https.idle_timeout"));
    config.https.max_connections_per_address = static_cast<std::size_t>(
        require_positive(https["max_connections_per_address"].value_or(
                             static_cast<std::int64_t>(config.https.max_connections_per_address)),
                         "https.max_connections_per_address"));
    config.https.handshake_timeout = std::chrono::seconds(
        require_positive(https["handshake_timeout"].value_or(
                             static_cast<std::int64_t>(config.https.handshake_timeout.count())),
                         "https.handshake_timeout"));
    config.https.workers = static_cast<int>(require_positive(
        https["workers"].value_or(std::int64_t{config.https.workers}), "https.workers"));
    const auto max_queued =
        https["max_queued"].value_or(static_cast<std::int64_t>(config.https.max_queued));
    if (max_queued < 0) throw std::runtime_error("configuration: https.max_queued must be >= 0");
    config.https.max_queued = static_cast<std::size_t>(max_queued);
  }
  if (auto origins = table["allowed_origins"]) {
    const auto* list = origins.as_array();
    if (list == nullptr) throw std::runtime_error("configuration: allowed_origins is a list");
    for (const auto& item : *list) {
      const auto origin = item.value<std::string>();
      if (!origin || origin->empty())
        throw std::runtime_error("configuration: allowed_origins holds origin strings");
      config.service.allowed_origins.push_back(*origin);
    }
  }
  if (auto authentication = table["authentication"]) {
    auto& limits = config.service.authentication;
    // A rate of the guessing limits: absent keeps `setting`, a negative one is refused by name.
    const auto read_non_negative = [&authentication](const char* key, double& setting) {
      const double value = authentication[key].value_or(setting);
      if (value < 0) {
        throw std::runtime_error(std::string("configuration: authentication.") + key + " < 0");
      }
      setting = value;
    };
    read_non_negative("failures_per_address_burst", limits.per_address.burst);
    read_non_negative("failures_per_address_per_second", limits.per_address.refill_per_second);
    read_non_negative("failures_per_identity_burst", limits.per_identity.burst);
    read_non_negative("failures_per_identity_per_second", limits.per_identity.refill_per_second);
    limits.trusted_for = std::chrono::seconds(
        require_positive(authentication["trusted_for"].value_or(
                             static_cast<std::int64_t>(limits.trusted_for.count())),
                         "authentication.trusted_for"));
    const auto tracked = static_cast<std::size_t>(
        require_positive(authentication["max_tracked"].value_or(
                             static_cast<std::int64_t>(limits.per_address.max_entries)),
                         "authentication.max_tracked"));
    limits.per_address.max_entries = tracked;
    limits.per_identity.max_entries = tracked;
    limits.max_trusted = tracked;
  }
  config.service.limits.max_body = config.https.max_body;
  config.service.issuer = table["issuer"].value_or("https://" + config.https.address + ":" +
                                                   std::to_string(config.https.port));

  if (auto tokens = table["tokens"]) {
    config.signing_algorithm = tokens["signing_algorithm"].value_or(config.signing_algorithm);
    if (config.signing_algorithm != "EdDSA" && config.signing_algorithm != "ES256") {
      throw std::runtime_error("configuration: tokens.signing_algorithm must be EdDSA or ES256");
    }
    config.service.max_token_lifetime = require_positive(
        tokens["max_lifetime"].value_or(config.service.max_token_lifetime), "tokens.max_lifetime");
    config.service.key_rotation_interval =
        tokens["key_rotation_interval"].value_or(config.service.key_rotation_interval);
  }
  if (auto limits = table["rate_limits"]) {
    config.service.per_client.refill_per_second =
        limits["per_client_per_second"].value_or(config.service.per_client.refill_per_second);
    config.service.per_client.burst =
        limits["per_client_burst"].value_or(config.service.per_client.burst);
    config.service.per_address.refill_per_second =
        limits["per_address_per_second"].value_or(config.service.per_address.refill_per_second);
    config.service.per_address.burst =
        limits["per_address_burst"].value_or(config.service.per_address.burst);
  }
  return config;
}

}  // namespace acemq::as
