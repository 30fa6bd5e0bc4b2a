#pragma once
// acemq-as configuration: a TOML file (etc/acemq-as.toml documents every key) whose values the
// command-line flags override. Loading errors are start-up errors and throw.

#include <cstdint>
#include <string>

#include "acemq/as/https_server.hpp"
#include "acemq/as/service.hpp"

namespace acemq::as {

struct server_config {
  std::string data_dir = "var/as";
  std::string log_level = "info";
  std::string signing_algorithm = "EdDSA";  // EdDSA or ES256
  https_server_options https;
  service_options service;
  /// Audit log file; relative paths are inside data_dir.
  std::string audit_log = "audit.log";
};

/// Reads `path` over the defaults. Throws std::runtime_error with the file, line and reason.
server_config load_config(const std::string& path);
/// The defaults (no file).
server_config default_config();

}  // namespace acemq::as
