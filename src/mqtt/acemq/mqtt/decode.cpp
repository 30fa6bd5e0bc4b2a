#include <acemq/mqtt/decode.hpp>
#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/frame.hpp>

#include <limits>

namespace acemq::mqtt {

namespace {

// Splits a buffer that must hold exactly one packet into its fixed header and body.
result<frame_header, reason_code> read_whole_frame(byte_view whole_packet) {
  std::optional<frame_header> header;
  // The size limit is the caller's business (peek_frame with its Maximum Packet Size); here
  // only the framing is checked.
  ACEMQ_MQTT_TRY(header, peek_frame(whole_packet, std::numeric_limits<std::uint32_t>::max()));
  // A truncated fixed header, or a Remaining Length that disagrees with the bytes handed in.
  if (!header || header->total_size() != whole_packet.size()) {
    return unexpected{reason_code::malformed_packet};
  }
  return *header;
}

template <typename T>
result<packet, reason_code> as_packet(result<T, reason_code> decoded) {
  if (!decoded) return unexpected{decoded.error()};
  return packet{std::move(decoded).value()};
}

}  // namespace

result<void, reason_code> decode_publish(byte_view whole_packet, protocol_version version,
                                         publish& out,
                                         std::shared_ptr<byte_vector> payload_buffer) {
  frame_header header;
  ACEMQ_MQTT_TRY(header, read_whole_frame(whole_packet));
  if (header.type != packet_type::publish) return unexpected{reason_code::protocol_error};
  return detail::decode_publish_into(header.flags, whole_packet.subspan(header.header_size),
                                     version, out, std::move(payload_buffer));
}

result<packet, reason_code> decode(byte_view whole_packet, protocol_version version) {
  frame_header header;
  ACEMQ_MQTT_TRY(header, read_whole_frame(whole_packet));
  const byte_view body = whole_packet.subspan(header.header_size);
  const std::uint8_t flags = header.flags;
  switch (header.type) {
    case packet_type::connect:
      return as_packet(detail::decode_connect_body(flags, body));
    case packet_type::connack:
      return as_packet(detail::decode_connack(flags, body, version));
    case packet_type::publish:
      return as_packet(detail::decode_publish(flags, body, version));
    case packet_type::puback:
      return as_packet(detail::decode_acknowledgement<packet_type::puback>(flags, body, version));
    case packet_type::pubrec:
      return as_packet(detail::decode_acknowledgement<packet_type::pubrec>(flags, body, version));
    case packet_type::pubrel:
      return as_packet(detail::decode_acknowledgement<packet_type::pubrel>(flags, body, version));
    case packet_type::pubcomp:
      return as_packet(detail::decode_acknowledgement<packet_type::pubcomp>(flags, body, version));
    case packet_type::subscribe:
      return as_packet(detail::decode_subscribe(flags, body, version));
    case packet_type::suback:
      return as_packet(detail::decode_suback(flags, body, version));
    case packet_type::unsubscribe:
      return as_packet(detail::decode_unsubscribe(flags, body, version));
    case packet_type::unsuback:
      return as_packet(detail::decode_unsuback(flags, body, version));
    case packet_type::pingreq:
      return as_packet(detail::decode_pingreq(flags, body));
    case packet_type::pingresp:
      return as_packet(detail::decode_pingresp(flags, body));
    case packet_type::disconnect:
      return as_packet(detail::decode_disconnect(flags, body, version));
    case packet_type::auth:
      // MQTT 3.1.1 2.2.1: packet type 15 is reserved.
      if (version == protocol_version::v311) return unexpected{reason_code::malformed_packet};
      return as_packet(detail::decode_auth(flags, body));
  }
  return unexpected{reason_code::malformed_packet};
}

result<connect, reason_code> decode_connect(byte_view whole_packet) {
  frame_header header;
  ACEMQ_MQTT_TRY(header, read_whole_frame(whole_packet));
  // [MQTT-3.1.0-1] the first packet from the client is CONNECT.
  if (header.type != packet_type::connect) return unexpected{reason_code::protocol_error};
  return detail::decode_connect_body(header.flags, whole_packet.subspan(header.header_size));
}

}  // namespace acemq::mqtt
