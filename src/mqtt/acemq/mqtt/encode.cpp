#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/encode.hpp>
#include <acemq/mqtt/frame.hpp>

#include <algorithm>
#include <cassert>

namespace acemq::mqtt {

namespace {

// Grows `out` geometrically so that appending many packets to one buffer stays linear, and a
// reused buffer with enough capacity never allocates.
void reserve_for(byte_vector& out, std::size_t extra) {
  const std::size_t needed = out.size() + extra;
  if (needed > out.capacity()) out.reserve(std::max(needed, 2 * out.capacity()));
}

template <typename Packet>
void write_fixed_header(const Packet& p, packet_type type, std::size_t body, byte_vector& out) {
  out.push_back(static_cast<std::uint8_t>((static_cast<std::uint8_t>(type) << 4) |
                                          detail::fixed_header_flags(p)));
  write_variable_byte_integer(detail::to_remaining_length(body), out);
}

}  // namespace

void encode(const packet& p, protocol_version version, byte_vector& out) {
  const packet_type type = type_of(p);
  // MQTT 3.1.1 2.2.1: packet type 15 is reserved.
  assert(type != packet_type::auth || version == protocol_version::v5);
  std::visit(
      [&](const auto& alternative) {
        const std::size_t body = detail::body_size(alternative, version);
        reserve_for(out, 1 + variable_byte_integer_size(detail::to_remaining_length(body)) + body);
        write_fixed_header(alternative, type, body, out);
        detail::encode_body(alternative, version, out);
      },
      p);
}

std::size_t encoded_size(const packet& p, protocol_version version) {
  return std::visit(
      [&](const auto& alternative) {
        const std::size_t body = detail::body_size(alternative, version);
        return 1 + variable_byte_integer_size(detail::to_remaining_length(body)) + body;
      },
      p);
}

void encode_publish_header(const publish& p, protocol_version version, byte_vector& out) {
  const std::size_t body = detail::body_size(p, version);
  const std::size_t header_part = body - p.payload_view().size();
  reserve_for(out, 1 + variable_byte_integer_size(detail::to_remaining_length(body)) + header_part);
  write_fixed_header(p, packet_type::publish, body, out);
  detail::encode_publish_variable_header(p, version, out);
}

}  // namespace acemq::mqtt
