#pragma once
// Short names for the two protocol versions, shared by the codec tests and the sample packets.

#include <acemq/mqtt/version.hpp>

namespace acemq::mqtt::test {

inline constexpr auto v311 = protocol_version::v311;
inline constexpr auto v5 = protocol_version::v5;

}  // namespace acemq::mqtt::test
