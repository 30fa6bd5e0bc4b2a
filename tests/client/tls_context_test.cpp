// tls_context: the external PSK option (RFC 9431 2.2.1 / 2.2.3.2) and its refusals.
#include <acemq/client/tls_context.hpp>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace acemq::client
