// The connection driver and listeners with a small fake protocol machine, over real sockets on
// port 0. Everything waits on events (socket reads, condition variables), never on sleeps.

#include "acemq/net/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <array>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "pki_fixture.hpp"

namespace acemq::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// What the fake machines report to the test thread.
struct probe {
  std::mutex mutex;
  std::condition_variable changed;
  int transport_closed = 0;
  int created = 0;
  std::string last_protocol;
  /// The delays (in 10 ms) of the '+' deadlines that fired, in firing order.
  std::vector<int> fired;
  /// For each transport that closed, in order: how many deadlines had fired by then.
  std::vector<std::size_t> fired_before_close;

  void bump(int& counter) {
    std::lock_guard lock(mutex);
    ++counter;
    changed.notify_all();
  }
  void wait_for(const int& counter, int value) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return counter >= value; });
  }
};

/// A command-driven echo machine: each received byte is echoed, and some letters trigger the
/// driver features under test.
class echo_handler final : public connection_handler {
 public:
  echo_handler(broker::connection_io& io, probe& report) : io_(io), probe_(report) {
    if (io_.tls() != nullptr) {
      std::lock_guard lock(probe_.mutex);
      probe_.last_protocol = std::string(io_.tls()->protocol());
    }
    probe_.bump(probe_.created);
  }

  void on_bytes(byte_view data) override {
    if (paused_) {
      // Delivered before the pause took effect: held, like the MQTT machine does.
      held_.insert(held_.end(), data.begin(), data.end());
      return;
    }
    for (std::size_t at = 0; at < data.size(); ++at) {
      const std::uint8_t byte = data[at];
      switch (byte) {
        case 'q':  // reply, then close after the reply is flushed
          io_.send({to_bytes("bye"), nullptr});
          io_.close();
          return;
        case '!': {  // 32 MiB, more than the kernel holds for a peer not reading, then close
          auto chunk = std::make_shared<const byte_vector>(1024 * 1024, std::uint8_t{'x'});
          for (int i = 0; i < 32; ++i)
            io_.send({byte_vector{}, chunk});
          io_.close();
          return;
        }
        case '@': {  // the peer's address as the transport tells it, then a newline
          const std::string text(io_.remote_address().view());
          io_.send({to_bytes(text + "\n"), nullptr});
          break;
        }
        case 'm': {  // a burst of small messages sharing one payload
          auto payload = std::make_shared<const byte_vector>(to_bytes("PAYLOAD"));
          for (int i = 0; i < 2000; ++i) {
            io_.send({to_bytes("#" + std::to_string(i % 10)), payload});
          }
          break;
        }
        case 'L': {  // one message larger than a TLS staging batch: header plus shared payload
          auto large = std::make_shared<const byte_vector>(200 * 1024, std::uint8_t{'L'});
          io_.send({to_bytes("<"), large});
          io_.send({to_bytes(">"), nullptr});
          break;
        }
        case 'b': {  // more than the write queue limit while the peer is not reading
          auto big = std::make_shared<const byte_vector>(64 * 1024, std::uint8_t{'x'});
          for (int i = 0; i < 100; ++i)
            io_.send({byte_vector{}, big});
          break;
        }
        case '%': {  // fill the socket queue until the driver reports congestion, then mark it
          auto chunk = std::make_shared<const byte_vector>(64 * 1024, std::uint8_t{'x'});
          for (int i = 0; i < 1000 && !io_.congested(); ++i)
            io_.send({byte_vector{}, chunk});
          io_.send({to_bytes("C"), nullptr});
          break;
        }
        case '~':  // stop reading; the timer resumes it
          io_.pause_reading();
          paused_ = true;
          held_.assign(data.begin() + static_cast<std::ptrdiff_t>(at + 1), data.end());
          io_.arm_timer(std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
          return;
        case 'z':  // reply, then hold the I/O thread for 300 ms (events pile up meanwhile)
          io_.send({to_bytes("z"), nullptr});
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          break;
        case 't':
          io_.arm_timer(std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
          break;
        case '<':  // a deadline already passed; on_timer sets another passed one, once
          past_rearms_ = 1;
          io_.arm_timer(std::chrono::steady_clock::now() - std::chrono::seconds(1));
          break;
        case '+':  // '+' n: a deadline n * 10 ms from now, reported to the probe when it fires
          if (at + 1 < data.size()) {
            delay_ = data[++at];
            io_.arm_timer(std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(10 * delay_));
          }
          break;
        case 'r':  // re-arming replaces: only the second deadline fires
          io_.arm_timer(std::chrono::steady_clock::now() + std::chrono::milliseconds(10));
          io_.arm_timer(std::chrono::steady_clock::now() + std::chrono::milliseconds(30));
          break;
        case 'w':
          std::thread([&io = io_] { io.wake(); }).join();
          break;
        case 'W':  // many wakes from several threads before the first runs: one on_wake()
          for (int i = 0; i < 4; ++i) {
            std::thread([&io = io_] {
              for (int j = 0; j < 100; ++j)
                io.wake();
            }).join();
          }
          break;
        case 'p':
          std::thread([&io = io_] {
            io.post([&io] { io.send({to_bytes("P"), nullptr}); });
          }).join();
          break;
        default:
          io_.send({byte_vector{byte}, nullptr});
      }
    }
  }
  void on_timer(clock::time_point) override {
    if (delay_ != 0) {
      std::lock_guard lock(probe_.mutex);
      probe_.fired.push_back(delay_);
      delay_ = 0;
      probe_.changed.notify_all();
    }
    io_.send({to_bytes("T"), nullptr});
    if (past_rearms_ > 0) {
      --past_rearms_;
      io_.arm_timer(std::chrono::steady_clock::now() - std::chrono::seconds(1));
    }
    if (paused_) {
      paused_ = false;
      io_.resume_reading();
      const byte_vector held = std::move(held_);
      held_.clear();
      on_bytes(held);
    }
  }
  void on_wake() override { io_.send({to_bytes("W"), nullptr}); }
  void on_transport_closed() override {
    {
      std::lock_guard lock(probe_.mutex);
      probe_.fired_before_close.push_back(probe_.fired.size());
    }
    probe_.bump(probe_.transport_closed);
  }
  void shutdown() override {
    io_.send({to_bytes("BYE"), nullptr});
    io_.close();
  }

 private:
  broker::connection_io& io_;
  probe& probe_;
  bool paused_ = false;
  byte_vector held_;
  int delay_ = 0;
  int past_rearms_ = 0;
};

listener_config tcp_listener() {
  listener_config listener;
  listener.name = "tcp";
  listener.type = transport::tcp;
  listener.address = "127.0.0.1";
  listener.port = 0;
  return listener;
}

listener_config tls_listener() {
  listener_config listener;
  listener.name = "tls";
  listener.type = transport::tls;
  listener.address = "127.0.0.1";
  listener.port = 0;
  listener.certificate = testing::pki_file("server.pem");
  listener.key = testing::pki_file("server.key");
  listener.handshake_timeout = std::chrono::seconds(5);
  return listener;
}

class server_test : public ::testing::Test {
 protected:
  void start(server_config config, const std::function<void(server&)>& prepare = {}) {
    if (config.listeners.empty()) config.listeners = {tcp_listener(), tls_listener()};
    if (config.threads == 0) config.threads = 2;
    instance_ =
        std::make_unique<server>(config, [this](broker::connection_io& io, const listener_config&) {
          return std::make_unique<echo_handler>(io, probe_);
        });
    if (prepare) prepare(*instance_);
    auto started = instance_->start();
    ASSERT_TRUE(started) << started.error();
    runner_ = std::thread([this] { instance_->run(); });
  }

  void TearDown() override {
    if (instance_) {
      instance_->stop(std::chrono::milliseconds(2000));
      runner_.join();
    }
  }

  std::uint16_t port_of(transport type) const {
    for (const auto& listener : instance_->listeners()) {
      if (listener.type == type) return listener.port;
    }
    return 0;
  }

  tcp::socket connect_tcp() {
    tcp::socket socket(client_io_);
    socket.connect({asio::ip::make_address("127.0.0.1"), port_of(transport::tcp)});
    return socket;
  }

  using tls_client = asio::ssl::stream<tcp::socket>;

  /// A client of the TLS listener that verifies the server, its handshake done.
  std::unique_ptr<tls_client> connect_tls() {
    auto stream = std::make_unique<tls_client>(client_io_, tls_client_context_);
    stream->lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port_of(transport::tls)});
    stream->handshake(asio::ssl::stream_base::client);
    return stream;
  }

  static asio::ssl::context verifying_client_context() {
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.load_verify_file(testing::pki_file("ca.pem"));
    context.set_verify_mode(asio::ssl::verify_peer);
    return context;
  }

  template <typename Stream>
  static std::string read_exactly(Stream& stream, std::size_t size) {
    std::string out(size, '\0');
    asio::read(stream, asio::buffer(out));
    return out;
  }

  template <typename Stream>
  static bool reaches_eof(Stream& stream) {
    char byte = 0;
    boost::system::error_code ec;
    stream.read_some(asio::buffer(&byte, 1), ec);
    return static_cast<bool>(ec);
  }

  probe probe_;
  asio::io_context client_io_;
  asio::ssl::context tls_client_context_ = verifying_client_context();
  std::unique_ptr<server> instance_;
  std::thread runner_;
};

TEST_F(server_test, binds_port_zero_and_reports_the_port) {
  start({});
  ASSERT_EQ(instance_->listeners().size(), 2u);
  EXPECT_NE(port_of(transport::tcp), 0);
  EXPECT_NE(port_of(transport::tls), 0);
}

TEST_F(server_test, echoes_over_tcp) {
  start({});
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("hello")));
  EXPECT_EQ(read_exactly(socket, 5), "hello");
  EXPECT_EQ(instance_->counters().accepted.load(), 1u);
}

TEST_F(server_test, many_queued_messages_arrive_complete_and_in_order) {
  start({});
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("m")));
  std::string expected;
  for (int i = 0; i < 2000; ++i)
    expected += "#" + std::to_string(i % 10) + "PAYLOAD";
  EXPECT_EQ(read_exactly(socket, expected.size()), expected);
}

TEST_F(server_test, timer_fires_and_rearming_replaces) {
  start({});
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("t")));
  EXPECT_EQ(read_exactly(socket, 1), "T");
  // A deadline already passed fires at once; one set again from on_timer (also passed) fires on
  // the next turn.
  asio::write(socket, asio::buffer(std::string("<")));
  EXPECT_EQ(read_exactly(socket, 2), "TT");
  asio::write(socket, asio::buffer(std::string("r")));
  EXPECT_EQ(read_exactly(socket, 1), "T");
  // Only one timer fired for "r": the echo of "x" is the next byte.
  asio::write(socket, asio::buffer(std::string("x")));
  EXPECT_EQ(read_exactly(socket, 1), "x");
}

TEST_F(server_test, deadlines_of_many_connections_fire_in_order_and_once) {
  // One I/O thread: every connection's deadline sits in the same queue.
  server_config config;
  config.threads = 1;
  start(config);
  const std::vector<int> delays = {9, 3, 7, 1, 5, 8, 2, 6, 4};
  std::vector<tcp::socket> sockets;
  for (const int delay : delays) {
    sockets.push_back(connect_tcp());
    const std::array<char, 2> command = {'+', static_cast<char>(delay)};
    asio::write(sockets.back(), asio::buffer(command));
  }
  // Moved later (3 -> 9 is not the earliest any more) and earlier (9 -> 1 fires first).
  const std::array<char, 2> later = {'+', 10};
  asio::write(sockets[1], asio::buffer(later));
  const std::array<char, 2> earlier = {'+', 1};
  asio::write(sockets[0], asio::buffer(earlier));
  {
    std::unique_lock lock(probe_.mutex);
    probe_.changed.wait(lock, [&] { return probe_.fired.size() >= delays.size(); });
    EXPECT_EQ(probe_.fired, (std::vector<int>{1, 1, 2, 4, 5, 6, 7, 8, 10}));
  }
  for (auto& socket : sockets)
    EXPECT_EQ(read_exactly(socket, 1), "T");
}

TEST_F(server_test, a_closed_connection_loses_its_deadline) {
  server_config config;
  config.threads = 1;
  start(config);
  auto leaving = connect_tcp();
  const std::array<char, 2> soon = {'+', 20};  // 200 ms: the close is almost always seen first
  asio::write(leaving, asio::buffer(soon));
  leaving.close();
  probe_.wait_for(probe_.transport_closed, 1);
  auto staying = connect_tcp();
  const std::array<char, 2> later = {'+', 40};  // after the closed one's deadline, whenever set
  asio::write(staying, asio::buffer(later));
  EXPECT_EQ(read_exactly(staying, 1), "T");
  // The earlier deadline of the closed connection would have fired first. (On a loaded machine it
  // may fire before the server reads the end of the stream: the connection was alive then.)
  std::lock_guard lock(probe_.mutex);
  ASSERT_EQ(probe_.fired_before_close.size(), 1U);
  const auto after_close = static_cast<std::ptrdiff_t>(probe_.fired_before_close[0]);
  EXPECT_EQ(std::vector<int>(probe_.fired.begin() + after_close, probe_.fired.end()),
            std::vector<int>{40});
}

TEST_F(server_test, wake_and_post_from_other_threads_run_on_the_connection) {
  start({});
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("w")));
  EXPECT_EQ(read_exactly(socket, 1), "W");
  asio::write(socket, asio::buffer(std::string("p")));
  EXPECT_EQ(read_exactly(socket, 1), "P");
}

TEST_F(server_test, wakes_before_the_first_runs_are_coalesced) {
  start({});
  auto socket = connect_tcp();
  // All 400 wakes happen inside one on_bytes() call, i.e. before any posted on_wake() can run
  // on the connection's thread; the echo of "x" that follows proves nothing else was queued.
  asio::write(socket, asio::buffer(std::string("Wx")));
  EXPECT_EQ(read_exactly(socket, 2), "xW");
  asio::write(socket, asio::buffer(std::string("y")));
  EXPECT_EQ(read_exactly(socket, 1), "y");
}

TEST_F(server_test, close_flushes_then_ends_the_transport_once) {
  start({});
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("aq")));
  EXPECT_EQ(read_exactly(socket, 4), "abye");
  EXPECT_TRUE(reaches_eof(socket));
  probe_.wait_for(probe_.transport_closed, 1);
  EXPECT_EQ(probe_.transport_closed, 1);
}

TEST_F(server_test, peer_close_is_reported) {
  start({});
  {
    auto socket = connect_tcp();
    asio::write(socket, asio::buffer(std::string("z")));
    EXPECT_EQ(read_exactly(socket, 1), "z");
  }
  probe_.wait_for(probe_.transport_closed, 1);
  EXPECT_EQ(probe_.transport_closed, 1);
}

TEST_F(server_test, connections_beyond_the_limit_are_closed_at_once) {
  server_config config;
  config.max_connections = 1;
  start(config);
  auto first = connect_tcp();
  asio::write(first, asio::buffer(std::string("1")));
  EXPECT_EQ(read_exactly(first, 1), "1");
  auto second = connect_tcp();
  EXPECT_TRUE(reaches_eof(second));
  EXPECT_EQ(instance_->counters().refused_over_limit.load(), 1u);
  // The first is unaffected.
  asio::write(first, asio::buffer(std::string("2")));
  EXPECT_EQ(read_exactly(first, 1), "2");
}

TEST_F(server_test, slow_consumer_is_disconnected) {
  server_config config;
  config.write_queue_limit = 256 * 1024;
  start(config);
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("b")));
  probe_.wait_for(probe_.transport_closed, 1);
  EXPECT_EQ(instance_->counters().slow_consumers.load(), 1u);
}

TEST_F(server_test, congestion_is_reported_and_its_end_wakes_the_machine) {
  server_config config;
  config.write_high_water = 256 * 1024;
  start(config);
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("%")));
  // At least the high-water mark was queued before congested() said so; once the test has read
  // it all, the drained socket wakes the machine ("W"), and nobody was disconnected.
  std::string seen;
  std::vector<char> chunk(64 * 1024);
  while (seen.size() < 2 || seen.substr(seen.size() - 2) != "CW") {
    const std::size_t got = socket.read_some(asio::buffer(chunk));
    seen.append(chunk.data(), got);
  }
  EXPECT_GE(seen.size(), config.write_high_water + 2);
  EXPECT_EQ(seen.find_first_not_of('x'), seen.size() - 2);
  EXPECT_EQ(instance_->counters().slow_consumers.load(), 0u);
}

TEST_F(server_test, paused_reading_reads_nothing_until_resumed) {
  start({});
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("~")));
  asio::write(socket, asio::buffer(std::string("a")));
  // Unpaused, "a" would be echoed at once, long before the 20 ms timer's "T".
  EXPECT_EQ(read_exactly(socket, 2), "Ta");
}

TEST_F(server_test, bytes_left_behind_by_a_full_read_are_read_without_new_input) {
  // Plain TCP sockets are edge-triggered: once reading resumes, nothing new arrives, and every
  // read fills the 512-byte buffer, so each must lead to the next without waiting for an event.
  server_config config;
  config.read_chunk = 512;
  start(config);
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("~")));
  const std::string waiting(40 * 1024, 'a');
  asio::write(socket, asio::buffer(waiting));
  EXPECT_EQ(read_exactly(socket, waiting.size() + 1), "T" + waiting);
}

TEST_F(server_test, bursts_and_large_messages_over_tcp_arrive_intact) {
  start({});
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("m")));
  std::string burst;
  for (int i = 0; i < 2000; ++i)
    burst += "#" + std::to_string(i % 10) + "PAYLOAD";
  EXPECT_EQ(read_exactly(socket, burst.size()), burst);
  // Written in several sends while the reader is slow: each resumes inside a queued item.
  asio::write(socket, asio::buffer(std::string("LL")));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string large = "<" + std::string(200 * 1024, 'L') + ">";
  std::string seen;
  std::vector<char> chunk(1000);
  while (seen.size() < 2 * large.size()) {
    const std::size_t got = socket.read_some(asio::buffer(chunk));
    seen.append(chunk.data(), got);
  }
  EXPECT_EQ(seen, large + large);
}

TEST_F(server_test, a_tcp_client_leaving_during_a_large_write_is_closed_and_the_server_goes_on) {
  start({});
  {
    auto leaving = connect_tcp();
    // As over TLS: the client reads none of the congested queue and goes; the write waiting
    // for room fails with an error, not a signal.
    asio::write(leaving, asio::buffer(std::string("%")));
    probe_.wait_for(probe_.created, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  probe_.wait_for(probe_.transport_closed, 1);
  auto next = connect_tcp();
  asio::write(next, asio::buffer(std::string("k")));
  EXPECT_EQ(read_exactly(next, 1), "k");
}

TEST_F(server_test, a_closing_connection_whose_peer_reads_nothing_is_dropped_after_the_linger) {
  // close() waits for the queued bytes; a peer that never reads them does not keep the
  // connection open past close_linger.
  server_config config;
  config.listeners = {tcp_listener()};
  config.write_queue_limit = 64 * 1024 * 1024;
  config.close_linger = std::chrono::milliseconds(200);
  start(config);
  auto silent = connect_tcp();
  asio::write(silent, asio::buffer(std::string("!")));
  probe_.wait_for(probe_.created, 1);
  {
    std::unique_lock lock(probe_.mutex);
    EXPECT_TRUE(probe_.changed.wait_for(lock, std::chrono::seconds(5), [&] {
      return probe_.transport_closed >= 1;
    })) << "still open 5 s after a close with a linger of 200 ms";
  }
  // Dropped with bytes unwritten: the client reads what the kernel took, then the end, short of
  // the 32 MiB the machine queued.
  boost::system::error_code ec;
  std::vector<char> sink(1 << 20);
  std::size_t received = 0;
  while (!ec)
    received += silent.read_some(asio::buffer(sink), ec);
  EXPECT_LT(received, std::size_t{32} * 1024 * 1024);
}

TEST_F(server_test, the_remote_address_is_the_peers_address_and_port) {
  server_config config;
  listener_config v6 = tcp_listener();
  v6.name = "tcp6";
  v6.address = "::1";
  config.listeners = {tcp_listener(), v6};
  config.threads = 1;
  start(config);
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("@")));
  asio::streambuf line;
  asio::read_until(socket, line, '\n');
  EXPECT_EQ(std::string(asio::buffers_begin(line.data()), asio::buffers_end(line.data())),
            "127.0.0.1:" + std::to_string(socket.local_endpoint().port()) + "\n");

  std::uint16_t v6_port = 0;
  for (const auto& listener : instance_->listeners())
    if (listener.name == "tcp6") v6_port = listener.port;
  ASSERT_NE(v6_port, 0);
  tcp::socket over_v6(client_io_);
  over_v6.connect({asio::ip::make_address("::1"), v6_port});
  asio::write(over_v6, asio::buffer(std::string("@")));
  asio::streambuf line6;
  asio::read_until(over_v6, line6, '\n');
  EXPECT_EQ(std::string(asio::buffers_begin(line6.data()), asio::buffers_end(line6.data())),
            "[::1]:" + std::to_string(over_v6.local_endpoint().port()) + "\n");
}

TEST_F(server_test, more_ready_sockets_than_one_readiness_batch_are_all_served) {
  // One I/O thread fetches at most 128 ready sockets per epoll_wait: 200 sockets made ready
  // while the thread is held all get their bytes read and echoed.
  server_config config;
  config.listeners = {tcp_listener()};
  config.threads = 1;
  start(config);
  auto holder = connect_tcp();
  std::vector<tcp::socket> sockets;
  for (int i = 0; i < 200; ++i)
    sockets.push_back(connect_tcp());
  probe_.wait_for(probe_.created, 201);
  asio::write(holder, asio::buffer(std::string("z")));
  EXPECT_EQ(read_exactly(holder, 1), "z");  // the thread now sleeps
  for (std::size_t i = 0; i < sockets.size(); ++i)
    asio::write(sockets[i], asio::buffer(std::string(1, static_cast<char>('0' + i % 10))));
  for (std::size_t i = 0; i < sockets.size(); ++i)
    EXPECT_EQ(read_exactly(sockets[i], 1), std::string(1, static_cast<char>('0' + i % 10)));
}

TEST_F(server_test, many_idle_tcp_connections_are_served_and_closed) {
  // Descriptors are reused over the rounds: a closed connection's registration in its worker's
  // readiness set is gone, and the new one on the same descriptor is the one called.
  start({});
  for (int round = 0; round < 3; ++round) {
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < 50; ++i)
      sockets.push_back(connect_tcp());
    for (std::size_t i = 0; i < sockets.size(); ++i) {
      const std::string byte(1, static_cast<char>('0' + i % 10));
      asio::write(sockets[i], asio::buffer(byte));
      EXPECT_EQ(read_exactly(sockets[i], 1), byte);
    }
    for (auto& socket : sockets)
      socket.close();
    probe_.wait_for(probe_.transport_closed, 50 * (round + 1));
  }
  EXPECT_EQ(instance_->counters().accepted.load(), 150u);
}

TEST_F(server_test, stop_asks_every_connection_to_shut_down) {
  start({});
  auto socket = connect_tcp();
  asio::write(socket, asio::buffer(std::string("k")));
  EXPECT_EQ(read_exactly(socket, 1), "k");
  instance_->stop(std::chrono::milliseconds(2000));
  EXPECT_EQ(read_exactly(socket, 3), "BYE");
  EXPECT_TRUE(reaches_eof(socket));
  runner_.join();
  instance_.reset();
  EXPECT_EQ(probe_.transport_closed, 1);
}

TEST_F(server_test, echoes_over_tls13) {
  start({});
  auto stream = connect_tls();
  asio::write(*stream, asio::buffer(std::string("hello")));
  EXPECT_EQ(read_exactly(*stream, 5), "hello");
  std::lock_guard lock(probe_.mutex);
  EXPECT_EQ(probe_.last_protocol, "TLSv1.3");
}

TEST_F(server_test, bursts_and_large_messages_over_tls_arrive_intact) {
  start({});
  auto stream = connect_tls();
  asio::write(*stream, asio::buffer(std::string("m")));
  std::string burst;
  for (int i = 0; i < 2000; ++i)
    burst += "#" + std::to_string(i % 10) + "PAYLOAD";
  EXPECT_EQ(read_exactly(*stream, burst.size()), burst);
  asio::write(*stream, asio::buffer(std::string("L")));
  EXPECT_EQ(read_exactly(*stream, 200 * 1024 + 2), "<" + std::string(200 * 1024, 'L') + ">");
}

TEST_F(server_test, paused_reading_over_tls_reads_nothing_until_resumed) {
  start({});
  auto stream = connect_tls();
  asio::write(*stream, asio::buffer(std::string("~")));
  asio::write(*stream, asio::buffer(std::string("a")));
  EXPECT_EQ(read_exactly(*stream, 2), "Ta");
}

TEST_F(server_test, resumed_reading_over_tls_hands_new_bytes_over_after_the_machine_returns) {
  // The machine resumes reading from inside on_timer and then processes what it held; over TLS
  // a read started inside that call handed the bytes waiting in the socket over at once, inside
  // it, before the held ones ("Tyzx"). Reads start on a later turn, as over TCP.
  start({});
  auto stream = connect_tls();
  asio::write(*stream, asio::buffer(std::string("~x")));
  asio::write(*stream, asio::buffer(std::string("yz")));
  EXPECT_EQ(read_exactly(*stream, 4), "Txyz");
}

TEST_F(server_test, plain_bytes_on_a_tls_listener_fail_the_handshake) {
  start({});
  tcp::socket socket(client_io_);
  socket.connect({asio::ip::make_address("127.0.0.1"), port_of(transport::tls)});
  // An MQTT 3.1.1 CONNECT where a ClientHello belongs.
  const std::string connect("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00", 14);
  asio::write(socket, asio::buffer(connect));
  // The server may answer with an alert before it closes.
  boost::system::error_code ec;
  std::array<char, 256> answer{};
  while (!ec)
    socket.read_some(asio::buffer(answer), ec);
  EXPECT_EQ(instance_->counters().tls_handshake_failures.load(), 1u);
  EXPECT_EQ(probe_.created, 0);
}

TEST_F(server_test, a_tls_client_leaving_during_a_large_write_is_closed_and_the_server_goes_on) {
  start({});
  {
    auto leaving = connect_tls();
    // The machine queues until the driver reports congestion; the client reads none of it and
    // goes (unread data: the kernel resets the connection). The server's next write fails with
    // an error, not a signal.
    asio::write(*leaving, asio::buffer(std::string("%")));
  }
  probe_.wait_for(probe_.transport_closed, 1);
  auto next = connect_tls();
  asio::write(*next, asio::buffer(std::string("k")));
  EXPECT_EQ(read_exactly(*next, 1), "k");
}

TEST_F(server_test, tls12_without_extended_master_secret_is_refused) {
  start({});
  asio::ssl::context context(asio::ssl::context::tls_client);
  SSL_CTX_set_max_proto_version(context.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_options(context.native_handle(), SSL_OP_NO_EXTENDED_MASTER_SECRET);
  asio::ssl::stream<tcp::socket> stream(client_io_, context);
  stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port_of(transport::tls)});
  boost::system::error_code ec;
  stream.handshake(asio::ssl::stream_base::client, ec);
  ASSERT_FALSE(ec) << ec.message();  // the handshake itself completes...
  EXPECT_TRUE(reaches_eof(stream));  // ...then the server closes
  EXPECT_EQ(instance_->counters().tls_refused_no_ems.load(), 1u);
  EXPECT_EQ(probe_.created, 0);
}

TEST_F(server_test, tls_handshake_timeout_closes_a_silent_client) {
  server_config config;
  listener_config tls = tls_listener();
  tls.handshake_timeout = std::chrono::seconds(1);
  config.listeners = {tcp_listener(), tls};
  start(config);
  tcp::socket socket(client_io_);
  socket.connect({asio::ip::make_address("127.0.0.1"), port_of(transport::tls)});
  EXPECT_TRUE(reaches_eof(socket));
  EXPECT_EQ(instance_->counters().tls_handshake_failures.load(), 1u);
}

TEST(server_start, address_in_use_is_an_error) {
  asio::io_context io;
  tcp::acceptor occupied(io, {asio::ip::make_address("127.0.0.1"), 0});
  server_config config;
  listener_config listener = tcp_listener();
  listener.port = occupied.local_endpoint().port();
  config.listeners = {listener};
  server instance(config, [](broker::connection_io&, const listener_config&) {
    return std::unique_ptr<connection_handler>();
  });
  auto started = instance.start();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().find("listener tcp"), std::string::npos);
}

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

listener_config ws_listener(transport type = transport::ws) {
  listener_config listener = type == transport::wss ? tls_listener() : tcp_listener();
  listener.name = std::string(to_string(type));
  listener.type = type;
  listener.path = "/mqtt";
  return listener;
}

/// Reads from a WebSocket until `size` bytes arrived (in any number of messages).
template <typename Stream>
std::string read_ws(websocket::stream<Stream>& ws, std::size_t size) {
  std::string out;
  beast::flat_buffer buffer;
  while (out.size() < size) {
    ws.read(buffer);
    out += beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
  }
  return out;
}

void offer_mqtt(websocket::stream<tcp::socket>& ws, const std::string& protocols) {
  ws.set_option(websocket::stream_base::decorator([protocols](websocket::request_type& request) {
    request.set(http::field::sec_websocket_protocol, protocols);
  }));
}

TEST_F(server_test, websocket_upgrade_timeout_closes_a_silent_client) {
  server_config config;
  listener_config ws = ws_listener();
  ws.handshake_timeout = std::chrono::seconds(1);
  config.listeners = {ws};
  start(config);
  tcp::socket socket(client_io_);
  socket.connect({asio::ip::make_address("127.0.0.1"), port_of(transport::ws)});
  // Half an HTTP request, then nothing: the upgrade deadline closes the connection.
  asio::write(socket, asio::buffer(std::string("GET /mqtt HTTP/1.1\r\n")));
  EXPECT_TRUE(reaches_eof(socket));
  std::lock_guard lock(probe_.mutex);
  EXPECT_EQ(probe_.created, 0);  // no machine for a connection that never upgraded
}

TEST_F(server_test, websocket_carries_bytes_in_any_split_with_the_mqtt_subprotocol) {
  server_config config;
  config.listeners = {ws_listener()};
  start(config);
  websocket::stream<tcp::socket> ws(client_io_);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_of(transport::ws)});
  offer_mqtt(ws, "mqttv3.1, mqtt");
  websocket::response_type response;
  ws.handshake(response, "localhost", "/mqtt");
  EXPECT_EQ(response[http::field::sec_websocket_protocol], "mqtt");  // [MQTT-6.0.0-4]
  ws.binary(true);
  ws.write(asio::buffer(std::string("he")));
  ws.write(asio::buffer(std::string("llo")));
  EXPECT_EQ(read_ws(ws, 5), "hello");
  ws.write(asio::buffer(std::string("m")));
  std::string burst = read_ws(ws, 2000 * 9);
  EXPECT_EQ(burst.substr(0, 9), "#0PAYLOAD");
  EXPECT_EQ(burst.substr(burst.size() - 9), "#9PAYLOAD");
}

TEST_F(server_test, websocket_accepts_the_legacy_subprotocol_and_refuses_others) {
  server_config config;
  config.listeners = {ws_listener()};
  start(config);
  {
    websocket::stream<tcp::socket> ws(client_io_);
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_of(transport::ws)});
    offer_mqtt(ws, "mqttv3.1");
    websocket::response_type response;
    ws.handshake(response, "localhost", "/mqtt");
    EXPECT_EQ(response[http::field::sec_websocket_protocol], "mqttv3.1");
  }
  for (const auto& [protocols, path] :
       std::vector<std::pair<std::string, std::string>>{{"chat", "/mqtt"}, {"mqtt", "/other"}}) {
    websocket::stream<tcp::socket> ws(client_io_);
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_of(transport::ws)});
    offer_mqtt(ws, protocols);
    boost::system::error_code ec;
    ws.handshake("localhost", path, ec);
    EXPECT_TRUE(ec) << protocols << " " << path;
  }
  EXPECT_EQ(instance_->counters().websocket_refused.load(), 2u);
}

TEST_F(server_test, websocket_text_frames_close_the_connection) {
  server_config config;
  config.listeners = {ws_listener()};
  start(config);
  websocket::stream<tcp::socket> ws(client_io_);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), port_of(transport::ws)});
  offer_mqtt(ws, "mqtt");
  ws.handshake("localhost", "/mqtt");
  ws.text(true);
  ws.write(asio::buffer(std::string("x")));
  probe_.wait_for(probe_.transport_closed, 1);  // [MQTT-6.0.0-1]
  EXPECT_EQ(probe_.transport_closed, 1);
}

TEST_F(server_test, secure_websocket_exposes_the_tls_session) {
  server_config config;
  config.listeners = {ws_listener(transport::wss)};
  start(config);
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(testing::pki_file("ca.pem"));
  context.set_verify_mode(asio::ssl::verify_peer);
  websocket::stream<asio::ssl::stream<tcp::socket>> ws(client_io_, context);
  beast::get_lowest_layer(ws).connect(
      {asio::ip::make_address("127.0.0.1"), port_of(transport::wss)});
  ws.next_layer().handshake(asio::ssl::stream_base::client);
  ws.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
    request.set(http::field::sec_websocket_protocol, "mqtt");
  }));
  ws.handshake("localhost", "/mqtt");
  ws.binary(true);
  ws.write(asio::buffer(std::string("xyz")));
  EXPECT_EQ(read_ws(ws, 3), "xyz");
  std::lock_guard lock(probe_.mutex);
  EXPECT_EQ(probe_.last_protocol, "TLSv1.3");
}

/// One HTTP/1.1 request on a fresh connection.
http::response<http::string_body> http_request(asio::io_context& io, std::uint16_t port,
                                               http::verb method, const std::string& target) {
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> request(method, target, 11);
  request.set(http::field::host, "localhost");
  http::write(socket, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  if (method == http::verb::head) parser.skip(true);
  http::read(socket, buffer, parser);
  return parser.release();
}

TEST_F(server_test, http_listener_serves_metrics_only) {
  server_config config;
  listener_config metrics = tcp_listener();
  metrics.name = "metrics";
  metrics.type = transport::http;
  config.listeners = {tcp_listener(), metrics};
  start(config, [](server& instance) {
    instance.set_metrics_source([] { return std::string("acemq_test 1\n"); });
  });
  const auto port = port_of(transport::http);
  auto ok = http_request(client_io_, port, http::verb::get, "/metrics");
  EXPECT_EQ(ok.result(), http::status::ok);
  EXPECT_EQ(ok.body(), "acemq_test 1\n");
  EXPECT_EQ(ok[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  auto head = http_request(client_io_, port, http::verb::head, "/metrics");
  EXPECT_EQ(head.result(), http::status::ok);
  EXPECT_EQ(http_request(client_io_, port, http::verb::get, "/").result(), http::status::not_found);
  EXPECT_EQ(http_request(client_io_, port, http::verb::post, "/metrics").result(),
            http::status::method_not_allowed);
  EXPECT_EQ(instance_->counters().http_requests.load(), 4u);
  EXPECT_EQ(probe_.created, 0);  // no MQTT machine for http
}

TEST_F(server_test, connection_rates_refuse_at_accept_and_others_stay_served) {
  server_config config;
  listener_config limited = tcp_listener();
  limited.address_connection_rate = 0.001;  // effectively no refill during the test
  limited.address_connection_burst = 2;
  listener_config other = tls_listener();
  other.connection_rate = 0.001;
  other.connection_burst = 1;
  config.listeners = {limited, other};
  start(config);
  auto first = connect_tcp();
  auto second = connect_tcp();
  auto third = connect_tcp();
  EXPECT_TRUE(reaches_eof(third));
  EXPECT_EQ(instance_->counters().refused_address_rate.load(), 1u);
  // The admitted connections are unaffected.
  asio::write(first, asio::buffer(std::string("1")));
  EXPECT_EQ(read_exactly(first, 1), "1");
  asio::write(second, asio::buffer(std::string("2")));
  EXPECT_EQ(read_exactly(second, 1), "2");
  // Listener-wide bucket on the TLS listener: one connection, then refusals.
  tcp::socket tls_first(client_io_);
  tls_first.connect({asio::ip::make_address("127.0.0.1"), port_of(transport::tls)});
  tcp::socket tls_second(client_io_);
  tls_second.connect({asio::ip::make_address("127.0.0.1"), port_of(transport::tls)});
  EXPECT_TRUE(reaches_eof(tls_second));
  EXPECT_EQ(instance_->counters().refused_listener_rate.load(), 1u);
}

/// The subject common name of the certificate a new TLS connection receives.
std::string served_certificate_serial(asio::io_context& io, std::uint16_t port) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  asio::ssl::stream<tcp::socket> stream(io, context);
  stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  stream.handshake(asio::ssl::stream_base::client);
  X509* certificate = SSL_get0_peer_certificate(stream.native_handle());
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr);
  char* hex = BN_bn2hex(number);
  std::string serial(hex);
  OPENSSL_free(hex);
  BN_free(number);
  return serial;
}

TEST_F(server_test, reload_swaps_the_certificate_for_new_connections_only) {
  server_config config;
  config.listeners = {tls_listener()};
  start(config);
  const auto port = port_of(transport::tls);
  asio::ssl::context context(asio::ssl::context::tls_client);
  asio::ssl::stream<tcp::socket> old_connection(client_io_, context);
  old_connection.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  old_connection.handshake(asio::ssl::stream_base::client);
  const std::string before = served_certificate_serial(client_io_, port);

  // A second development PKI: another CA and server certificate.
  const auto other = std::filesystem::path(ACEMQ_TEST_SCRATCH_DIR) / "pki-reload";
  const std::string command =
      std::string(ACEMQ_DEV_PKI_SCRIPT) + " '" + other.string() + "' > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  listener_config fresh = tls_listener();
  fresh.certificate = (other / "server.pem").string();
  fresh.key = (other / "server.key").string();
  // A broken candidate keeps the previous certificate and says so.
  listener_config broken = tls_listener();
  broken.certificate = "no/such/server.pem";
  EXPECT_EQ(instance_->reload_tls({broken}).size(), 1u);
  EXPECT_EQ(served_certificate_serial(client_io_, port), before);

  EXPECT_TRUE(instance_->reload_tls({fresh}).empty());
  const std::string after = served_certificate_serial(client_io_, port);
  EXPECT_NE(after, before);
  // The connection made before the reload still works.
  asio::write(old_connection, asio::buffer(std::string("alive")));
  EXPECT_EQ(read_exactly(old_connection, 5), "alive");
}

}  // namespace
}  // namespace acemq::net
