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

#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/net/server.hpp"
#include "acemq/net/tls.hpp"
#include "machine_watch.hpp"
#include "pki_fixture.hpp"

namespace acemq::net {
namespace {

namespace asio = boost::asio;
using namespace testing;  // the watched machine and the exchange (machine_watch.hpp)
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
