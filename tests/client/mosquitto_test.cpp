// The Asio client against a real mosquitto started by each test on a free port (TCP and TLS).
// Every wait is on an event: the broker's "running" log line, or a callback of the client.

#include <acemq/client/client.hpp>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace acemq::client {
namespace {

using namespace std::chrono_literals;
using mqtt::reason_code;

const std::filesystem::path scratch = std::filesystem::path(ACEMQ_TEST_SCRATCH_DIR);

/// A port nobody listens on right now (bound then released; the broker binds it next).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

const std::string& pki_dir() {
  static const std::string dir = [] {
    const auto path = scratch / "pki";
    const std::string command =
        std::string(ACEMQ_DEV_PKI_SCRIPT) + " '" + path.string() + "' > /dev/null";
    if (std::system(command.c_str()) != 0) ADD_FAILURE() << "dev-pki failed";
    return path.string();
  }();
  return dir;
}

/// mosquitto on 127.0.0.1:port, stopped (SIGTERM) by the destructor.
class mosquitto {
 public:
  explicit mosquitto(bool tls, bool require_certificate = false)
      : port_(free_port()), config_(scratch / ("mosquitto-" + std::to_string(port_) + ".conf")) {
    const auto& config = config_;
    {
      std::ofstream out(config);
      out << "listener " << port_ << " 127.0.0.1\n"
          << "allow_anonymous true\npersistence false\nlog_dest stderr\n";
      // Started as root, mosquitto switches to its own user, which cannot read the test keys:
      // stay the user running the test.
      if (const passwd* me = ::getpwuid(::getuid()); me != nullptr)
        out << "user " << me->pw_name << "\n";
      if (tls) {
        out << "cafile " << pki_dir() << "/ca.pem\n"
            << "certfile " << pki_dir() << "/server.pem\n"
            << "keyfile " << pki_dir() << "/server.key\n";
        if (require_certificate) out << "require_certificate true\n";
      }
    }
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    std::string program = ACEMQ_MOSQUITTO;
    std::string flag = "-c";
    std::string config_path = config.string();
    char* argv[] = {program.data(), flag.data(), config_path.data(), nullptr};
    if (posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (pid_ > 0) running_ = wait_for_running(pipe_fds[0]);
    // Keep draining the log so the broker never blocks on a full pipe.
    drain_ = std::thread([fd = pipe_fds[0]] {
      char buffer[4096];
      while (::read(fd, buffer, sizeof buffer) > 0) {
      }
      ::close(fd);
    });
  }
  ~mosquitto() {
    if (pid_ > 0) stop(pid_);
    drain_.join();
    std::error_code ignored;
    std::filesystem::remove(config_, ignored);
  }
  bool running() const { return running_; }
  std::uint16_t port() const { return port_; }

 private:
  // mosquitto 2.0 can miss a SIGTERM that arrives just after it reports running (its main loop
  // sets its run flag again): repeat it, and end with SIGKILL after 5 s.
  static void stop(pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      ::kill(pid, SIGTERM);
      for (int i = 0; i < 10; ++i) {
        if (::waitpid(pid, &status, WNOHANG) == pid) return;
        std::this_thread::sleep_for(50ms);
      }
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }

  // Reads the log until mosquitto says it is running (it has bound the listener by then).
  static bool wait_for_running(int fd) {
    std::string log;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buffer[1024];
      const ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) return false;
      log.append(buffer, static_cast<std::size_t>(n));
      if (log.find(" running") != std::string::npos) return true;
    }
    return false;
  }

  std::uint16_t port_;
  std::filesystem::path config_;
  pid_t pid_ = -1;
  bool running_ = false;
  std::thread drain_;
};

/// Runs the io_context until `done` holds (or 10 s pass, which fails the test).
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_one_for(50ms);
  }
  return true;
}

/// A client with recorded callbacks.
struct recorder {
  bool connected = false;
  std::optional<failure> closed;
  std::vector<mqtt::publish> messages;
  std::vector<std::pair<std::uint16_t, reason_code>> completed;
  std::vector<mqtt::suback> subacks;
  std::vector<mqtt::unsuback> unsubacks;
  int ready = 0;

  events callbacks() {
    events e;
    e.on_connected = [this](const mqtt::connack&) { connected = true; };
    e.on_closed = [this](const failure& f) { closed = f; };
    e.on_message = [this](const mqtt::publish& p) { messages.push_back(p); };
    e.on_publish_complete = [this](std::uint16_t id, reason_code c) {
      completed.emplace_back(id, c);
    };
    e.on_subscribed = [this](const mqtt::suback& s) { subacks.push_back(s); };
    e.on_unsubscribed = [this](const mqtt::unsuback& s) { unsubacks.push_back(s); };
    e.on_ready = [this] { ++ready; };
    return e;
  }
};

mqtt::connect connect_packet(std::string id,
                             mqtt::protocol_version v = mqtt::protocol_version::v5) {
  mqtt::connect c;
  c.protocol_version = v;
  c.client_id = std::move(id);
  c.keep_alive = 30;
  return c;
}

mqtt::publish message(std::string topic, std::uint8_t qos, std::string text) {
  mqtt::publish p;
  p.topic = std::move(topic);
  p.qos = qos;
  p.payload = std::make_shared<const byte_vector>(text.begin(), text.end());
  return p;
}

class client_against_mosquitto : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(ACEMQ_MOSQUITTO).find("NOTFOUND") != std::string::npos) {
      GTEST_SKIP() << "mosquitto is not installed";
    }
    broker_ = std::make_unique<mosquitto>(false);
    ASSERT_TRUE(broker_->running());
  }
  client_options options() const {
    client_options o;
    o.port = broker_->port();
    return o;
  }
  boost::asio::io_context io_;
  std::unique_ptr<mosquitto> broker_;
};

void round_trip_all_qos(boost::asio::io_context& io, const client_options& o,
                        mqtt::protocol_version v) {
  recorder r;
  client c(io, o, r.callbacks());
  ASSERT_TRUE(c.connect(connect_packet("round-trip", v)));
  ASSERT_TRUE(run_until(io, [&] { return r.connected || r.closed; }));
  ASSERT_TRUE(r.connected) << describe(*r.closed);
  const std::uint32_t subscription_id = v == mqtt::protocol_version::v5 ? 12 : 0;
  ASSERT_TRUE(c.subscribe({{"rt/#", {2, false, false, mqtt::retain_handling::send_on_subscribe}}},
                          subscription_id));
  ASSERT_TRUE(run_until(io, [&] { return !r.subacks.empty(); }));
  EXPECT_EQ(r.subacks[0].reason_codes.at(0), reason_code::granted_qos_2);
  for (std::uint8_t qos = 0; qos <= 2; ++qos) {
    ASSERT_TRUE(c.publish(message("rt/q" + std::to_string(qos), qos, "payload")));
  }
  ASSERT_TRUE(run_until(io, [&] { return r.messages.size() == 3 && r.completed.size() == 2; }));
  for (std::uint8_t qos = 0; qos <= 2; ++qos) {
    EXPECT_EQ(r.messages[qos].topic, "rt/q" + std::to_string(qos));
    EXPECT_EQ(r.messages[qos].qos, qos);
    EXPECT_EQ(as_string_view(r.messages[qos].payload_view()), "payload");
    if (subscription_id != 0) {
      EXPECT_EQ(r.messages[qos].properties.subscription_identifiers,
                std::vector<std::uint32_t>{subscription_id});
    }
  }
  EXPECT_EQ(c.in_flight(), 0);
  ASSERT_TRUE(c.disconnect());
  ASSERT_TRUE(run_until(io, [&] { return r.closed.has_value(); }));
  EXPECT_EQ(r.closed->error, client_error::closed_by_client);
}

TEST_F(client_against_mosquitto, v5_round_trip_at_every_qos_with_a_subscription_identifier) {
  round_trip_all_qos(io_, options(), mqtt::protocol_version::v5);
}

TEST_F(client_against_mosquitto, v311_round_trip_at_every_qos) {
  round_trip_all_qos(io_, options(), mqtt::protocol_version::v311);
}

TEST_F(client_against_mosquitto, topic_aliases_and_a_large_payload_arrive_intact) {
  recorder r;
  client_options o = options();
  o.machine.outbound_topic_aliases = 4;
  o.machine.topic_alias_maximum = 4;
  client c(io_, o, r.callbacks());
  ASSERT_TRUE(c.connect(connect_packet("alias")));
  ASSERT_TRUE(run_until(io_, [&] { return r.connected || r.closed; }));
  ASSERT_TRUE(r.connected);
  EXPECT_GT(c.limits().topic_alias_maximum, 0);  // mosquitto allows 10 by default
  ASSERT_TRUE(c.subscribe({{"alias/topic", {1, false, false, {}}}}));
  ASSERT_TRUE(run_until(io_, [&] { return !r.subacks.empty(); }));
  byte_vector big(512 * 1024);
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<std::uint8_t>(i * 31);
  mqtt::publish p;
  p.topic = "alias/topic";
  p.qos = 1;
  p.payload = std::make_shared<const byte_vector>(big);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(c.publish(p));
  ASSERT_TRUE(run_until(io_, [&] { return r.messages.size() == 3; }));
  for (const auto& m : r.messages) {
    EXPECT_EQ(m.topic, "alias/topic");  // resolved from the alias when the broker used one
    EXPECT_TRUE(
        std::equal(big.begin(), big.end(), m.payload_view().begin(), m.payload_view().end()));
  }
}

TEST_F(client_against_mosquitto, a_window_of_qos1_messages_flows_with_on_ready) {
  recorder r;
  client c(io_, options(), r.callbacks());
  ASSERT_TRUE(c.connect(connect_packet("flow")));
  ASSERT_TRUE(run_until(io_, [&] { return r.connected || r.closed; }));
  ASSERT_TRUE(r.connected);
  ASSERT_TRUE(c.subscribe({{"flow", {1, false, false, {}}}}));
  ASSERT_TRUE(run_until(io_, [&] { return !r.subacks.empty(); }));
  constexpr int total = 5000;
  int sent = 0;
  auto pump = [&] {
    const auto m = message("flow", 1, "x");
    while (sent < total && c.publish(m))
      ++sent;
  };
  pump();
  ASSERT_TRUE(run_until(io_, [&] {
    pump();
    return r.messages.size() == total && r.completed.size() == total;
  }));
  EXPECT_EQ(sent, total);
}

TEST_F(client_against_mosquitto, puback_reports_no_matching_subscribers_after_unsubscribe) {
  recorder r;
  client c(io_, options(), r.callbacks());
  ASSERT_TRUE(c.connect(connect_packet("unsub")));
  ASSERT_TRUE(run_until(io_, [&] { return r.connected || r.closed; }));
  ASSERT_TRUE(c.subscribe({{"u/a", {1, false, false, {}}}}));
  ASSERT_TRUE(run_until(io_, [&] { return !r.subacks.empty(); }));
  ASSERT_TRUE(c.unsubscribe({"u/a"}));
  ASSERT_TRUE(run_until(io_, [&] { return !r.unsubacks.empty(); }));
  EXPECT_EQ(r.unsubacks[0].reason_codes.at(0), reason_code::success);
  ASSERT_TRUE(c.publish(message("u/a", 1, "nobody")));
  ASSERT_TRUE(run_until(io_, [&] { return !r.completed.empty(); }));
  EXPECT_EQ(r.completed[0].second, reason_code::no_matching_subscribers);
  EXPECT_TRUE(r.messages.empty());
}

TEST_F(client_against_mosquitto, refused_connect_reports_the_connack_reason) {
  recorder r;
  client c(io_, options(), r.callbacks());
  auto packet = connect_packet("refused");
  // mosquitto without an authentication plugin knows no enhanced authentication method.
  packet.properties.authentication_method = "no-such-method";
  ASSERT_TRUE(c.connect(packet));
  ASSERT_TRUE(run_until(io_, [&] { return r.closed.has_value(); }));
  EXPECT_FALSE(r.connected);
  EXPECT_EQ(r.closed->error, client_error::connection_refused);
  EXPECT_EQ(r.closed->reason_code, reason_code::bad_authentication_method);
}

TEST_F(client_against_mosquitto, connecting_to_a_closed_port_is_a_transport_error) {
  recorder r;
  client_options o = options();
  o.port = free_port();
  client c(io_, o, r.callbacks());
  ASSERT_TRUE(c.connect(connect_packet("nobody")));
  ASSERT_TRUE(run_until(io_, [&] { return r.closed.has_value(); }));
  EXPECT_EQ(r.closed->error, client_error::transport_error);
  EXPECT_FALSE(c.connect(connect_packet("again")));  // one attempt per object
}

TEST_F(client_against_mosquitto, a_session_taken_over_is_reported_as_server_disconnected) {
  recorder first;
  recorder second;
  client a(io_, options(), first.callbacks());
  ASSERT_TRUE(a.connect(connect_packet("same-id")));
  ASSERT_TRUE(run_until(io_, [&] { return first.connected; }));
  client b(io_, options(), second.callbacks());
  ASSERT_TRUE(b.connect(connect_packet("same-id")));
  ASSERT_TRUE(run_until(io_, [&] { return second.connected && first.closed; }));
  EXPECT_EQ(first.closed->error, client_error::server_disconnected);
  // mosquitto 2.0 closes the old connection without DISCONNECT 0x8E (newer versions send it).
  EXPECT_TRUE(first.closed->reason_code == reason_code::session_taken_over ||
              first.closed->reason_code == reason_code::unspecified_error);
}

class tls_client_against_mosquitto : public client_against_mosquitto {
 protected:
  void SetUp() override {
    if (std::string(ACEMQ_MOSQUITTO).find("NOTFOUND") != std::string::npos) {
      GTEST_SKIP() << "mosquitto is not installed";
    }
    broker_ = std::make_unique<mosquitto>(true);
    ASSERT_TRUE(broker_->running());
  }
  client_options tls_options_with(tls_options t, std::string server_name = "localhost") {
    auto context = tls_context::create(std::move(t));
    EXPECT_TRUE(context) << (context ? "" : context.error());
    client_options o = options();
    if (context) o.tls = *context;
    o.server_name = std::move(server_name);
    return o;
  }
};

TEST_F(tls_client_against_mosquitto, verified_connection_with_exporter_before_connect_and_pin) {
  tls_options t;
  t.ca_file = pki_dir() + "/ca.pem";
  int pin_calls = 0;
  t.pin = [&](byte_view der) {
    ++pin_calls;
    return der.size() > 100;
  };
  recorder r;
  client c(io_, tls_options_with(t), r.callbacks());
  byte_vector exported;
  ASSERT_TRUE(c.connect(connect_packet("tls"), [&](client& self, mqtt::connect& packet) {
    // RFC 9431 2.2.4.1: the PoP input comes from the exporter, before CONNECT is sent.
    auto x = self.export_keying_material("EXPORTER-ACE-MQTT-Sign-Challenge", {}, 32);
    if (!x) return result<void, failure>(unexpected{failure{x.error(), {}, "exporter"}});
    exported = *x;
    packet.properties.user_properties.emplace_back("pop-input-bytes",
                                                   std::to_string(exported.size()));
    return result<void, failure>();
  }));
  ASSERT_TRUE(run_until(io_, [&] { return r.connected || r.closed; }));
  ASSERT_TRUE(r.connected) << describe(*r.closed);
  EXPECT_EQ(pin_calls, 1);
  ASSERT_EQ(exported.size(), 32U);
  auto again = c.export_keying_material("EXPORTER-ACE-MQTT-Sign-Challenge", {}, 32);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, exported);  // same session, same label and context: same bytes
  auto other = c.export_keying_material("EXPORTER-other", {}, 32);
  ASSERT_TRUE(other);
  EXPECT_NE(*other, exported);
  ASSERT_TRUE(c.subscribe({{"tls/t", {1, false, false, {}}}}));
  ASSERT_TRUE(run_until(io_, [&] { return !r.subacks.empty(); }));
  ASSERT_TRUE(c.publish(message("tls/t", 1, "secret-free payload")));
  ASSERT_TRUE(run_until(io_, [&] { return r.messages.size() == 1; }));
  ASSERT_TRUE(c.disconnect());
  ASSERT_TRUE(run_until(io_, [&] { return r.closed.has_value(); }));
  EXPECT_EQ(r.closed->error, client_error::closed_by_client);
}

/// Connects and disconnects once on `o`; whether the TLS session was resumed.
bool connect_once(boost::asio::io_context& io, const client_options& o, const std::string& id) {
  recorder r;
  client c(io, o, r.callbacks());
  if (!c.connect(connect_packet(id))) return false;
  if (!run_until(io, [&] { return r.connected || r.closed; }) || !r.connected) {
    ADD_FAILURE() << (r.closed ? describe(*r.closed) : "no CONNACK");
    return false;
  }
  const bool resumed = c.tls_session_resumed();
  EXPECT_TRUE(c.disconnect());
  EXPECT_TRUE(run_until(io, [&] { return r.closed.has_value(); }));
  return resumed;
}

TEST_F(tls_client_against_mosquitto, a_reconnect_resumes_the_tls13_session_and_checks_the_pin) {
  tls_options t;
  t.ca_file = pki_dir() + "/ca.pem";
  t.minimum_version = tls_version::tls1_3;
  int pin_calls = 0;
  t.pin = [&](byte_view der) {
    ++pin_calls;
    return der.size() > 100;
  };
  const client_options o = tls_options_with(t);
  EXPECT_FALSE(connect_once(io_, o, "resume-1"));
  EXPECT_GE(o.tls->cached_tickets(), 1U);  // mosquitto (OpenSSL defaults) sends tickets
  EXPECT_LE(o.tls->cached_tickets(), max_cached_tickets);
  EXPECT_TRUE(connect_once(io_, o, "resume-2"));
  // The pin is checked on the resumed connection too, against the certificate the ticket records.
  EXPECT_EQ(pin_calls, 2);
  // Another server name is another server: no ticket offered.
  client_options other = o;
  other.server_name = "127.0.0.1";
  EXPECT_FALSE(connect_once(io_, other, "resume-3"));
}

TEST_F(tls_client_against_mosquitto, without_resumption_every_connection_is_a_full_handshake) {
  tls_options t;
  t.ca_file = pki_dir() + "/ca.pem";
  t.resume_sessions = false;
  const client_options o = tls_options_with(t);
  EXPECT_FALSE(connect_once(io_, o, "full-1"));
  EXPECT_EQ(o.tls->cached_tickets(), 0U);
  EXPECT_FALSE(connect_once(io_, o, "full-2"));
}

TEST_F(tls_client_against_mosquitto, a_rejected_pin_aborts_before_connect) {
  tls_options t;
  t.ca_file = pki_dir() + "/ca.pem";
  t.pin = [](byte_view) { return false; };
  recorder r;
  client c(io_, tls_options_with(t), r.callbacks());
  ASSERT_TRUE(c.connect(connect_packet("pin")));
  ASSERT_TRUE(run_until(io_, [&] { return r.closed.has_value(); }));
  EXPECT_FALSE(r.connected);
  EXPECT_EQ(r.closed->error, client_error::tls_error);
}

TEST_F(tls_client_against_mosquitto, a_wrong_server_name_fails_verification) {
  tls_options t;
  t.ca_file = pki_dir() + "/ca.pem";
  recorder r;
  client c(io_, tls_options_with(t, "not-the-server.example"), r.callbacks());
  ASSERT_TRUE(c.connect(connect_packet("name")));
  ASSERT_TRUE(run_until(io_, [&] { return r.closed.has_value(); }));
  EXPECT_EQ(r.closed->error, client_error::tls_error);
}

TEST_F(tls_client_against_mosquitto, an_untrusted_server_fails_verification) {
  tls_options t;
  t.ca_file = pki_dir() + "/client.pem";  // not the CA that signed the server
  recorder r;
  client c(io_, tls_options_with(t), r.callbacks());
  ASSERT_TRUE(c.connect(connect_packet("untrusted")));
  ASSERT_TRUE(run_until(io_, [&] { return r.closed.has_value(); }));
  EXPECT_EQ(r.closed->error, client_error::tls_error);
}

TEST(tls_client_certificates, mosquitto_requiring_one_accepts_ours_and_refuses_none) {
  if (std::string(ACEMQ_MOSQUITTO).find("NOTFOUND") != std::string::npos) {
    GTEST_SKIP() << "mosquitto is not installed";
  }
  mosquitto broker(true, true);
  ASSERT_TRUE(broker.running());
  boost::asio::io_context io;
  const auto attempt = [&](bool with_certificate) {
    tls_options t;
    t.ca_file = pki_dir() + "/ca.pem";
    if (with_certificate) {
      t.certificate_file = pki_dir() + "/client.pem";
      t.private_key_file = pki_dir() + "/client.key";
    }
    auto context = tls_context::create(t);
    EXPECT_TRUE(context);
    client_options o;
    o.port = broker.port();
    o.server_name = "localhost";
    o.tls = *context;
    recorder r;
    client c(io, o, r.callbacks());
    EXPECT_TRUE(c.connect(connect_packet(with_certificate ? "with-cert" : "without-cert")));
    EXPECT_TRUE(run_until(io, [&] { return r.connected || r.closed.has_value(); }));
    return r.connected;
  };
  EXPECT_TRUE(attempt(true));
  EXPECT_FALSE(attempt(false));
}

TEST(client_without_tls, the_exporter_is_not_supported_on_plain_tcp) {
  boost::asio::io_context io;
  client c(io, client_options{}, events{});
  EXPECT_EQ(c.export_keying_material("EXPORTER-x", {}, 32).error(), client_error::not_supported);
}

TEST(tls_context_creation, missing_files_are_reported_as_values) {
  tls_options t;
  t.ca_file = (scratch / "does-not-exist.pem").string();
  auto context = tls_context::create(t);
  ASSERT_FALSE(context);
  EXPECT_NE(context.error().find("does-not-exist.pem"), std::string::npos);
  tls_options half;
  half.verify_peer = false;
  half.certificate_file = "only-a-certificate.pem";
  EXPECT_FALSE(tls_context::create(half));
}

}  // namespace
}  // namespace acemq::client
