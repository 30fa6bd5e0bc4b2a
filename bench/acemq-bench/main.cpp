// acemq-bench: MQTT broker benchmarks against any broker (host/port/TLS). Prints a table or
// --json; bench/compare runs it against acemq-broker and mosquitto alternately.

#include "ace_tokens.hpp"
#include "scenarios.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

/// "16", "1K", "64KB", "1MiB" -> bytes; throws CLI::ValidationError otherwise.
std::size_t parse_size(const std::string& text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits == 0) throw CLI::ValidationError("payload", "not a size: " + text);
  const std::size_t value = std::stoul(text.substr(0, digits));
  std::string unit = text.substr(digits);
  for (char& c : unit)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.empty() || unit == "B") return value;
  if (unit == "K" || unit == "KB" || unit == "KIB") return value * 1024;
  if (unit == "M" || unit == "MB" || unit == "MIB") return value * 1024 * 1024;
  throw CLI::ValidationError("payload", "unknown unit in " + text);
}

struct pubsub_cli {
  unsigned publishers = 1;
  unsigned subscribers = 1;
  std::string topics = "distinct";
  unsigned qos = 0;
  std::string payload = "16";
  double duration = 5;
  std::uint64_t count = 0;
  double rate = 0;
  double warmup = 1;
};

void add_pubsub_options(CLI::App* sub, pubsub_cli& o, bool with_counts, bool with_topics) {
  if (with_counts) {
    sub->add_option("-P,--publishers", o.publishers, "publishing clients")->capture_default_str();
    sub->add_option("-S,--subscribers", o.subscribers, "subscribing clients")
        ->capture_default_str();
  }
  if (with_topics) {
    sub->add_option("--topics", o.topics,
                    "distinct: publisher i -> topic i mod S, one subscriber per topic; shared: "
                    "one topic for all")
        ->check(CLI::IsMember({"distinct", "shared"}))
        ->capture_default_str();
  }
  sub->add_option("-q,--qos", o.qos, "QoS of publications and subscriptions")
      ->check(CLI::Range(0, 2))
      ->capture_default_str();
  sub->add_option("-s,--payload", o.payload, "payload size: 16 .. 64K (suffix K or M)")
      ->capture_default_str();
  sub->add_option("-d,--duration", o.duration, "seconds of publishing")->capture_default_str();
  sub->add_option("-n,--count", o.count, "messages per publisher instead of a duration");
  sub->add_option("-r,--rate", o.rate, "total offered rate in msg/s (0: as fast as possible)")
      ->capture_default_str();
}

acemq::bench::pubsub_settings to_settings(const pubsub_cli& o) {
  acemq::bench::pubsub_settings s;
  s.publishers = o.publishers;
  s.subscribers = o.subscribers;
  s.shared_topic = o.topics == "shared";
  s.qos = static_cast<std::uint8_t>(o.qos);
  s.payload = parse_size(o.payload);
  s.duration = std::chrono::milliseconds(static_cast<std::int64_t>(o.duration * 1000));
  s.count = o.count;
  s.rate = o.rate;
  return s;
}

/// The first line of a secret file, without its line end; throws when unreadable.
std::string read_secret_file(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) throw std::runtime_error("cannot read " + path);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.pop_back();
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "acemq-bench: MQTT broker benchmarks (throughput, fan-in/out, latency, connection "
      "rate, memory per idle connection) against any broker"};
  app.require_subcommand(1);
  acemq::bench::target target;
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  bool tls = false;
  std::string ca_file;
  std::string certificate;
  std::string private_key;
  std::string server_name;
  bool insecure = false;
  std::string mqtt_version = "5";
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  bool json = false;
  std::string username;
  std::string password;
  std::string password_file;
  bool tls13 = false;
  bool tls_resume = false;
  unsigned source_addresses = 0;
  acemq::bench::ace_settings ace;
  std::string ace_secret_file;
  std::string ace_key = "symmetric";
  std::string ace_pop = "exporter";
  app.add_option("-H,--host", host, "broker address")->capture_default_str();
  app.add_option("-p,--port", port, "broker port")->capture_default_str();
  app.add_flag("--tls", tls, "connect with TLS");
  app.add_option("--ca-file", ca_file, "PEM CA file to verify the broker (TLS)");
  app.add_option("--cert", certificate, "client certificate (PEM), with --key");
  app.add_option("--key", private_key, "client private key (PEM)");
  app.add_option("--server-name", server_name, "SNI and expected certificate name");
  app.add_flag("--insecure", insecure, "do not verify the broker's certificate");
  app.add_option("-V,--mqtt-version", mqtt_version, "5 or 3.1.1")
      ->check(CLI::IsMember({"5", "3.1.1"}))
      ->capture_default_str();
  app.add_option("-t,--threads", threads, "load-generating threads")->capture_default_str();
  app.add_option("-u,--username", username, "CONNECT user name");
  app.add_option("--password", password, "CONNECT password (never printed)");
  app.add_option("--password-file", password_file,
                 "read the CONNECT password from the first line of this file");
  app.add_flag("--tls13", tls13, "offer TLS 1.3 only");
  app.add_flag("--tls-resume", tls_resume,
               "resume TLS 1.3 sessions with the tickets earlier connections received (a client "
               "reconnecting); without it every connection is a full handshake");
  app.add_option("--session-expiry", target.session_expiry,
                 "sessions outlive the connection by this many seconds (0: they end with it)")
      ->capture_default_str();
  auto* ace_as = app.add_option("--ace-as", ace.as_url,
                                "authenticate with ACE tokens from this acemq-as (https URL)");
  ace_as->group("ACE (RFC 9431)");
  app.add_option("--ace-as-cafile", ace.as_ca_file, "PEM trust anchors for the AS")
      ->group("ACE (RFC 9431)");
  app.add_option("--ace-client-id", ace.client_id, "client id at the AS")->group("ACE (RFC 9431)");
  app.add_option("--ace-client-secret-file", ace_secret_file, "file holding the client secret")
      ->group("ACE (RFC 9431)");
  app.add_option("--ace-audience", ace.audience, "the broker's audience")->group("ACE (RFC 9431)");
  app.add_option("--ace-scope", ace.scope,
                 "AIF-MQTT scope, e.g. [[\"acemq-bench/#\",[\"pub\",\"sub\"]]]")
      ->group("ACE (RFC 9431)");
  app.add_option("--ace-key", ace_key,
                 "symmetric: AS-generated key, HS256 PoP; ed25519: own Ed25519 key per token")
      ->check(CLI::IsMember({"symmetric", "ed25519"}))
      ->capture_default_str()
      ->group("ACE (RFC 9431)");
  app.add_option("--ace-pop", ace_pop, "exporter (PoP in CONNECT) or challenge (AUTH 0x18)")
      ->check(CLI::IsMember({"exporter", "challenge"}))
      ->capture_default_str()
      ->group("ACE (RFC 9431)");
  app.add_option("--ace-tokens", ace.tokens,
                 "distinct tokens fetched before timing; connection i uses token i mod N (1: the "
                 "same token on every connection)")
      ->capture_default_str()
      ->group("ACE (RFC 9431)");
  app.add_option("--source-addresses", source_addresses,
                 "spread connections over 127.0.0.1..N (loopback targets only)");
  app.add_flag("--json", json, "print one JSON object instead of a table");

  pubsub_cli throughput;
  auto* throughput_cmd = app.add_subcommand("throughput", "P publishers -> S subscribers");
  add_pubsub_options(throughput_cmd, throughput, true, true);

  pubsub_cli fan_in;
  fan_in.publishers = 8;
  auto* fan_in_cmd = app.add_subcommand("fan-in", "N publishers -> 1 subscriber, one topic");
  fan_in_cmd->add_option("-N,--publishers", fan_in.publishers, "publishers")->capture_default_str();
  add_pubsub_options(fan_in_cmd, fan_in, false, false);

  pubsub_cli fan_out;
  fan_out.subscribers = 8;
  auto* fan_out_cmd = app.add_subcommand("fan-out", "1 publisher -> N subscribers, one topic");
  fan_out_cmd->add_option("-N,--subscribers", fan_out.subscribers, "subscribers")
      ->capture_default_str();
  add_pubsub_options(fan_out_cmd, fan_out, false, false);

  pubsub_cli latency;
  latency.rate = 10'000;
  auto* latency_cmd =
      app.add_subcommand("latency",
                         "latency percentiles at a fixed offered rate (timestamps in "
                         "the payload)");
  add_pubsub_options(latency_cmd, latency, true, true);
  latency_cmd->add_option("-w,--warmup", latency.warmup, "seconds not measured at the start")
      ->capture_default_str();

  acemq::bench::connect_rate_settings connect_rate;
  auto* connect_cmd = app.add_subcommand(
      "connect-rate", "CONNECT/CONNACK/DISCONNECT cycles per second (plain, TLS, user/password)");
  connect_cmd->add_option("-n,--connections", connect_rate.connections, "total connections")
      ->capture_default_str();
  connect_cmd->add_option("-c,--concurrency", connect_rate.concurrency, "connections in progress")
      ->capture_default_str();

  acemq::bench::idle_memory_settings idle;
  double settle = 1;
  auto* idle_cmd = app.add_subcommand(
      "idle-memory", "open N idle connections and report the broker's RSS growth per connection");
  idle_cmd->add_option("-n,--connections", idle.connections, "connections")->capture_default_str();
  idle_cmd->add_option("-c,--concurrency", idle.concurrency, "connections opened at once")
      ->capture_default_str();
  idle_cmd->add_option("--broker-pid", idle.broker_pid, "broker process for /proc/<pid>/status");
  idle_cmd->add_option("-k,--keep-alive", idle.keep_alive, "keep alive of the idle connections")
      ->capture_default_str();
  idle_cmd->add_option("--settle", settle, "seconds to wait before reading the RSS")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  target.host = host;
  target.port = port;
  target.server_name = server_name;
  target.threads = threads;
  target.source_addresses = source_addresses;
  target.version =
      mqtt_version == "5" ? acemq::mqtt::protocol_version::v5 : acemq::mqtt::protocol_version::v311;
  try {
    if (!password_file.empty()) password = read_secret_file(password_file);
    if (!ace_secret_file.empty()) ace.client_secret = read_secret_file(ace_secret_file);
  } catch (const std::runtime_error& e) {
    std::cerr << "acemq-bench: " << e.what() << "\n";
    return 2;
  }
  if (!username.empty()) target.username = username;
  if (!password.empty()) target.password = password;
  if (target.username) target.authentication = "username/password";
  if (tls) {
    acemq::client::tls_options options;
    options.ca_file = ca_file;
    options.certificate_file = certificate;
    options.private_key_file = private_key;
    options.verify_peer = !insecure;
    options.resume_sessions = tls_resume;
    if (tls13) options.minimum_version = acemq::client::tls_version::tls1_3;
    auto context = acemq::client::tls_context::create(std::move(options));
    if (!context) {
      std::cerr << "acemq-bench: " << context.error() << "\n";
      return 2;
    }
    target.tls = *context;
  }
  if (!ace.as_url.empty()) {
    if (!tls) {
      std::cerr << "acemq-bench: ACE needs --tls (RFC 9431 2.2: the profile runs over TLS)\n";
      return 2;
    }
    ace.own_ed25519_key = ace_key == "ed25519";
    ace.method = ace_pop == "challenge" ? acemq::ace_client::pop_method::challenge
                                        : acemq::ace_client::pop_method::exporter;
    ace.fetch_threads = threads;
    try {
      auto tokens = acemq::bench::fetch_ace_tokens(ace, target.version);
      target.ace = std::move(tokens.authentications);
      target.authentication = tokens.description;
      std::cerr << "acemq-bench: fetched " << target.ace.size() << " token(s) in "
                << tokens.fetch_seconds << " s before timing\n";
    } catch (const std::runtime_error& e) {
      std::cerr << "acemq-bench: " << e.what() << "\n";
      return 2;
    }
  }

  acemq::bench::report result;
  try {
    if (throughput_cmd->parsed()) {
      result = acemq::bench::run_pubsub(target, to_settings(throughput), "throughput");
    } else if (fan_in_cmd->parsed()) {
      auto s = to_settings(fan_in);
      s.subscribers = 1;
      s.shared_topic = true;
      result = acemq::bench::run_pubsub(target, s, "fan-in");
    } else if (fan_out_cmd->parsed()) {
      auto s = to_settings(fan_out);
      s.publishers = 1;
      s.shared_topic = true;
      result = acemq::bench::run_pubsub(target, s, "fan-out");
    } else if (latency_cmd->parsed()) {
      auto s = to_settings(latency);
      if (s.rate <= 0) {
        std::cerr << "acemq-bench: latency needs a fixed --rate\n";
        return 2;
      }
      s.measure_latency = true;
      s.payload = std::max<std::size_t>(s.payload, 16);
      s.warmup = std::chrono::milliseconds(static_cast<std::int64_t>(latency.warmup * 1000));
      if (latency.count == 0) s.duration += s.warmup;
      result = acemq::bench::run_pubsub(target, s, "latency");
    } else if (connect_cmd->parsed()) {
      result = acemq::bench::run_connect_rate(target, connect_rate);
    } else if (idle_cmd->parsed()) {
      idle.settle = std::chrono::milliseconds(static_cast<std::int64_t>(settle * 1000));
      result = acemq::bench::run_idle_memory(target, idle);
    }
  } catch (const CLI::ValidationError& e) {
    std::cerr << "acemq-bench: " << e.what() << "\n";
    return 2;
  }
  std::cout << (json ? acemq::bench::to_json(result) : acemq::bench::to_table(result)) << "\n";
  for (const std::string& note : result.notes) {
    if (note.rfind("error:", 0) == 0) return 1;
  }
  return 0;
}
