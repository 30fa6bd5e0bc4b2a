// The fault-injection matrix: every transport (TCP, TLS, WebSocket, secure WebSocket) with the
// real connection driver and the real protocol machine (broker::connection through
// make_broker_handler_factory), over a socket whose Nth read, write or handshake step fails as a
// peer's reset would (the server's io_faults seam, after Boost.Beast's test stream with a fail
// counter), for every N of a CONNECT / SUBSCRIBE / PUBLISH / PINGREQ exchange.
//
// Whatever fails, the machine hears of the end exactly once (on_transport_closed), never inside
// one of its own calls (on_bytes, on_wake, on_timer, shutdown, a posted task) and is called no
// more after it; the server ends with no connection left. Built with AddressSanitizer (dev) and
// ThreadSanitizer (tsan), a completion run inline or a call after the end also shows as a use of
// freed memory or a race.

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <atomic>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/net/io_faults.hpp"
#include "acemq/net/server.hpp"
#include "machine_watch.hpp"
#include "pki_fixture.hpp"

namespace acemq::net {
namespace {

namespace asio = boost::asio;
using namespace testing;  // the watched machine and the exchange (machine_watch.hpp)
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

/// Fails the `fail_at`th step of one kind (from 1; 0 = none) on every connection of a server,
/// and counts the steps of that kind.
class step_fault final : public io_faults {
 public:
  step_fault(io_step kind, int fail_at) : kind_(kind), fail_at_(fail_at) {}

  bool fails(io_step step) noexcept override {
    if (step != kind_) return false;
    return ++seen_ == fail_at_;
  }
  int seen() const noexcept { return seen_.load(); }

 private:
  const io_step kind_;
  const int fail_at_;
  std::atomic<int> seen_{0};
};

listener_config listener_of(transport type) {
  listener_config listener;
  listener.name = std::string(to_string(type));
  listener.type = type;
  listener.address = "127.0.0.1";
  listener.port = 0;
  if (uses_tls(type)) {
    listener.certificate = testing::pki_file("server.pem");
    listener.key = testing::pki_file("server.key");
  }
  listener.handshake_timeout = std::chrono::seconds(5);
  return listener;
}

using tls_stream = asio::ssl::stream<tcp::socket>;
using ws_stream = websocket::stream<tcp::socket>;
using wss_stream = websocket::stream<tls_stream>;

/// A blocking MQTT client over any of the four transports (the test thread's side).
class any_client {
 public:
  any_client(transport type, std::uint16_t port) {
    tls_.load_verify_file(testing::pki_file("ca.pem"));
    tls_.set_verify_mode(asio::ssl::verify_peer);
    const tcp::endpoint server{asio::ip::make_address("127.0.0.1"), port};
    boost::system::error_code ec;
    switch (type) {
      case transport::tcp:
        stream_.emplace<tcp::socket>(io_).connect(server, ec);
        break;
      case transport::tls: {
        auto& stream = stream_.emplace<tls_stream>(io_, tls_);
        stream.lowest_layer().connect(server, ec);
        if (!ec) stream.handshake(asio::ssl::stream_base::client, ec);
        break;
      }
      case transport::ws: {
        auto& stream = stream_.emplace<ws_stream>(io_);
        stream.next_layer().connect(server, ec);
        if (!ec) upgrade(stream, ec);
        break;
      }
      case transport::wss: {
        auto& stream = stream_.emplace<wss_stream>(io_, tls_);
        stream.next_layer().lowest_layer().connect(server, ec);
        if (!ec) stream.next_layer().handshake(asio::ssl::stream_base::client, ec);
        if (!ec) upgrade(stream, ec);
        break;
      }
      case transport::http:
        ec = asio::error::invalid_argument;
        break;
    }
    ok_ = !ec;
  }

  bool ok() const noexcept { return ok_; }

  /// Sends `packet`, then reads until a packet of type `wanted` arrived; false at the end of the
  /// stream (the server closed after the failure).
  bool exchange(const byte_vector& packet, std::uint8_t wanted) {
    if (!ok_ || !write(packet)) return false;
    for (;;) {
      const std::uint8_t header = read_packet();
      if (header == 0) return false;
      if ((header >> 4) == wanted) return true;
    }
  }

  void close() {
    std::visit(
        [](auto& stream) {
          boost::system::error_code ignored;
          if constexpr (!std::is_same_v<std::decay_t<decltype(stream)>, std::monostate>) {
            beast::get_lowest_layer(stream).close(ignored);
          }
        },
        stream_);
  }

 private:
  template <typename WebSocket>
  static void upgrade(WebSocket& stream, boost::system::error_code& ec) {
    stream.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(beast::http::field::sec_websocket_protocol, "mqtt");
    }));
    stream.handshake("localhost", "/mqtt", ec);
    stream.binary(true);
  }

  bool write(const byte_vector& bytes) {
    boost::system::error_code ec;
    std::visit(
        [&](auto& stream) {
          using type = std::decay_t<decltype(stream)>;
          if constexpr (std::is_same_v<type, ws_stream> || std::is_same_v<type, wss_stream>) {
            stream.write(asio::buffer(bytes), ec);
          } else if constexpr (!std::is_same_v<type, std::monostate>) {
            asio::write(stream, asio::buffer(bytes), ec);
          }
        },
        stream_);
    return !ec;
  }

  /// More bytes from the server into buffer_; false at the end of the stream or on an error.
  bool fill() {
    boost::system::error_code ec;
    std::visit(
        [&](auto& stream) {
          using type = std::decay_t<decltype(stream)>;
          if constexpr (std::is_same_v<type, ws_stream> || std::is_same_v<type, wss_stream>) {
            beast::flat_buffer message;
            stream.read(message, ec);
            const auto* data = static_cast<const std::uint8_t*>(message.data().data());
            buffer_.insert(buffer_.end(), data, data + message.size());
          } else if constexpr (!std::is_same_v<type, std::monostate>) {
            std::uint8_t chunk[4096];
            const std::size_t got = stream.read_some(asio::buffer(chunk), ec);
            buffer_.insert(buffer_.end(), chunk, chunk + got);
          }
        },
        stream_);
    return !ec;
  }

  /// The first byte of the next whole packet (0 at the end of the stream or on an error).
  std::uint8_t read_packet() {
    for (;;) {
      std::size_t length = 0;
      std::size_t at = 1;
      bool complete_header = false;
      for (int shift = 0; at < buffer_.size() && shift < 28; shift += 7, ++at) {
        length |= static_cast<std::size_t>(buffer_[at] & 0x7F) << shift;
        if ((buffer_[at] & 0x80) == 0) {
          complete_header = true;
          ++at;
          break;
        }
      }
      if (complete_header && buffer_.size() >= at + length) {
        const std::uint8_t header = buffer_.front();
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(at + length));
        return header;
      }
      if (!fill()) return 0;
    }
  }

  asio::io_context io_;
  asio::ssl::context tls_{asio::ssl::context::tls_client};
  std::variant<std::monostate, tcp::socket, tls_stream, ws_stream, wss_stream> stream_;
  byte_vector buffer_;
  bool ok_ = false;
};

struct run_result {
  int steps = 0;  ///< steps of the faulty kind the server took
  bool completed = false;
  int handlers = 0;
  int closes = 0;
  std::uint64_t active_after_stop = 0;
  std::vector<std::string> violations;
};

/// One broker and server with one listener of `type` whose `fail_at`th step of `kind` fails;
/// one client runs CONNECT, SUBSCRIBE, PUBLISH (QoS 1, delivered back), PINGREQ, then leaves.
run_result run_exchange(transport type, io_step kind, int fail_at) {
  auto fault = std::make_shared<step_fault>(kind, fail_at);
  order_report report;
  auto chain = std::make_shared<const broker::auth_chain>(
      std::vector<std::shared_ptr<broker::authenticator>>{
          std::make_shared<broker::allow_anonymous>()});
  broker::broker engine(broker::broker_settings{}, chain, system_clock::instance(),
                        system_random::instance());
  server_config config;
  config.listeners = {listener_of(type)};
  config.threads = 1;
  auto production = make_broker_handler_factory(engine, config.listeners);
  run_result result;
  {
    server instance(config, [&](broker::connection_io& io, const listener_config& listener) {
      return std::make_unique<ordered_handler>(io, listener, production, report);
    });
    instance.set_io_faults(fault);
    auto started = instance.start();
    EXPECT_TRUE(started) << (started ? "" : started.error());
    if (!started) return {};
    std::thread runner([&] { instance.run(); });
    {
      any_client client(type, instance.listeners().front().port);
      result.completed =
          client.exchange(connect_packet(), 2) && client.exchange(subscribe_packet(), 9) &&
          client.exchange(publish_packet(), 3) && client.exchange(frame(0xC0, {}), 13);
      client.close();
    }
    instance.stop(std::chrono::milliseconds(2000));
    runner.join();
    result.active_after_stop = instance.counters().active.load();
  }  // the server destroys every handler: each reports its closes
  result.steps = fault->seen();
  std::lock_guard lock(report.mutex);
  result.violations = report.violations;
  result.handlers = report.handlers;
  result.closes = report.closes;
  return result;
}

struct matrix_case {
  transport type;
  io_step kind;
};

std::string name_of(const ::testing::TestParamInfo<matrix_case>& info) {
  return std::string(to_string(info.param.type)) + "_" + std::string(to_string(info.param.kind));
}

class fault_matrix : public ::testing::TestWithParam<matrix_case> {};

TEST_P(fault_matrix, every_failing_step_ends_the_connection_once_between_machine_calls) {
  const auto [type, kind] = GetParam();
  const run_result clean = run_exchange(type, kind, 0);
  ASSERT_TRUE(clean.completed) << "the exchange fails without a fault";
  EXPECT_TRUE(clean.violations.empty());
  EXPECT_EQ(clean.handlers, 1);
  EXPECT_EQ(clean.closes, 1);
  ASSERT_GT(clean.steps, 0) << "the transport never asked the seam";
  std::cout << to_string(type) << " " << to_string(kind) << ": " << clean.steps << " steps\n";
  for (int fail_at = 1; fail_at <= clean.steps; ++fail_at) {
    const run_result faulty = run_exchange(type, kind, fail_at);
    const std::string where = std::string(to_string(kind)) + " " + std::to_string(fail_at) +
                              " of " + std::to_string(clean.steps);
    EXPECT_EQ(faulty.closes, faulty.handlers) << where;
    EXPECT_LE(faulty.handlers, 1) << where;
    EXPECT_EQ(faulty.active_after_stop, 0U) << where;
    for (const auto& violation : faulty.violations)
      ADD_FAILURE() << where << ": " << violation;
  }
}

INSTANTIATE_TEST_SUITE_P(transports, fault_matrix,
                         ::testing::Values(matrix_case{transport::tcp, io_step::read},
                                           matrix_case{transport::tcp, io_step::write},
                                           matrix_case{transport::tls, io_step::handshake},
                                           matrix_case{transport::tls, io_step::read},
                                           matrix_case{transport::tls, io_step::write},
                                           matrix_case{transport::ws, io_step::handshake},
                                           matrix_case{transport::ws, io_step::read},
                                           matrix_case{transport::ws, io_step::write},
                                           matrix_case{transport::wss, io_step::handshake},
                                           matrix_case{transport::wss, io_step::read},
                                           matrix_case{transport::wss, io_step::write}),
                         name_of);

}  // namespace
}  // namespace acemq::net
