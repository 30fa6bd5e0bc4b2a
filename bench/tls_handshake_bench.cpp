// TLS 1.3 handshake cost of each side, measured in memory: a client and a server SSL object
// joined by a BIO pair in one thread, no sockets and no scheduler in between. The CPU time of
// every OpenSSL call on the server object (SSL_new, SSL_do_handshake, SSL_free) and on the client
// object (the same, plus the SSL_read that takes the NewSessionTicket, the session handling of
// a resuming client and its close_notify) is summed per side with CLOCK_THREAD_CPUTIME_ID, so the
// figures are what a core spends per connection in OpenSSL, including what the bare public-key
// primitives `openssl speed` times leave out (provider fetches, decoders, allocations, locks,
// transcript hashing, record protection). Each clock read costs about half a microsecond and is
// left in: a few microseconds per handshake per side.
//
// The setup follows the broker and the benchmark client: the PKI of `scripts/dev-pki` (ECDSA
// P-256 server certificate for "localhost"), one SSL_CTX per side made once, X25519 key share,
// the client verifying the chain and the host name. The server context is the broker's own
// listener context (acemq::net::make_server_tls_context with the listener defaults: TLS 1.3
// session tickets, stateless, one per connection; --tickets changes the number), so in both
// modes the server writes its ticket and the client reads it.
// Two modes: full handshakes, and resumed ones (RFC 8446 2.2: a ticket from the previous
// connection, psk_dhe_ke, so still one X25519 exchange per side but no certificate).
//
//   tls_handshake_bench --pki DIR [--seconds N] [--tickets N] [--json]
//
// bench/compare runs it once per invocation and derives the TLS 1.3 handshake limit of the ACE
// connection scenarios from it.

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "acemq/net/tls.hpp"

namespace {

constexpr const char* server_name = "localhost";

/// Prints what failed with OpenSSL's error queue and ends the program: a benchmark that cannot
/// complete a handshake has no figure to give.
[[noreturn]] void fail(std::string_view what) {
  std::string detail;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    detail += detail.empty() ? "" : "; ";
    detail += text;
  }
  fmt::print(stderr, "tls_handshake_bench: {}{}{}\n", what, detail.empty() ? "" : ": ", detail);
  std::exit(1);
}

void require(bool ok, std::string_view what) {
  if (!ok) fail(what);
}

std::int64_t thread_cpu_nanoseconds() {
  timespec now{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0) fail("clock_gettime");
  return std::int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

/// CPU time one side of the connections has spent inside OpenSSL.
struct side_clock {
  std::int64_t nanoseconds = 0;

  template <typename call>
  auto time(call&& body) {
    const std::int64_t begin = thread_cpu_nanoseconds();
    auto result = body();
    nanoseconds += thread_cpu_nanoseconds() - begin;
    return result;
  }
};

struct contexts {
  SSL_CTX* server = nullptr;
  SSL_CTX* client = nullptr;
  std::string certificate_key;
};

/// The broker's listener context, made by the broker's own code (make_server_tls_context) from
/// the PKI with the listener defaults; `tickets` other than the default one per connection
/// changes only the number of tickets written.
SSL_CTX* make_server_context(const std::filesystem::path& pki, int tickets) {
  acemq::net::listener_config listener;
  listener.type = acemq::net::transport::tls;
  listener.certificate = (pki / "server.pem").string();
  listener.key = (pki / "server.key").string();
  listener.ca = (pki / "ca.pem").string();
  auto made = acemq::net::make_server_tls_context(listener);
  if (!made) fail("the broker's TLS context: " + made.error());
  SSL_CTX* context = made->release();
  require(SSL_CTX_set_num_tickets(context, static_cast<std::size_t>(tickets)) == 1,
          "cannot set the number of session tickets");
  return context;
}

/// The benchmark client's context for ACE connections: TLS 1.3 only, the chain verified against
/// the development CA, X25519 as the one key share offered.
SSL_CTX* make_client_context(const std::filesystem::path& pki) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  require(context != nullptr, "SSL_CTX_new (client)");
  require(SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) == 1,
          "cannot restrict the client to TLS 1.3");
  const std::string ca = (pki / "ca.pem").string();
  require(SSL_CTX_load_verify_locations(context, ca.c_str(), nullptr) == 1, "cannot load " + ca);
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
  require(SSL_CTX_set1_groups_list(context, "X25519") == 1, "cannot offer X25519");
  return context;
}

std::string key_description(SSL_CTX* context) {
  EVP_PKEY* key = SSL_CTX_get0_privatekey(context);
  if (key == nullptr) return "unknown";
  std::string text = EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown";
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) == 1) {
    text += std::string(" ") + group;
  }
  ERR_clear_error();
  return text;
}

/// Drives one side's handshake a step: true once that side has completed it.
bool handshake_step(SSL* ssl, side_clock& clock, std::string_view side) {
  const int result = clock.time([&] { return SSL_do_handshake(ssl); });
  if (result == 1) return true;
  const int error = SSL_get_error(ssl, result);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return false;
  if (error == SSL_ERROR_SSL && side == "client") {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      fail(fmt::format("client: certificate verification failed: {}",
                       X509_verify_cert_error_string(verify)));
    }
  }
  fail(fmt::format("{}: SSL_do_handshake failed (SSL_get_error {})", side, error));
}

struct connection_facts {
  bool client_resumed = false;
  bool server_resumed = false;
  int group = NID_undef;
  std::string cipher;
  std::string version;
};

/// One connection from SSL_new to SSL_free on both sides. With `resume` the client offers that
/// session; afterwards `resume` holds the session of the ticket this connection received.
connection_facts connect_once(const contexts& tls, side_clock& server_clock,
                              side_clock& client_clock, SSL_SESSION*& resume) {
  SSL* server = server_clock.time([&] { return SSL_new(tls.server); });
  require(server != nullptr, "SSL_new (server)");
  SSL* client = client_clock.time([&] { return SSL_new(tls.client); });
  require(client != nullptr, "SSL_new (client)");

  // The in-memory transport stands in for the sockets and is charged to neither side.
  BIO* server_io = nullptr;
  BIO* client_io = nullptr;
  require(BIO_new_bio_pair(&server_io, 0, &client_io, 0) == 1, "BIO_new_bio_pair");
  SSL_set_bio(server, server_io, server_io);
  SSL_set_bio(client, client_io, client_io);
  SSL_set_accept_state(server);

  const bool client_ready = client_clock.time([&] {
    // A real client: SNI, then the host name checked against the certificate (RFC 6125).
    SSL_set_connect_state(client);
    // SSL_set_tlsext_host_name is a macro with a C cast; the call it stands for:
    bool ok = SSL_ctrl(client, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                       const_cast<char*>(server_name)) == 1 &&
              SSL_set1_host(client, server_name) == 1;
    if (ok && resume != nullptr) ok = SSL_set_session(client, resume) == 1;
    return ok;
  });
  require(client_ready, "cannot set the client's host name or session");

  bool client_done = false;
  bool server_done = false;
  for (int steps = 0; !(client_done && server_done); ++steps) {
    if (steps > 16) fail("the handshake does not complete");
    if (!client_done) client_done = handshake_step(client, client_clock, "client");
    if (!server_done) server_done = handshake_step(server, server_clock, "server");
  }
  if (SSL_get_verify_result(client) != X509_V_OK) fail("client: certificate not verified");

  connection_facts facts;
  facts.client_resumed = SSL_session_reused(client) == 1;
  facts.server_resumed = SSL_session_reused(server) == 1;
  facts.group = static_cast<int>(SSL_get_negotiated_group(client));
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(client)) {
    facts.cipher = SSL_CIPHER_get_name(cipher);
  }
  facts.version = SSL_get_version(client);

  // The client takes the NewSessionTicket(s) the server wrote at the end of its handshake, as a
  // real client does with its first read, and keeps the newest session for the next connection.
  SSL_SESSION* received = client_clock.time([&]() -> SSL_SESSION* {
    char byte = 0;
    const int read = SSL_read(client, &byte, 1);
    if (read > 0 || SSL_get_error(client, read) != SSL_ERROR_WANT_READ) return nullptr;
    if (resume != nullptr) SSL_SESSION_free(resume);
    resume = nullptr;
    return SSL_get1_session(client);
  });
  if (received == nullptr) fail("client: SSL_read after the handshake did not wait for data");
  if (SSL_SESSION_is_resumable(received) != 1) {
    SSL_SESSION_free(received);
    fail("client: no resumable session ticket received");
  }
  resume = received;

  // The client closes with close_notify: OpenSSL marks the session of an SSL freed without a
  // shutdown as not resumable, and a real client disconnecting cleanly sends one too.
  const int shutdown = client_clock.time([&] {
    const int sent = SSL_shutdown(client);
    SSL_free(client);
    return sent;
  });
  if (shutdown < 0) fail("client: SSL_shutdown");
  server_clock.time([&] {
    SSL_free(server);
    return 0;
  });
  return facts;
}

struct mode_result {
  std::int64_t handshakes = 0;
  double server_us = 0;
  double client_us = 0;
  double wall_rate = 0;
  connection_facts facts;
};

mode_result run_mode(const contexts& tls, bool resumed, double seconds) {
  SSL_SESSION* session = nullptr;
  side_clock unused_server;
  side_clock unused_client;
  // Warm-up outside the figures (first provider fetches, caches); it also yields the first ticket.
  for (int i = 0; i < 50; ++i) {
    connect_once(tls, unused_server, unused_client, session);
  }

  side_clock server_clock;
  side_clock client_clock;
  mode_result result;
  const auto begin = std::chrono::steady_clock::now();
  const auto end = begin + std::chrono::duration<double>(seconds);
  auto now = begin;
  while (now < end) {
    if (!resumed && session != nullptr) {
      SSL_SESSION_free(session);
      session = nullptr;
    }
    result.facts = connect_once(tls, server_clock, client_clock, session);
    if (result.facts.client_resumed != resumed || result.facts.server_resumed != resumed) {
      fail(fmt::format("{} handshake {}: the client {} and the server {} the session",
                       resumed ? "resumed" : "full", result.handshakes + 1,
                       result.facts.client_resumed ? "reused" : "did not reuse",
                       result.facts.server_resumed ? "reused" : "did not reuse"));
    }
    if (result.facts.group != NID_X25519) {
      fail(fmt::format("{} handshake: key exchange group {} instead of X25519",
                       resumed ? "resumed" : "full", OBJ_nid2sn(result.facts.group)));
    }
    ++result.handshakes;
    now = std::chrono::steady_clock::now();
  }
  if (session != nullptr) SSL_SESSION_free(session);
  const double wall = std::chrono::duration<double>(now - begin).count();
  result.server_us =
      1e-3 * static_cast<double>(server_clock.nanoseconds) / static_cast<double>(result.handshakes);
  result.client_us =
      1e-3 * static_cast<double>(client_clock.nanoseconds) / static_cast<double>(result.handshakes);
  result.wall_rate = static_cast<double>(result.handshakes) / wall;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"TLS 1.3 handshake CPU time per side (server, client), full and resumed, in memory"};
  std::filesystem::path pki;
  double seconds = 2;
  int tickets = 1;
  bool json = false;
  app.add_option("--pki", pki, "directory made by scripts/dev-pki (server.pem, server.key, ca.pem)")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--seconds", seconds, "seconds per mode")->check(CLI::PositiveNumber);
  app.add_option("--tickets", tickets, "session tickets the server writes per connection")
      ->check(CLI::Range(1, 8))
      ->capture_default_str();
  app.add_flag("--json", json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  contexts tls;
  tls.server = make_server_context(pki, tickets);
  tls.client = make_client_context(pki);
  tls.certificate_key = key_description(tls.server);

  const mode_result full = run_mode(tls, false, seconds);
  const mode_result resumed = run_mode(tls, true, seconds);
  const std::string version = OpenSSL_version(OPENSSL_VERSION);

  if (json) {
    fmt::print(
        "{{\"openssl\": \"{}\", \"seconds_per_mode\": {}, \"protocol\": \"{}\", \"cipher\": "
        "\"{}\", \"group\": \"{}\", \"certificate_key\": \"{}\", \"server_full_us\": {:.2f}, "
        "\"client_full_us\": {:.2f}, \"server_resumed_us\": {:.2f}, \"client_resumed_us\": "
        "{:.2f}, \"full_handshakes\": {}, \"resumed_handshakes\": {}, \"full_wall_rate\": {:.1f}, "
        "\"resumed_wall_rate\": {:.1f}, \"tickets_per_connection\": {}}}\n",
        version, seconds, full.facts.version, full.facts.cipher, OBJ_nid2sn(full.facts.group),
        tls.certificate_key, full.server_us, full.client_us, resumed.server_us, resumed.client_us,
        full.handshakes, resumed.handshakes, full.wall_rate, resumed.wall_rate, tickets);
  } else {
    fmt::print(
        "{}; {} {} {}; server key {}; {} ticket(s) per connection; {} s per mode, one thread, "
        "BIO pair\n",
        version, full.facts.version, full.facts.cipher, OBJ_nid2sn(full.facts.group),
        tls.certificate_key, tickets, seconds);
    fmt::print("{:<10} {:>11} {:>16} {:>16} {:>16}\n", "mode", "handshakes", "server CPU/hs",
               "client CPU/hs", "wall rate");
    for (const auto& [name, mode] : {std::pair{"full", &full}, std::pair{"resumed", &resumed}}) {
      fmt::print("{:<10} {:>11} {:>13.1f} us {:>13.1f} us {:>11.0f} hs/s\n", name, mode->handshakes,
                 mode->server_us, mode->client_us, mode->wall_rate);
    }
  }
  SSL_CTX_free(tls.server);
  SSL_CTX_free(tls.client);
  return 0;
}
