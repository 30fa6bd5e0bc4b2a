#include "acemq/net/tls.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "pki_fixture.hpp"

namespace acemq::net {
namespace {

using testing::pki_file;

listener_config tls_listener(client_certificate_mode mode = client_certificate_mode::optional) {
  listener_config listener;
  listener.name = "tls";
  listener.type = transport::tls;
  listener.certificate = pki_file("server.pem");
  listener.key = pki_file("server.key");
  listener.ca = pki_file("ca.pem");
  listener.client_certificates = mode;
  return listener;
}

/// A client and a server session joined by an in-memory BIO pair (no sockets).
struct memory_handshake {
  ssl_context_ptr client_context{SSL_CTX_new(TLS_client_method())};
  ssl_context_ptr server_context;
  ssl_ptr client;
  ssl_ptr server;

  explicit memory_handshake(const listener_config& listener) {
    auto made = make_server_tls_context(listener);
    EXPECT_TRUE(made) << (made ? "" : made.error());
    if (made) server_context = std::move(*made);
    SSL_CTX_load_verify_locations(client_context.get(), pki_file("ca.pem").c_str(), nullptr);
    SSL_CTX_set_verify(client_context.get(), SSL_VERIFY_PEER, nullptr);
  }

  void with_client_certificate() {
    SSL_CTX_use_certificate_chain_file(client_context.get(), pki_file("client.pem").c_str());
    SSL_CTX_use_PrivateKey_file(client_context.get(), pki_file("client.key").c_str(),
                                SSL_FILETYPE_PEM);
  }

  /// Runs the handshake to completion; false if either side failed.
  bool run() {
    client.reset(SSL_new(client_context.get()));
    return run_prepared();
  }

  /// Runs the handshake with the client session already created.
  bool run_prepared() {
    server.reset(SSL_new(server_context.get()));
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 20 && !(client_done && server_done); ++round) {
      if (!client_done) {
        const int rc = SSL_do_handshake(client.get());
        if (rc == 1) {
          client_done = true;
        } else if (SSL_get_error(client.get(), rc) != SSL_ERROR_WANT_READ) {
          ERR_clear_error();
          return false;
        }
      }
      if (!server_done) {
        const int rc = SSL_do_handshake(server.get());
        if (rc == 1) {
          server_done = true;
        } else if (SSL_get_error(server.get(), rc) != SSL_ERROR_WANT_READ) {
          ERR_clear_error();
          return false;
        }
      }
    }
    // TLS 1.3: the client learns of a refused certificate only on its first read.
    char byte = 0;
    SSL_read(client.get(), &byte, 1);
    ERR_clear_error();
    return client_done && server_done &&
           (SSL_get_shutdown(client.get()) & SSL_RECEIVED_SHUTDOWN) == 0 &&
           SSL_get_verify_result(client.get()) == X509_V_OK;
  }
};

/// A server and a client session over the two ends of a non-blocking socket pair, each reading
/// and writing its descriptor through attach_socket().
struct socket_handshake {
  memory_handshake contexts{tls_listener()};
  std::array<int, 2> descriptors{-1, -1};
  ssl_ptr server;
  ssl_ptr client;

  socket_handshake() {
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, descriptors.data()), 0);
    for (const int descriptor : descriptors) {
      fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK);
    }
    server.reset(SSL_new(contexts.server_context.get()));
    client.reset(SSL_new(contexts.client_context.get()));
    EXPECT_TRUE(attach_socket(server.get(), descriptors[0]));
    EXPECT_TRUE(attach_socket(client.get(), descriptors[1]));
    SSL_set_accept_state(server.get());
    SSL_set_connect_state(client.get());
  }
  ~socket_handshake() {
    server.reset();
    client.reset();
    for (const int descriptor : descriptors) {
      if (descriptor >= 0) close(descriptor);
    }
  }
  socket_handshake(const socket_handshake&) = delete;
  socket_handshake& operator=(const socket_handshake&) = delete;

  /// One step of `session`: true when it completed, false when it waits for the socket; fails
  /// the test on any other outcome.
  static bool step(SSL* session, int rc) {
    if (rc > 0) return true;
    const int error = SSL_get_error(session, rc);
    EXPECT_TRUE(error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) << error;
    ERR_clear_error();
    return false;
  }

  bool run() {
    bool server_done = false;
    bool client_done = false;
    for (int round = 0; round < 50 && !(server_done && client_done); ++round) {
      if (!client_done) client_done = step(client.get(), SSL_do_handshake(client.get()));
      if (!server_done) server_done = step(server.get(), SSL_do_handshake(server.get()));
    }
    return server_done && client_done;
  }
};

TEST(tls_socket, records_cross_a_non_blocking_socket_in_both_directions) {
  socket_handshake link;
  ASSERT_TRUE(link.run());
  // Nothing sent yet: the server is told to wait for the socket, not that the peer closed.
  std::array<std::uint8_t, 16> probe{};
  std::size_t got = 0;
  EXPECT_EQ(SSL_read_ex(link.server.get(), probe.data(), probe.size(), &got), 0);
  EXPECT_EQ(SSL_get_error(link.server.get(), 0), SSL_ERROR_WANT_READ);
  // 1 MB: far more than the socket buffers hold, so writes stop with WANT_WRITE and resume
  // after the reader drained; partial writes continue where they stopped.
  byte_vector sent(1024 * 1024);
  for (std::size_t i = 0; i < sent.size(); ++i)
    sent[i] = static_cast<std::uint8_t>(i * 7 + 3);
  byte_vector received;
  std::size_t offset = 0;
  std::vector<std::uint8_t> chunk(16 * 1024);
  for (int round = 0; round < 100000 && received.size() < sent.size(); ++round) {
    if (offset < sent.size()) {
      std::size_t written = 0;
      if (socket_handshake::step(link.server.get(),
                                 SSL_write_ex(link.server.get(), sent.data() + offset,
                                              sent.size() - offset, &written))) {
        offset += written;
      }
    }
    std::size_t read = 0;
    if (socket_handshake::step(link.client.get(),
                               SSL_read_ex(link.client.get(), chunk.data(), chunk.size(), &read))) {
      received.insert(received.end(), chunk.begin(), chunk.begin() + static_cast<long>(read));
    }
  }
  EXPECT_EQ(received, sent);
}

TEST(tls_socket, writing_after_the_peer_closed_is_an_error_not_a_signal) {
  socket_handshake link;
  ASSERT_TRUE(link.run());
  close(link.descriptors[1]);
  link.descriptors[1] = -1;
  // With SSL_set_fd this write would raise SIGPIPE and end the process.
  const std::array<std::uint8_t, 64> data{};
  std::size_t written = 0;
  int rc = 1;
  for (int attempt = 0; attempt < 4 && rc == 1; ++attempt) {
    rc = SSL_write_ex(link.server.get(), data.data(), data.size(), &written);
  }
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(SSL_get_error(link.server.get(), rc), SSL_ERROR_SYSCALL);
  ERR_clear_error();
}

TEST(tls_context, loads_the_development_pki) {
  auto made = make_server_tls_context(tls_listener());
  ASSERT_TRUE(made) << made.error();
  EXPECT_NE(made->get(), nullptr);
}

TEST(tls_context, missing_or_mismatched_files_are_errors) {
  listener_config missing = tls_listener();
  missing.certificate = pki_file("absent.pem");
  auto made = make_server_tls_context(missing);
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().find("absent.pem"), std::string::npos);

  listener_config mismatched = tls_listener();
  mismatched.key = pki_file("client.key");
  made = make_server_tls_context(mismatched);
  ASSERT_FALSE(made);
  EXPECT_NE(made.error().find("client.key"), std::string::npos) << made.error();

  listener_config bad_ca = tls_listener();
  bad_ca.ca = pki_file("absent-ca.pem");
  EXPECT_FALSE(make_server_tls_context(bad_ca));
}

TEST(tls_facts, tls13_exporter_matches_the_client) {
  memory_handshake link(tls_listener());
  ASSERT_TRUE(link.run());
  EXPECT_EQ(refusal_reason(link.server.get()), std::nullopt);
  openssl_tls_facts facts(link.server.get());
  EXPECT_EQ(facts.protocol(), "TLSv1.3");
  // RFC 9431 2.2.4.2.2: label "EXPORTER-ACE-MQTT-Sign-Challenge", empty context, 32 bytes.
  const std::string label = "EXPORTER-ACE-MQTT-Sign-Challenge";
  auto server_value = facts.export_keying_material(label, {}, true, 32);
  ASSERT_TRUE(server_value.has_value());
  byte_vector client_value(32);
  ASSERT_EQ(SSL_export_keying_material(link.client.get(), client_value.data(), 32, label.data(),
                                       label.size(), nullptr, 0, 1),
            1);
  EXPECT_EQ(*server_value, client_value);
  EXPECT_FALSE(facts.export_keying_material(label, {}, true, 0).has_value());
  EXPECT_FALSE(
      facts.export_keying_material(label, {}, true, openssl_tls_facts::max_exporter_length + 1)
          .has_value());
  EXPECT_FALSE(facts.peer_certificate_pem().has_value());
  EXPECT_FALSE(facts.psk_identity().has_value());
}

TEST(tls_facts, tls12_with_ems_is_accepted_and_use_context_is_honoured) {
  memory_handshake link(tls_listener());
  SSL_CTX_set_max_proto_version(link.client_context.get(), TLS1_2_VERSION);
  ASSERT_TRUE(link.run());
  EXPECT_EQ(SSL_version(link.server.get()), TLS1_2_VERSION);
  EXPECT_EQ(refusal_reason(link.server.get()), std::nullopt);
  openssl_tls_facts facts(link.server.get());
  EXPECT_EQ(facts.protocol(), "TLSv1.2");
  // RFC 5705 4: in TLS 1.2 an empty context is different from no context at all.
  auto with_empty_context = facts.export_keying_material("EXPORTER-test", {}, true, 32);
  auto without_context = facts.export_keying_material("EXPORTER-test", {}, false, 32);
  ASSERT_TRUE(with_empty_context && without_context);
  EXPECT_NE(*with_empty_context, *without_context);
}

TEST(tls_facts, tls12_without_ems_is_refused) {
  memory_handshake link(tls_listener());
  SSL_CTX_set_max_proto_version(link.client_context.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(link.client_context.get(), SSL_OP_NO_EXTENDED_MASTER_SECRET);
  ASSERT_TRUE(link.run());
  const auto reason = refusal_reason(link.server.get());
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("Extended Master Secret"), std::string::npos);
}

TEST(tls_facts, client_certificate_is_exposed) {
  memory_handshake link(tls_listener(client_certificate_mode::required));
  link.with_client_certificate();
  ASSERT_TRUE(link.run());
  openssl_tls_facts facts(link.server.get());
  const auto pem = facts.peer_certificate_pem();
  ASSERT_TRUE(pem.has_value());
  EXPECT_EQ(pem->rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  EXPECT_EQ(facts.peer_subject_common_name(), std::optional<std::string>("acemq-dev-client"));
  EXPECT_TRUE(facts.peer_subject_alternative_names().empty());
}

TEST(tls_facts, server_certificate_names_as_seen_by_a_client) {
  memory_handshake link(tls_listener());
  ASSERT_TRUE(link.run());
  openssl_tls_facts client_view(link.client.get());
  EXPECT_EQ(client_view.peer_subject_common_name(), std::optional<std::string>("localhost"));
  EXPECT_EQ(client_view.peer_subject_alternative_names(),
            (std::vector<std::string>{"localhost", "127.0.0.1", "0:0:0:0:0:0:0:1"}));
}

TEST(tls_context, required_client_certificate_refuses_a_client_without_one) {
  memory_handshake link(tls_listener(client_certificate_mode::required));
  EXPECT_FALSE(link.run());
}

// ---- ALPN (RFC 9431 2.2.3) ----

/// ALPN protocol names a client offers, in order.
using offer = std::vector<std::string_view>;

/// `names` in the ALPN wire format (RFC 7301 3.1): a length byte before each name.
std::string alpn_list(const offer& names) {
  std::string wire;
  for (const std::string_view name : names) {
    wire.push_back(static_cast<char>(name.size()));
    wire.append(name);
  }
  return wire;
}

/// The protocol `session` negotiated; empty when none.
std::string selected_protocol(const SSL* session) {
  const unsigned char* name = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(session, &name, &length);
  return name == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(name), length);
}

/// Offers `names` from the client (nothing when empty) and runs the handshake.
bool run_offering(memory_handshake& link, const offer& names) {
  if (!names.empty()) {
    const std::string wire = alpn_list(names);
    // SSL_CTX_set_alpn_protos returns 0 on success.
    EXPECT_EQ(SSL_CTX_set_alpn_protos(link.client_context.get(),
                                      reinterpret_cast<const unsigned char*>(wire.data()),
                                      static_cast<unsigned int>(wire.size())),
              0);
  }
  return link.run();
}

TEST(tls_alpn, mqtt_is_selected_when_the_client_offers_it) {
  for (const offer& names : std::vector<offer>{{"mqtt"}, {"h2", "mqtt"}, {"mqtt", "http/1.1"}}) {
    memory_handshake link(tls_listener());
    ASSERT_TRUE(run_offering(link, names));
    EXPECT_EQ(selected_protocol(link.server.get()), "mqtt");
    EXPECT_EQ(selected_protocol(link.client.get()), "mqtt");
  }
}

TEST(tls_alpn, tls12_selects_mqtt_too) {
  memory_handshake link(tls_listener());
  SSL_CTX_set_max_proto_version(link.client_context.get(), TLS1_2_VERSION);
  ASSERT_TRUE(run_offering(link, {"mqtt"}));
  EXPECT_EQ(selected_protocol(link.client.get()), "mqtt");
}

TEST(tls_alpn, a_client_without_alpn_completes_the_handshake) {
  memory_handshake link(tls_listener());
  ASSERT_TRUE(run_offering(link, {}));
  EXPECT_EQ(selected_protocol(link.server.get()), "");
}

TEST(tls_alpn, a_client_offering_only_other_protocols_continues_without_alpn) {
  // The choice of docs/adr/0005-alpn-without-a-match.md: no no_application_protocol alert
  // (RFC 7301 3.2); the MQTT CONNECT decides what the client speaks.
  for (const offer& names :
       std::vector<offer>{{"http/1.1"}, {"h2", "x-amzn-mqtt-ca"}, {"mqt", "mqttt", "MQTT"}}) {
    memory_handshake link(tls_listener());
    ASSERT_TRUE(run_offering(link, names));
    EXPECT_EQ(selected_protocol(link.server.get()), "");
    EXPECT_EQ(selected_protocol(link.client.get()), "");
  }
}

TEST(tls_alpn, a_websocket_listener_does_not_claim_mqtt) {
  // Over wss the TLS connection carries HTTP (the WebSocket upgrade), not MQTT.
  listener_config listener = tls_listener();
  listener.type = transport::wss;
  memory_handshake link(listener);
  ASSERT_TRUE(run_offering(link, {"mqtt"}));
  EXPECT_EQ(selected_protocol(link.server.get()), "");
}

// ---- TLS 1.3 session resumption ----

struct session_deleter {
  void operator()(SSL_SESSION* session) const noexcept { SSL_SESSION_free(session); }
};
using session_ptr = std::unique_ptr<SSL_SESSION, session_deleter>;

/// A copy of the client's session after a handshake (and the read that processed any ticket):
/// OpenSSL marks the connection's own session unresumable when the connection is freed without a
/// shutdown, as the client library's ticket cache also avoids by copying.
session_ptr client_session(const memory_handshake& link) {
  return session_ptr(SSL_SESSION_dup(SSL_get0_session(link.client.get())));
}

/// Handshakes again on the same contexts, offering `session`.
bool run_resuming(memory_handshake& link, const session_ptr& session) {
  link.client.reset(SSL_new(link.client_context.get()));
  if (SSL_set_session(link.client.get(), session.get()) != 1) return false;
  return link.run_prepared();
}

byte_vector ace_exporter(SSL* session) {
  const std::string label = "EXPORTER-ACE-MQTT-Sign-Challenge";
  byte_vector value(32);
  EXPECT_EQ(SSL_export_keying_material(session, value.data(), value.size(), label.data(),
                                       label.size(), nullptr, 0, 1),
            1);
  return value;
}

TEST(tls_resumption, a_tls13_ticket_resumes_with_a_fresh_exporter) {
  memory_handshake link(tls_listener());
  ASSERT_TRUE(link.run());
  const byte_vector first = ace_exporter(link.server.get());
  session_ptr ticket = client_session(link);
  ASSERT_TRUE(ticket);
  ASSERT_EQ(SSL_SESSION_is_resumable(ticket.get()), 1);
  EXPECT_EQ(SSL_SESSION_get_ticket_lifetime_hint(ticket.get()), 3600u);

  ASSERT_TRUE(run_resuming(link, ticket));
  EXPECT_EQ(SSL_session_reused(link.server.get()), 1);
  EXPECT_EQ(SSL_session_reused(link.client.get()), 1);
  EXPECT_EQ(refusal_reason(link.server.get()), std::nullopt);
  // RFC 8446 7.5: the exporter secret comes from the new handshake, so a proof of possession over
  // it (RFC 9431 2.2.4.2.2) cannot be replayed from the connection that issued the ticket.
  const byte_vector second = ace_exporter(link.server.get());
  EXPECT_NE(first, second);
  EXPECT_EQ(second, ace_exporter(link.client.get()));
}

TEST(tls_resumption, the_client_certificate_is_still_known_after_resumption) {
  memory_handshake link(tls_listener(client_certificate_mode::required));
  link.with_client_certificate();
  ASSERT_TRUE(link.run());
  session_ptr ticket = client_session(link);
  ASSERT_TRUE(run_resuming(link, ticket));
  ASSERT_EQ(SSL_session_reused(link.server.get()), 1);
  openssl_tls_facts facts(link.server.get());
  EXPECT_EQ(facts.peer_subject_common_name(), std::optional<std::string>("acemq-dev-client"));
}

TEST(tls_resumption, tls12_sessions_are_never_resumed) {
  memory_handshake link(tls_listener());
  SSL_CTX_set_max_proto_version(link.client_context.get(), TLS1_2_VERSION);
  ASSERT_TRUE(link.run());
  session_ptr session = client_session(link);
  ASSERT_TRUE(session);
  // The client offers the TLS 1.2 session (ticket or id); the server runs a full handshake.
  ASSERT_TRUE(run_resuming(link, session));
  EXPECT_EQ(SSL_version(link.server.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_session_reused(link.server.get()), 0);
  EXPECT_EQ(SSL_session_reused(link.client.get()), 0);
}

TEST(tls_resumption, a_zero_ticket_lifetime_issues_no_ticket) {
  listener_config listener = tls_listener();
  listener.session_ticket_lifetime = std::chrono::seconds(0);
  memory_handshake link(listener);
  ASSERT_TRUE(link.run());
  session_ptr session = client_session(link);
  ASSERT_TRUE(session);
  EXPECT_EQ(SSL_SESSION_is_resumable(session.get()), 0);
  ASSERT_TRUE(run_resuming(link, session));
  EXPECT_EQ(SSL_session_reused(link.server.get()), 0);
}

TEST(tls_resumption, a_ticket_from_another_context_gives_a_full_handshake) {
  memory_handshake issuer(tls_listener());
  ASSERT_TRUE(issuer.run());
  session_ptr ticket = client_session(issuer);
  // A reload builds a new context with new ticket keys: old tickets no longer decrypt.
  memory_handshake reloaded(tls_listener());
  reloaded.client_context = std::move(issuer.client_context);
  ASSERT_TRUE(run_resuming(reloaded, ticket));
  EXPECT_EQ(SSL_session_reused(reloaded.server.get()), 0);
}

// RFC 9431 2.2.3.2 / RFC 8446 4.2.11: a TLS 1.3 external PSK found by the lookup.
constexpr unsigned char test_psk_cipher[2] = {0x13, 0x01};
const std::string known_identity = "token-or-kid";
const byte_vector known_key(32, 0x5a);

int offer_psk(SSL* session, const EVP_MD* digest, const unsigned char** identity,
              std::size_t* identity_length, SSL_SESSION** offered) {
  *offered = nullptr;
  const SSL_CIPHER* cipher = SSL_CIPHER_find(session, test_psk_cipher);
  if (digest != nullptr && digest != SSL_CIPHER_get_handshake_digest(cipher)) return 1;
  const auto* wanted = static_cast<const std::string*>(SSL_get_app_data(session));
  SSL_SESSION* psk = SSL_SESSION_new();
  SSL_SESSION_set1_master_key(psk, known_key.data(), known_key.size());
  SSL_SESSION_set_cipher(psk, cipher);
  SSL_SESSION_set_protocol_version(psk, TLS1_3_VERSION);
  *identity = reinterpret_cast<const unsigned char*>(wanted->data());
  *identity_length = wanted->size();
  *offered = psk;
  return 1;
}

struct psk_handshake : memory_handshake {
  std::string identity;
  int lookups = 0;

  explicit psk_handshake(std::string offered)
      : memory_handshake(tls_listener()), identity(std::move(offered)) {
    auto enabled = enable_psk(server_context.get(), [this](std::string_view asked) {
      ++lookups;
      return asked == known_identity ? std::optional<byte_vector>(known_key) : std::nullopt;
    });
    EXPECT_TRUE(enabled);
    SSL_CTX_set_min_proto_version(client_context.get(), TLS1_3_VERSION);
    SSL_CTX_set_psk_use_session_callback(client_context.get(), &offer_psk);
  }

  bool run_with_identity() {
    client.reset(SSL_new(client_context.get()));
    SSL_set_app_data(client.get(), &identity);
    return run_prepared();
  }
};

TEST(tls_psk, known_identity_uses_the_psk_and_exposes_the_identity) {
  psk_handshake link(known_identity);
  ASSERT_TRUE(link.run_with_identity());
  EXPECT_EQ(link.lookups, 1);
  EXPECT_EQ(SSL_session_reused(link.server.get()), 1);  // the handshake used the PSK
  openssl_tls_facts facts(link.server.get());
  EXPECT_EQ(facts.psk_identity(), std::optional<std::string>(known_identity));
  EXPECT_EQ(facts.protocol(), "TLSv1.3");
}

TEST(tls_psk, unknown_identity_falls_back_to_the_certificate) {
  psk_handshake link("someone-else");
  ASSERT_TRUE(link.run_with_identity());
  EXPECT_EQ(link.lookups, 1);
  EXPECT_EQ(SSL_session_reused(link.server.get()), 0);
  openssl_tls_facts facts(link.server.get());
  EXPECT_EQ(facts.psk_identity(), std::nullopt);
}

TEST(tls_psk, a_resumption_ticket_is_not_taken_for_an_external_psk) {
  psk_handshake link("someone-else");
  ASSERT_TRUE(link.run_with_identity());
  session_ptr ticket = client_session(link);
  ASSERT_TRUE(ticket);
  // Offer the ticket and no external PSK: the lookup sees the ticket's bytes, knows none, and the
  // server resumes from the ticket without recording a PSK identity.
  SSL_CTX_set_psk_use_session_callback(link.client_context.get(), nullptr);
  ASSERT_TRUE(run_resuming(link, ticket));
  EXPECT_EQ(SSL_session_reused(link.server.get()), 1);
  openssl_tls_facts facts(link.server.get());
  EXPECT_EQ(facts.psk_identity(), std::nullopt);
}

TEST(tls_psk, an_empty_lookup_is_refused) {
  auto context = make_server_tls_context(tls_listener());
  ASSERT_TRUE(context);
  EXPECT_FALSE(enable_psk(context->get(), psk_lookup{}));
}

}  // namespace
}  // namespace acemq::net
