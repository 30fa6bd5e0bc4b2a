#pragma once
// Decoding of whole packets. Every failure is the MQTT reason code to report (in CONNACK or
// DISCONNECT) before closing; nothing is allocated from a length that was not checked against
// the bytes actually present.

#include <acemq/common/bytes.hpp>
#include <acemq/common/result.hpp>
#include <acemq/mqtt/packet.hpp>
#include <acemq/mqtt/reason_code.hpp>
#include <acemq/mqtt/version.hpp>

namespace acemq::mqtt {

/// Decodes exactly one packet (`whole_packet` is the fixed header plus exactly Remaining Length
/// bytes, as delimited by peek_frame) for a connection speaking `version`. A CONNECT is decoded
/// with its own version (see decode_connect). Errors: malformed_packet for anything the
/// specification calls malformed, protocol_error for the protocol errors it defines
/// (disallowed or repeated properties, out-of-range property values, an empty SUBSCRIBE),
/// topic_name_invalid for a PUBLISH topic with wildcards, unsupported_protocol_version.
result<packet, reason_code> decode(byte_view whole_packet, protocol_version version);

/// Decodes a PUBLISH (delimited as for decode()) into `out`, reusing its storage (the topic's
/// capacity, no packet variant): the path of the packet a broker receives most. Every field of
/// `out` is set. The payload is written into `payload_buffer` when one is given (a buffer the
/// caller holds alone, its capacity kept: the broker refills those of messages it recycles),
/// else into a new buffer; either way the buffer is a mutable object, shared as const.
/// Errors as decode(); protocol_error if the packet is not a PUBLISH.
result<void, reason_code> decode_publish(byte_view whole_packet, protocol_version version,
                                         publish& out,
                                         std::shared_ptr<byte_vector> payload_buffer = nullptr);

/// Decodes the first packet of a connection, which must be CONNECT [MQTT-3.1.0-1]. The protocol
/// version is read from the packet: an unknown Protocol Name or Level gives
/// unsupported_protocol_version (the broker answers CONNACK 0x84 in v5 or return code 0x01 in
/// 3.1.1 [MQTT-3.1.2-2]). Another packet type gives protocol_error.
result<connect, reason_code> decode_connect(byte_view whole_packet);

}  // namespace acemq::mqtt
