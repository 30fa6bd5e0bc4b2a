#pragma once
// Encoding of packets into caller-owned buffers. The caller clears and reuses one vector per
// connection, so steady-state encoding does not allocate.
//
// Preconditions (programming errors, checked by assertions): strings and binary fields of at most
// 65535 bytes, QoS values 0..2, a total Remaining Length of at most 268435455, no AUTH for
// MQTT 3.1.1. Values come from decoded packets or from configuration checked at start-up.

#include <acemq/common/bytes.hpp>
#include <acemq/mqtt/packet.hpp>
#include <acemq/mqtt/version.hpp>

#include <cstddef>

namespace acemq::mqtt {

/// Appends the whole packet to `out`. Properties are written only for v5. For CONNECT the
/// packet's own protocol_version is used.
void encode(const packet& p, protocol_version version, byte_vector& out);

/// The number of bytes encode() appends for `p`.
std::size_t encoded_size(const packet& p, protocol_version version);

/// Appends everything of the PUBLISH except the payload: the fixed header (whose Remaining Length
/// includes the payload), the topic, the packet identifier and the properties. Sending this
/// followed by *p.payload gives the same bytes as encode().
void encode_publish_header(const publish& p, protocol_version version, byte_vector& out);

}  // namespace acemq::mqtt
