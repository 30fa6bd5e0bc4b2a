// tls_context: the external PSK option (RFC 9431 2.2.1 / 2.2.3.2) and its refusals, and the
// bounds of the TLS 1.3 ticket cache.
#include <gtest/gtest.h>
#include <acemq/client/detail/tls_context_impl.hpp>
#include <acemq/client/tls_context.hpp>

#include <string>
#include <vector>

namespace acemq::client {
namespace {

tls_options with_psk(byte_vector identity, byte_vector key) {
  tls_options options;
  options.psk = external_psk{std::move(identity), std::move(key)};
  return options;
}

TEST(tls_context, psk_context_skips_the_certificate_check) {
  auto made = tls_context::create(with_psk(byte_vector(100, 'i'), byte_vector(32, 7)));
  ASSERT_TRUE(made) << made.error();
  // RFC 9431 2.2.1: the PSK authenticates the server; there is no certificate to verify.
  EXPECT_FALSE((*made)->options().verify_peer);
  ASSERT_TRUE((*made)->options().psk);
  EXPECT_EQ((*made)->options().psk->identity.size(), 100U);
}

TEST(tls_context, psk_bounds_and_combinations_are_refused) {
  EXPECT_FALSE(tls_context::create(with_psk({}, byte_vector(32, 7))));
  EXPECT_FALSE(tls_context::create(with_psk(byte_vector(0x10000, 'i'), byte_vector(32, 7))));
  EXPECT_FALSE(tls_context::create(with_psk(byte_vector(4, 'i'), byte_vector(15, 7))));
  auto pinned = with_psk(byte_vector(4, 'i'), byte_vector(32, 7));
  pinned.pin = [](byte_view) { return true; };
  EXPECT_FALSE(tls_context::create(std::move(pinned)));
  auto certificate = with_psk(byte_vector(4, 'i'), byte_vector(32, 7));
  certificate.certificate_file = "client.pem";
  certificate.private_key_file = "client.key";
  EXPECT_FALSE(tls_context::create(std::move(certificate)));
}

TEST(ticket_cache, a_server_keeps_its_newest_tickets_and_each_is_taken_once) {
  ticket_cache cache;
  std::vector<SSL_SESSION*> issued;
  for (std::size_t i = 0; i < max_cached_tickets + 2; ++i) {
    ssl_session_ptr session(SSL_SESSION_new());
    ASSERT_TRUE(session);
    issued.push_back(session.get());
    cache.put("broker:8883/broker", std::move(session));
  }
  EXPECT_EQ(cache.size(), max_cached_tickets);
  // Newest first; the two oldest were dropped when the bound was reached.
  for (std::size_t i = 0; i < max_cached_tickets; ++i) {
    const ssl_session_ptr taken = cache.take("broker:8883/broker");
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken.get(), issued[issued.size() - 1 - i]);
  }
  EXPECT_FALSE(cache.take("broker:8883/broker"));
  EXPECT_FALSE(cache.take("other:8883/other"));
  EXPECT_EQ(cache.size(), 0U);
}

TEST(ticket_cache, the_oldest_server_goes_when_the_server_bound_is_reached) {
  ticket_cache cache;
  for (std::size_t i = 0; i <= max_cached_servers; ++i) {
    cache.put("server-" + std::to_string(i), ssl_session_ptr(SSL_SESSION_new()));
  }
  EXPECT_EQ(cache.size(), max_cached_servers);
  EXPECT_FALSE(cache.take("server-0"));
  EXPECT_TRUE(cache.take("server-1"));
  EXPECT_TRUE(cache.take("server-" + std::to_string(max_cached_servers)));
}

}  // namespace
}  // namespace acemq::client
