// The guessing limits of the AS's secret checks in virtual time: per host, per identity, the
// identity's own hosts spared, limits turned off by a refill rate of 0.
#include <gtest/gtest.h>

#include "acemq/as/authentication_throttle.hpp"

namespace acemq::as {
namespace {

using namespace std::chrono_literals;

authentication_throttle_settings small() {
  authentication_throttle_settings settings;
  settings.per_address = {.burst = 2.0, .refill_per_second = 0.5, .max_entries = 16};
  settings.per_identity = {.burst = 3.0, .refill_per_second = 0.1, .max_entries = 16};
  settings.trusted_for = 100s;
  settings.max_trusted = 16;
  return settings;
}

TEST(AuthenticationThrottle, FailuresFromOneHostRefuseItUntilRefilled) {
  manual_clock clock;
  authentication_throttle throttle(clock, small());
  EXPECT_EQ(throttle.wait_before_check("owner\nalice", "192.0.2.1"), 0);
  throttle.failed("owner\nalice", "192.0.2.1");
  EXPECT_EQ(throttle.wait_before_check("owner\nalice", "192.0.2.1"), 0);
  throttle.failed("owner\nbob", "192.0.2.1");
  // Empty: the host waits 2 s (one failure back at 0.5 per second), for any identity.
  EXPECT_EQ(throttle.wait_before_check("client\ncarol", "192.0.2.1"), 2);
  EXPECT_EQ(throttle.wait_before_check("client\ncarol", "192.0.2.2"), 0);
  clock.advance(2s);
  EXPECT_EQ(throttle.wait_before_check("client\ncarol", "192.0.2.1"), 0);
}

TEST(AuthenticationThrottle, AnIdentityIsLimitedEverywhereButOnItsOwnHosts) {
  manual_clock clock;
  authentication_throttle throttle(clock, small());
  throttle.succeeded("owner\nalice", "203.0.113.1");
  for (const char* host : {"192.0.2.1", "192.0.2.2", "192.0.2.3"})
    throttle.failed("owner\nalice", host);
  EXPECT_EQ(throttle.wait_before_check("owner\nalice", "192.0.2.9"), 10);
  EXPECT_EQ(throttle.wait_before_check("owner\nalice", "203.0.113.1"), 0);
  EXPECT_EQ(throttle.wait_before_check("owner\nbob", "192.0.2.9"), 0);
  // The identity and the kind together name the bucket: a client named alice is another one.
  EXPECT_EQ(throttle.wait_before_check("client\nalice", "192.0.2.9"), 0);
  // Trust ends after trusted_for.
  clock.advance(101s);
  for (const char* host : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"})
    throttle.failed("owner\nalice", host);
  EXPECT_GT(throttle.wait_before_check("owner\nalice", "203.0.113.1"), 0);
}

TEST(AuthenticationThrottle, ARefillRateOfZeroTurnsALimitOff) {
  manual_clock clock;
  auto settings = small();
  settings.per_address.refill_per_second = 0;
  settings.per_identity.refill_per_second = 0;
  authentication_throttle throttle(clock, settings);
  for (int i = 0; i < 10; ++i)
    throttle.failed("owner\nalice", "192.0.2.1");
  EXPECT_EQ(throttle.wait_before_check("owner\nalice", "192.0.2.1"), 0);
}

}  // namespace
}  // namespace acemq::as
