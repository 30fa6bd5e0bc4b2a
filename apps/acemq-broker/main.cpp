// acemq-broker: loads the configuration (embedded defaults, then --config FILE, then the
// command-line overrides), assembles the authentication chain, starts the listeners and runs
// until SIGTERM/SIGINT. SIGHUP reloads TLS certificates, the log level and format, and the auth
// files (ACL, password file, CRL) without dropping connections (docs/operations.md).

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/app/app_config.hpp"
#include "acemq/app/auth_setup.hpp"
#include "acemq/app/logging.hpp"
#include "acemq/app/metrics.hpp"
#include "acemq/app/port_file.hpp"
#include "acemq/auth/commands.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/log.hpp"
#include "acemq/common/random.hpp"
#include "acemq/net/server.hpp"
#include "acemq/persist/sqlite_store.hpp"

namespace {

constexpr int exit_config_error = 2;
constexpr int exit_start_error = 1;

std::string settings_table() {
  std::string out =
      "Management commands (they do not start the broker):\n  acemq-broker passwd ...\n" +
      acemq::auth::passwd_usage() + "\n  acemq-broker device ...\n" + acemq::auth::device_usage() +
      "\n\nSettings (TOML keys; override any with --set key=value):\n";
  for (const auto& item : acemq::app::describe_settings()) {
    std::string line = "  " + item.key;
    if (!item.default_value.empty()) line += " = " + item.default_value;
    if (line.size() < 52) line.resize(52, ' ');
    out += line + "  " + item.description + "\n";
  }
  out +=
      "\nWithout --config: listener \"tcp\" on 127.0.0.1:1883 and listener \"tls\" on "
      "127.0.0.1:8883 (var/pki/server.pem, var/pki/server.key, client certificates optional "
      "against var/pki/ca.pem), anonymous access on public/# only.\n"
      "Example: --set listener.tcp.port=1884 --set broker.maximum_packet_size=65536\n";
  return out;
}

/// The configuration sources, kept so SIGHUP can read them again.
struct config_sources {
  std::string file;
  std::string data_dir;
  std::string port_file;
  std::string log_level;
  std::vector<std::string> overrides;
};

acemq::result<acemq::app::app_config, acemq::app::config_error> load_config(
    const config_sources& sources) {
  acemq::app::app_config config = acemq::app::default_config();
  if (!sources.file.empty()) {
    if (auto applied = acemq::app::apply_toml_file(config, sources.file); !applied) {
      return acemq::unexpected(applied.error());
    }
  }
  // Dedicated flags are applied after the file and before the --set overrides.
  if (!sources.data_dir.empty()) config.data_dir = sources.data_dir;
  if (!sources.port_file.empty()) config.port_file = sources.port_file;
  if (!sources.log_level.empty()) {
    if (auto applied =
            acemq::app::apply_override(config, "log.level=\"" + sources.log_level + "\"");
        !applied) {
      return acemq::unexpected(applied.error());
    }
  }
  for (const auto& assignment : sources.overrides) {
    if (auto applied = acemq::app::apply_override(config, assignment); !applied) {
      return acemq::unexpected(applied.error());
    }
  }
  if (auto finalized = acemq::app::finalize(config); !finalized) {
    return acemq::unexpected(finalized.error());
  }
  return config;
}

/// Records the ACE token store's changes in the broker's database, batched and committed with the
/// broker's own state. Connected for its lifetime, which ends before the database's.
class ace_token_journal final : public acemq::ace::token_journal {
 public:
  ace_token_journal(acemq::persist::sqlite_store& store, acemq::app::authentication& auth)
      : store_(store), auth_(auth) {
    auth_.set_ace_token_journal(this);
  }
  ~ace_token_journal() override { auth_.set_ace_token_journal(nullptr); }
  ace_token_journal(const ace_token_journal&) = delete;
  ace_token_journal& operator=(const ace_token_journal&) = delete;

  void saved(std::string_view key_identity, const acemq::ace::validated_token& token,
             const std::vector<std::string>& names) override {
    store_.put_token(key_identity, acemq::ace::encode_journal_record(token, names),
                     token.expires_at);
  }
  void removed(std::string_view key_identity) override { store_.remove_token(key_identity); }

 private:
  acemq::persist::sqlite_store& store_;
  acemq::app::authentication& auth_;
};

}  // namespace

int main(int argc, char** argv) {
  // Management commands for the password file and the device registry (docs/authentication.md).
  // They run before the server's command line is parsed and never start the broker.
  if (argc >= 2 && std::string_view(argv[1]) == "passwd") {
    return acemq::auth::run_passwd_command({argv + 2, argv + argc}, std::cin, std::cout, std::cerr,
                                           acemq::system_random::instance());
  }
  if (argc >= 2 && std::string_view(argv[1]) == "device") {
    return acemq::auth::run_device_command({argv + 2, argv + argc}, std::cin, std::cout, std::cerr,
                                           acemq::system_clock::instance());
  }
  CLI::App app{"acemq-broker: MQTT 5.0 / 3.1.1 broker with ACE (RFC 9431) authorization"};
  config_sources sources;
  app.add_option("-c,--config", sources.file, "TOML configuration file")->check(CLI::ExistingFile);
  app.add_option("--data-dir", sources.data_dir,
                 "base directory for relative paths (server.data_dir; default: the working "
                 "directory)");
  app.add_option("--port-file", sources.port_file,
                 "write \"<listener> <port>\" lines here once listening (server.port_file)");
  app.add_option("--log-level", sources.log_level,
                 "trace, debug, info, warn, error or off (log.level)");
  app.add_option("--set", sources.overrides, "override a setting: key=value (repeatable)");
  app.footer(settings_table());
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : exit_config_error;
  }

  auto loaded = load_config(sources);
  if (!loaded) {
    std::cerr << "acemq-broker: configuration error: " << loaded.error().message << '\n';
    return exit_config_error;
  }
  acemq::app::app_config config = std::move(*loaded);

  acemq::app::configure_logging(config.log_level, config.log_output);
  for (const std::string& warning : acemq::app::insecure_settings(config))
    spdlog::warn("insecure: {}", warning);

  auto assembled = acemq::app::authentication::assemble(config, acemq::system_clock::instance(),
                                                        acemq::system_random::instance());
  if (!assembled) {
    std::cerr << "acemq-broker: configuration error: " << assembled.error() << '\n';
    return exit_config_error;
  }
  std::unique_ptr<acemq::app::authentication> auth = std::move(*assembled);
  {
    std::string order;
    for (const auto& name : auth->provider_names())
      order += (order.empty() ? "" : " -> ") + name;
    spdlog::info("authentication chain: {}", order);
  }

  // Declared before the engine, which records into it until it is destroyed; the destructor
  // commits what is pending.
  std::unique_ptr<acemq::persist::sqlite_store> store;
  if (config.persistence.enabled) {
    const std::filesystem::path path(config.persistence.path);
    std::error_code ignored;
    if (path.has_parent_path() && !std::filesystem::exists(path.parent_path(), ignored)) {
      std::filesystem::create_directories(path.parent_path(), ignored);
      // Queued messages and retained payloads are application data: owner only.
      std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ignored);
    }
    acemq::persist::store_options options;
    if (const auto interval = acemq::app::durability_interval(config.persistence.durability)) {
      options.durability = acemq::persist::durability_mode::interval;
      options.flush_interval = *interval;
    } else {
      // Sync mode commits before writing; the background commit only bounds how long changes
      // no acknowledgement waits for stay in memory.
      options.flush_interval = std::chrono::milliseconds(100);
    }
    auto opened =
        acemq::persist::sqlite_store::open(path.string(), options, acemq::system_clock::instance());
    if (!opened) {
      // Never a silent reset: the operator decides what to do with the file.
      std::cerr << "acemq-broker: persistence: " << path.string() << ": " << opened.error().message
                << '\n';
      return exit_start_error;
    }
    store = std::move(*opened);
  }
  acemq::broker::broker engine(config.broker, auth->default_chain(),
                               acemq::system_clock::instance(), acemq::system_random::instance());
  if (store) {
    auto snapshot = store->load();
    if (!snapshot) {
      std::cerr << "acemq-broker: persistence: " << config.persistence.path << ": "
                << snapshot.error().message << '\n';
      return exit_start_error;
    }
    const auto restored = engine.restore(*store, std::move(*snapshot));
    std::cout << "acemq-broker: persistence: restored " << restored.sessions << " sessions and "
              << restored.retained << " retained messages from " << config.persistence.path
              << " (durability " << config.persistence.durability << ")" << std::endl;
    if (restored.discarded > 0) {
      std::cout << "acemq-broker: persistence: ended " << restored.discarded
                << " sessions stored without an owner by an earlier release (their clients start "
                   "new sessions)"
                << std::endl;
    }
    store->start_flusher();
    config.server.persistence = store.get();
  }
  // RFC 9431 2.4.2: tokens the ACE provider held (authz-info uploads, earlier connections) are
  // kept in the same database and validated again at start.
  std::optional<ace_token_journal> token_journal;
  if (store && auth->has_ace()) {
    token_journal.emplace(*store, *auth);
    auto saved = store->load_tokens(acemq::system_clock::instance().unix_seconds());
    if (!saved) {
      std::cerr << "acemq-broker: persistence: " << config.persistence.path << ": "
                << saved.error().message << '\n';
      return exit_start_error;
    }
    std::vector<acemq::ace::journal_record> records;
    for (const auto& row : *saved) {
      if (auto record = acemq::ace::decode_journal_record(row.value)) {
        records.push_back(std::move(*record));
      } else {
        // A record this build cannot read is dropped rather than trusted.
        store->remove_token(row.key);
      }
    }
    std::cout << "acemq-broker: persistence: validating "
              << auth->restore_ace_tokens(std::move(records)) << " stored ACE token(s) again"
              << std::endl;
  }
  const acemq::app::authentication& chains = *auth;
  acemq::net::server server(config.server,
                            acemq::net::make_broker_handler_factory(
                                engine, config.server.listeners,
                                [&chains](const acemq::net::listener_config& listener) {
                                  return chains.chain_for(listener);
                                },
                                [&chains](const acemq::net::listener_config& listener) {
                                  return chains.interceptor_for(listener);
                                }),
                            [&engine](acemq::clock::time_point now) { engine.tick(now); });
  if (auto lookup = auth->psk()) server.set_psk_lookup(std::move(lookup));
  // RFC 9431 3.2: a revoked token ends its connections; woken connections re-check their
  // principal (revoked()) and disconnect with 0x87.
  auth->on_revocation([&engine] { engine.wake_all(); });
  if (config.ace.enabled) {
    // The revocation poller decides itself whether its interval has passed.
    const auto interval =
        std::min(config.ace.settings.revocation_poll_interval, std::chrono::milliseconds(1000));
    server.add_periodic(interval, [auth = auth.get()] { auth->tick(); });
  }
  const auto started_at = std::chrono::steady_clock::now();
  server.set_metrics_source([&engine, &server, &chains, started_at] {
    acemq::app::metrics_sources metrics;
    metrics.broker = &engine.counters();
    metrics.server = &server.counters();
    metrics.providers = &chains.counters();
    metrics.uptime_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at).count();
    return acemq::app::render_metrics(metrics);
  });
  server.set_reload_handler([&sources, &config, auth = auth.get()] {
    acemq::net::server::reload_outcome outcome;
    outcome.listeners = config.server.listeners;
    auto fresh = load_config(sources);
    if (!fresh) {
      outcome.problems.push_back("configuration: " + fresh.error().message +
                                 " (TLS files re-read from the previous paths)");
    } else {
      // Only what can change under live connections is taken: log settings, TLS files. Listener
      // addresses, ports and the provider set need a restart (docs/operations.md).
      acemq::app::configure_logging(fresh->log_level, fresh->log_output);
      outcome.listeners = fresh->server.listeners;
    }
    auto problems = auth->reload();
    outcome.problems.insert(outcome.problems.end(), problems.begin(), problems.end());
    return outcome;
  });
  // Signals are handled from before the listeners open, so a SIGTERM that arrives as soon as
  // the ports are announced is a graceful stop, not the default action.
  server.handle_signals();
  if (auto started = server.start(); !started) {
    std::cerr << "acemq-broker: " << started.error() << '\n';
    bool tls_configured = false;
    for (const auto& listener : config.server.listeners) {
      tls_configured = tls_configured || acemq::net::uses_tls(listener.type);
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
    } else if (listener.type == acemq::net::transport::http) {
      std::cout << "  try: curl http://localhost:" << bound[i].port << "/metrics\n";
    } else if (listener.type == acemq::net::transport::ws) {
      std::cout << "  try: MQTT.js mqtt.connect('ws://localhost:" << bound[i].port << listener.path
                << "')\n";
    } else if (listener.type == acemq::net::transport::wss) {
      std::cout << "  try: MQTT.js mqtt.connect('wss://localhost:" << bound[i].port << listener.path
                << "')\n";
    } else {
      const std::string ca = listener.ca.empty() ? std::string("var/pki/ca.pem") : listener.ca;
      std::cout << "  try: mosquitto_sub -h localhost -p " << bound[i].port << " --cafile " << ca
                << " -t '#' -v\n";
    }
  }
  std::cout << std::flush;
  if (!config.port_file.empty() && !acemq::app::write_port_file(config.port_file, bound)) {
    std::cerr << "acemq-broker: cannot write " << config.port_file << '\n';
    return exit_start_error;
  }

  server.run();
  spdlog::info("stopped");
  return 0;
}
