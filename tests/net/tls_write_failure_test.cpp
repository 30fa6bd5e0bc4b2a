// A peer that resets a TLS connection at any moment: the real TLS connection driver and the real
// protocol machine (broker::connection through make_broker_handler_factory), over a socket whose
// Nth write, or Nth read, fails (a filter BIO put in front of the socket through the server's
// set_tls_socket_binding seam), for every N of a CONNECT / SUBSCRIBE / PUBLISH exchange.
//
// The machine must never be told the transport is gone while it is still inside one of its own
// calls (on_bytes, on_wake, on_timer, shutdown): it would go on using a session it has just
// reset. TCP and WebSocket post their write completions; this proves the TLS one does too. Run
// under AddressSanitizer, a completion run inline also shows as a use of freed memory.

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <cerrno>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "acemq/broker/auth.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/net/server.hpp"
#include "acemq/net/tls.hpp"
#include "pki_fixture.hpp"

namespace acemq::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

/// Counts the writes and reads of every TLS connection of one server; the write numbered
/// `fail_write_at` and the read numbered `fail_read_at` (from 1; 0 = none) fail as a reset by
/// the peer would.
struct write_fault {
  int fail_write_at = 0;
  int fail_read_at = 0;
  std::mutex mutex;
  int writes = 0;
  int reads = 0;

  bool next_write_fails() {
    std::lock_guard lock(mutex);
    return ++writes == fail_write_at;
  }
  bool next_read_fails() {
    std::lock_guard lock(mutex);
    return ++reads == fail_read_at;
  }
  int count() {
    std::lock_guard lock(mutex);
    return writes;
  }
  int read_count() {
    std::lock_guard lock(mutex);
    return reads;
  }
};

int fault_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  auto* fault = static_cast<write_fault*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (fault->next_write_fails()) {
    errno = ECONNRESET;
    return 0;
  }
  BIO* next = BIO_next(bio);
  const int rc = BIO_write_ex(next, data, size, written);
  BIO_copy_next_retry(bio);
  return rc;
}

int fault_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  auto* fault = static_cast<write_fault*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (fault->next_read_fails()) {
    errno = ECONNRESET;
    return 0;
  }
  const int rc = BIO_read_ex(BIO_next(bio), data, size, read);
  BIO_copy_next_retry(bio);
  return rc;
}

long fault_ctrl(BIO* bio, int command, long number, void* pointer) {
  return BIO_ctrl(BIO_next(bio), command, number, pointer);
}

int fault_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

/// A filter BIO that passes everything to the socket BIO below it, except the failing write.
const BIO_METHOD* fault_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "write fault");
    BIO_meth_set_write_ex(made, fault_write);
    BIO_meth_set_read_ex(made, fault_read);
    BIO_meth_set_ctrl(made, fault_ctrl);
    BIO_meth_set_create(made, fault_create);
    return made;
  }();
  return method;
}

/// The production binding (attach_socket), with the fault filter pushed in front of it.
bool attach_with_fault(SSL* session, int descriptor, write_fault& fault) {
  if (!attach_socket(session, descriptor)) return false;
  BIO* filter = BIO_new(fault_method());
  if (filter == nullptr) return false;
  BIO_set_data(filter, &fault);
  BIO* socket_bio = SSL_get_rbio(session);
  BIO_up_ref(socket_bio);  // SSL_set_bio below drops the session's reference
  BIO* chain = BIO_push(filter, socket_bio);
  SSL_set_bio(session, chain, chain);
  return true;
}

/// Which calls into the machine reached it inside another of its calls, or after the end.
struct order_report {
  std::mutex mutex;
  std::vector<std::string> violations;
  void add(std::string what) {
    std::lock_guard lock(mutex);
    violations.push_back(std::move(what));
  }
};

/// Tracks the machine's calls: the ones the driver makes (on_bytes, ...) and the tasks the
/// machine posts to itself (asynchronous authentication completions).
struct call_depth {
  explicit call_depth(order_report& to) : report(to) {}

  order_report& report;
  int depth = 0;
  bool closed = false;
  std::string inside;

  void enter(const char* call) {
    if (closed) report.add(std::string(call) + " after on_transport_closed");
    if (depth == 0) inside = call;
    ++depth;
  }
  void leave() { --depth; }
};

/// The driver's connection_io as the machine sees it, with its posted tasks tracked.
class watched_io final : public broker::connection_io {
 public:
  watched_io(broker::connection_io& inner, call_depth& calls) : inner_(inner), calls_(calls) {}

  void send(broker::outgoing message) override { inner_.send(std::move(message)); }
  void close() override { inner_.close(); }
  void arm_timer(clock::time_point deadline) override { inner_.arm_timer(deadline); }
  const broker::tls_facts* tls() const override { return inner_.tls(); }
  broker::address_text remote_address() const override { return inner_.remote_address(); }
  void wake() override { inner_.wake(); }
  void post(std::function<void()> task) override {
    inner_.post([&calls = calls_, task = std::move(task)] {
      calls.enter("a posted task");
      task();
      calls.leave();
    });
  }
  bool congested() override { return inner_.congested(); }
  void pause_reading() override { inner_.pause_reading(); }
  void resume_reading() override { inner_.resume_reading(); }

 private:
  broker::connection_io& inner_;
  call_depth& calls_;
};

/// The real machine, watched: the transport's end must reach it between its calls, once, and
/// nothing may follow it.
class ordered_handler final : public connection_handler {
 public:
  ordered_handler(broker::connection_io& io, const listener_config& listener,
                  const handler_factory& production, order_report& report)
      : calls_(report), io_(io, calls_), inner_(production(io_, listener)) {}

  void on_bytes(byte_view data) override {
    calls_.enter("on_bytes");
    inner_->on_bytes(data);
    calls_.leave();
  }
  void on_timer(clock::time_point now) override {
    calls_.enter("on_timer");
    inner_->on_timer(now);
    calls_.leave();
  }
  void on_wake() override {
    calls_.enter("on_wake");
    inner_->on_wake();
    calls_.leave();
  }
  void shutdown() override {
    calls_.enter("shutdown");
    inner_->shutdown();
    calls_.leave();
  }
  void on_transport_closed() override {
    if (calls_.depth > 0) calls_.report.add("on_transport_closed inside " + calls_.inside);
    calls_.enter("on_transport_closed");
    calls_.closed = true;
    inner_->on_transport_closed();
    calls_.leave();
  }

 private:
  call_depth calls_;
  watched_io io_;
  std::unique_ptr<connection_handler> inner_;  // refers to io_: declared after it
};

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

byte_vector frame(std::uint8_t first, const byte_vector& body) {
  byte_vector out{first};
  std::size_t length = body.size();
  do {
    std::uint8_t digit = length % 128;
    length /= 128;
    if (length > 0) digit |= 0x80;
    out.push_back(digit);
  } while (length > 0);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

void put_text(byte_vector& out, std::string_view text) {
  out.push_back(static_cast<std::uint8_t>(text.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(text.size() & 0xFF));
  out.insert(out.end(), text.begin(), text.end());
}

// MQTT 5.0 3.1: CONNECT, Clean Start, keep-alive 60, no properties, client "n".
byte_vector connect_packet() {
  byte_vector body;
  put_text(body, "MQTT");
  body.insert(body.end(), {5, 0x02, 0, 60, 0});
  put_text(body, "n");
  return frame(0x10, body);
}

// MQTT 5.0 3.8: SUBSCRIBE packet id 1, "t/#" at QoS 1.
byte_vector subscribe_packet() {
  byte_vector body{0, 1, 0};
  put_text(body, "t/#");
  body.push_back(1);
  return frame(0x82, body);
}

// MQTT 5.0 3.3: PUBLISH QoS 1 packet id 2 on "t/x", retained, so the subscriber gets it back.
byte_vector publish_packet() {
  byte_vector body;
  put_text(body, "t/x");
  body.insert(body.end(), {0, 2, 0, 'h', 'i'});
  return frame(0x33, body);
}

using tls_client = asio::ssl::stream<tcp::socket>;

/// Reads one MQTT packet's first byte (0 at the end of the stream or on an error).
std::uint8_t read_packet(tls_client& stream) {
  boost::system::error_code ec;
  std::uint8_t header = 0;
  asio::read(stream, asio::buffer(&header, 1), ec);
  if (ec) return 0;
  std::size_t length = 0;
  for (int shift = 0; shift < 28; shift += 7) {
    std::uint8_t digit = 0;
    asio::read(stream, asio::buffer(&digit, 1), ec);
    if (ec) return 0;
    length |= static_cast<std::size_t>(digit & 0x7F) << shift;
    if ((digit & 0x80) == 0) break;
  }
  std::vector<std::uint8_t> body(length);
  asio::read(stream, asio::buffer(body), ec);
  return ec ? 0 : header;
}

/// Sends `packet`, then reads until a packet of type `wanted` arrived; false at the end of the
/// stream (the server closed after the failed write).
bool exchange(tls_client& stream, const byte_vector& packet, std::uint8_t wanted) {
  boost::system::error_code ec;
  asio::write(stream, asio::buffer(packet), ec);
  if (ec) return false;
  for (;;) {
    const std::uint8_t header = read_packet(stream);
    if (header == 0) return false;
    if ((header >> 4) == wanted) return true;
  }
}

struct run_result {
  int writes = 0;
  int reads = 0;
  bool completed = false;
  std::vector<std::string> violations;
};

/// One broker and TLS server whose `fail_write_at`th write and `fail_read_at`th read fail; one
/// client runs CONNECT, SUBSCRIBE, PUBLISH (QoS 1, delivered back), PINGREQ, then leaves.
run_result run_exchange(int fail_write_at, int fail_read_at = 0) {
  write_fault fault;
  fault.fail_write_at = fail_write_at;
  fault.fail_read_at = fail_read_at;
  order_report report;
  auto chain = std::make_shared<const broker::auth_chain>(
      std::vector<std::shared_ptr<broker::authenticator>>{
          std::make_shared<broker::allow_anonymous>()});
  broker::broker engine(broker::broker_settings{}, chain, system_clock::instance(),
                        system_random::instance());
  server_config config;
  config.listeners = {tls_listener()};
  config.threads = 1;
  auto production = make_broker_handler_factory(engine, config.listeners);
  server instance(config, [&](broker::connection_io& io, const listener_config& listener) {
    return std::make_unique<ordered_handler>(io, listener, production, report);
  });
  instance.set_tls_socket_binding([&fault](SSL* session, int descriptor) {
    return attach_with_fault(session, descriptor, fault);
  });
  auto started = instance.start();
  EXPECT_TRUE(started) << (started ? "" : started.error());
  if (!started) return {};
  std::thread runner([&] { instance.run(); });

  run_result result;
  {
    asio::io_context client_io;
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.load_verify_file(testing::pki_file("ca.pem"));
    context.set_verify_mode(asio::ssl::verify_peer);
    tls_client stream(client_io, context);
    stream.lowest_layer().connect(
        {asio::ip::make_address("127.0.0.1"), instance.listeners().front().port});
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::client, ec);
    result.completed =
        !ec && exchange(stream, connect_packet(), 2) && exchange(stream, subscribe_packet(), 9) &&
        exchange(stream, publish_packet(), 3) && exchange(stream, frame(0xC0, {}), 13);
    stream.lowest_layer().close(ec);
  }
  instance.stop(std::chrono::milliseconds(2000));
  runner.join();
  result.writes = fault.count();
  result.reads = fault.read_count();
  std::lock_guard lock(report.mutex);
  result.violations = report.violations;
  return result;
}

TEST(tls_write_failure, the_exchange_completes_without_a_fault) {
  const run_result clean = run_exchange(0);
  EXPECT_TRUE(clean.completed);
  EXPECT_TRUE(clean.violations.empty());
  EXPECT_GT(clean.writes, 3);
}

TEST(tls_write_failure, a_failed_write_reaches_the_machine_between_its_calls_at_every_step) {
  const int writes = run_exchange(0).writes;
  ASSERT_GT(writes, 3);
  for (int fail_at = 1; fail_at <= writes; ++fail_at) {
    const run_result faulty = run_exchange(fail_at);
    for (const auto& violation : faulty.violations)
      ADD_FAILURE() << "write " << fail_at << " of " << writes << " failed: " << violation;
  }
}

TEST(tls_write_failure, a_failed_read_reaches_the_machine_between_its_calls_at_every_step) {
  const int reads = run_exchange(0).reads;
  ASSERT_GT(reads, 3);
  for (int fail_at = 1; fail_at <= reads; ++fail_at) {
    const run_result faulty = run_exchange(0, fail_at);
    for (const auto& violation : faulty.violations)
      ADD_FAILURE() << "read " << fail_at << " of " << reads << " failed: " << violation;
  }
}

}  // namespace
}  // namespace acemq::net
