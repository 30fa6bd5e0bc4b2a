// acemq-broker: loads the configuration (embedded defaults, then --config FILE, then the
// command-line overrides), starts the listeners and runs until SIGTERM/SIGINT.

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "acemq/broker/auth.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/log.hpp"
#include "acemq/common/random.hpp"
#include "acemq/net/config.hpp"
#include "acemq/net/server.hpp"

namespace {

constexpr int exit_config_error = 2;
constexpr int exit_start_error = 1;

std::string settings_table() {
  std::string out = "Settings (TOML keys; override any with --set key=value):\n";
  for (const auto& item : acemq::net::describe_settings()) {
    std::string line = "  " + item.key;
    if (!item.default_value.empty()) line += " = " + item.default_value;
    if (line.size() < 52) line.resize(52, ' ');
    out += line + "  " + item.description + "\n";
  }
  out +=
      "\nWithout --config: listener \"tcp\" on 0.0.0.0:1883 and listener \"tls\" on 0.0.0.0:8883 "
      "(var/pki/server.pem, var/pki/server.key, client certificates optional against "
      "var/pki/ca.pem), anonymous access allowed.\n"
      "Example: --set listener.tcp.port=1884 --set broker.maximum_packet_size=65536\n";
  return out;
}

/// Writes "<listener> <port>" lines via a temporary file and a rename, so a reader never sees a
/// partial file.
bool write_port_file(const std::string& path,
                     const std::vector<acemq::net::bound_listener>& listeners) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return false;
    for (const auto& listener : listeners)
      out << listener.name << ' ' << listener.port << '\n';
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"acemq-broker: MQTT 5.0 / 3.1.1 broker with ACE (RFC 9431) authorization"};
  std::string config_file;
  std::string data_dir;
  std::string port_file;
  std::string log_level;
  std::vector<std::string> overrides;
  app.add_option("-c,--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
  app.add_option("--data-dir", data_dir,
                 "base directory for relative paths (server.data_dir; default: the working "
                 "directory)");
  app.add_option("--port-file", port_file,
                 "write \"<listener> <port>\" lines here once listening (server.port_file)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (log.level)");
  app.add_option("--set", overrides, "override a setting: key=value (repeatable)");
  app.footer(settings_table());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : exit_config_error;
  }

  acemq::net::app_config config = acemq::net::default_config();
  auto fail = [](const acemq::net::config_error& error) {
    std::cerr << "acemq-broker: configuration error: " << error.message << '\n';
    return exit_config_error;
  };
  if (!config_file.empty()) {
    if (auto applied = acemq::net::apply_toml_file(config, config_file); !applied) {
      return fail(applied.error());
    }
  }
  // Dedicated flags are applied after the file and before the --set overrides.
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (!port_file.empty()) config.port_file = port_file;
  if (!log_level.empty()) {
    if (auto applied = acemq::net::apply_override(config, "log.level=\"" + log_level + "\"");
        !applied) {
      return fail(applied.error());
    }
  }
  for (const auto& assignment : overrides) {
    if (auto applied = acemq::net::apply_override(config, assignment); !applied) {
      return fail(applied.error());
    }
  }
  if (auto finalized = acemq::net::finalize(config); !finalized) return fail(finalized.error());

  acemq::log::set_level(config.log_level);
  if (config.allow_anonymous) {
    spdlog::warn("anonymous access is allowed (auth.allow_anonymous = true): development only");
  }

  std::vector<std::shared_ptr<acemq::broker::authenticator>> providers;
  if (config.allow_anonymous)
    providers.push_back(std::make_shared<acemq::broker::allow_anonymous>());
  providers.push_back(std::make_shared<acemq::broker::deny_all>());
  auto chain = std::make_shared<const acemq::broker::auth_chain>(std::move(providers));

  acemq::broker::broker engine(config.broker, chain, acemq::system_clock::instance(),
                               acemq::system_random::instance());
  acemq::net::server server(
      config.server, acemq::net::make_broker_handler_factory(engine, config.server.listeners),
      [&engine](acemq::clock::time_point now) { engine.tick(now); });
  // Signals are handled from before the listeners open, so a SIGTERM that arrives as soon as
  // the ports are announced is a graceful stop, not the default action.
  server.handle_signals();
  if (auto started = server.start(); !started) {
    std::cerr << "acemq-broker: " << started.error() << '\n';
    bool tls_configured = false;
    for (const auto& listener : config.server.listeners) {
      tls_configured = tls_configured || listener.type == acemq::net::transport::tls;
    }
    if (tls_configured) {
      std::cerr << "acemq-broker: for a development certificate run: scripts/dev-pki "
                << (std::filesystem::path(config.data_dir) / "var/pki").lexically_normal().string()
                << '\n';
    }
    return exit_start_error;
  }

  const auto bound = server.listeners();
  for (const auto& listener : bound) {
    std::cout << "acemq-broker: listening " << listener.name << " ("
              << acemq::net::to_string(listener.type) << ") on " << listener.address << ":"
              << listener.port << '\n';
  }
  for (std::size_t i = 0; i < bound.size(); ++i) {
    const auto& listener = config.server.listeners[i];
    if (listener.type == acemq::net::transport::tcp) {
      std::cout << "  try: mosquitto_sub -h localhost -p " << bound[i].port << " -t '#' -v\n";
    } else {
      const std::string ca = listener.ca.empty() ? std::string("var/pki/ca.pem") : listener.ca;
      std::cout << "  try: mosquitto_sub -h localhost -p " << bound[i].port << " --cafile " << ca
                << " -t '#' -v\n";
    }
  }
  std::cout << std::flush;
  if (!config.port_file.empty() && !write_port_file(config.port_file, bound)) {
    std::cerr << "acemq-broker: cannot write " << config.port_file << '\n';
    return exit_start_error;
  }

  server.run();
  spdlog::info("stopped");
  return 0;
}
