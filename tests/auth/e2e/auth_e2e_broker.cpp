// The broker of the auth end-to-end tests: acemq-broker's start-up (acemq::net configuration,
// broker engine, network server) with the acemq_auth providers in its chain, configured with
// `--set auth.<key>=<value>` (see docs/authentication.md). It also exposes the `passwd` and
// `device` management commands. It prints the same "listening" lines as acemq-broker, so the
// end-to-end harness drives it the same way.

#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "acemq/app/app_config.hpp"
#include "acemq/auth/commands.hpp"
#include "acemq/auth/providers.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/log.hpp"
#include "acemq/common/random.hpp"
#include "acemq/net/server.hpp"

namespace {

std::string unquoted(std::string value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "passwd") {
    return acemq::auth::run_passwd_command({args.begin() + 1, args.end()}, std::cin, std::cout,
                                           std::cerr, acemq::system_random::instance());
  }
  if (!args.empty() && args[0] == "device") {
    return acemq::auth::run_device_command({args.begin() + 1, args.end()}, std::cin, std::cout,
                                           std::cerr, acemq::system_clock::instance());
  }

  acemq::app::app_config config = acemq::app::default_config();
  config.allow_anonymous = false;
  std::vector<std::string> overrides;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--data-dir" && i + 1 < args.size()) {
      config.data_dir = args[++i];
    } else if (args[i] == "--set" && i + 1 < args.size()) {
      overrides.push_back(args[++i]);
    } else {
      std::cerr << "usage: auth_e2e_broker [--data-dir DIR] [--set key=value]... | passwd ... | "
                   "device ...\n";
      return 2;
    }
  }
  acemq::auth::provider_settings auth_settings;
  for (const auto& assignment : overrides) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos) {
      std::cerr << "auth_e2e_broker: expected key=value: " << assignment << '\n';
      return 2;
    }
    const std::string key = assignment.substr(0, equals);
    const std::string value = unquoted(assignment.substr(equals + 1));
    auto claimed = acemq::auth::apply_setting(auth_settings, key, value, config.data_dir);
    if (!claimed) {
      std::cerr << "auth_e2e_broker: configuration error: " << claimed.error() << '\n';
      return 2;
    }
    if (*claimed) continue;
    if (auto applied = acemq::app::apply_override(config, assignment); !applied) {
      std::cerr << "auth_e2e_broker: configuration error: " << applied.error().message << '\n';
      return 2;
    }
  }
  if (auto finalized = acemq::app::finalize(config); !finalized) {
    std::cerr << "auth_e2e_broker: configuration error: " << finalized.error().message << '\n';
    return 2;
  }
  acemq::log::set_level(config.log_level);

  auto built = acemq::auth::make_providers(auth_settings, acemq::system_clock::instance(),
                                           acemq::system_random::instance());
  if (!built) {
    std::cerr << "auth_e2e_broker: configuration error: " << built.error() << '\n';
    return 2;
  }
  std::vector<std::shared_ptr<acemq::broker::authenticator>> providers = built->providers;
  if (config.allow_anonymous) {
    providers.push_back(std::make_shared<acemq::broker::allow_anonymous>());
  }
  providers.push_back(std::make_shared<acemq::broker::deny_all>());
  auto chain = std::make_shared<const acemq::broker::auth_chain>(std::move(providers));

  acemq::broker::broker engine(config.broker, chain, acemq::system_clock::instance(),
                               acemq::system_random::instance());
  acemq::net::server server(
      config.server, acemq::net::make_broker_handler_factory(engine, config.server.listeners),
      [&engine](acemq::clock::time_point now) { engine.tick(now); });
  server.handle_signals();
  if (auto started = server.start(); !started) {
    std::cerr << "auth_e2e_broker: " << started.error() << '\n';
    return 1;
  }
  for (const auto& listener : server.listeners()) {
    std::cout << "acemq-broker: listening " << listener.name << " ("
              << acemq::net::to_string(listener.type) << ") on " << listener.address << ":"
              << listener.port << '\n';
  }
  std::cout << std::flush;
  server.run();
  return 0;
}
