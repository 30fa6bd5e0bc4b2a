#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/unsubscribe.hpp>

namespace acemq::mqtt::detail {

namespace {
constexpr std::uint8_t required_flags = 0x02;  // [MQTT-3.10.1-1]
}  // namespace

result<unsubscribe, reason_code> decode_unsubscribe(std::uint8_t flags, byte_view body,
                                                    protocol_version v) {
  if (flags != required_flags) return unexpected{reason_code::malformed_packet};
  reader in(body);
  unsubscribe out;
  ACEMQ_MQTT_TRY(out.packet_id, read_packet_id(in));
  if (v == protocol_version::v5) {
    ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::unsubscribe));
  }
  while (!in.empty()) {
    std::string filter;
    ACEMQ_MQTT_TRY(filter, in.read_utf8_string());
    out.filters.push_back(std::move(filter));
  }
  // [MQTT-3.10.3-2] at least one Topic Filter.
  if (out.filters.empty()) return unexpected{reason_code::protocol_error};
  return out;
}

std::uint8_t fixed_header_flags(const unsubscribe&) noexcept {
  return required_flags;
}

std::size_t body_size(const unsubscribe& p, protocol_version v) noexcept {
  std::size_t size = 2;
  if (v == protocol_version::v5) size += properties_size(p.properties);
  for (const std::string& filter : p.filters)
    size += length_prefixed_size(filter.size());
  return size;
}

void encode_body(const unsubscribe& p, protocol_version v, byte_vector& out) {
  write_two_byte_integer(p.packet_id, out);
  if (v == protocol_version::v5) write_properties(p.properties, out);
  for (const std::string& filter : p.filters)
    write_utf8_string(filter, out);
}

}  // namespace acemq::mqtt::detail
