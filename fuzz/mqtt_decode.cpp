// libFuzzer target for the MQTT codec: feeds the input through peek_frame, decode_connect and
// decode (3.1.1 and 5.0), and a PUBLISH also through decode_publish into one object reused
// across inputs, as the broker decodes them (it must agree with decode). Every failure must be an
// error reason code; whatever decodes must re-encode to exactly encoded_size() bytes and decode
// again to an equal packet, and a PUBLISH header written for scatter/gather must equal the front of
// the whole encoding.

#include <acemq/mqtt/decode.hpp>
#include <acemq/mqtt/encode.hpp>
#include <acemq/mqtt/frame.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

using acemq::byte_vector;
using acemq::byte_view;
namespace mqtt = acemq::mqtt;

// A limit like a broker's, so that the too-large path is exercised by ordinary inputs.
constexpr std::uint32_t maximum_packet_size = 64 * 1024;

void require(bool condition) {
  if (!condition) std::abort();
}

void check_round_trip(const mqtt::packet& decoded, mqtt::protocol_version version) {
  byte_vector wire;
  mqtt::encode(decoded, version, wire);
  require(wire.size() == mqtt::encoded_size(decoded, version));
  auto again = mqtt::decode(wire, version);
  require(again.has_value());
  require(*again == decoded);

  if (const auto* message = std::get_if<mqtt::publish>(&decoded)) {
    byte_vector header;
    mqtt::encode_publish_header(*message, version, header);
    const byte_view payload = message->payload_view();
    require(header.size() + payload.size() == wire.size());
    require(std::equal(header.begin(), header.end(), wire.begin()));
    require(std::equal(payload.begin(), payload.end(), wire.begin() + header.size()));
  }
}

void check_packet(byte_view whole, mqtt::protocol_version version) {
  auto decoded = mqtt::decode(whole, version);
  if (!whole.empty() && (whole[0] >> 4) == static_cast<std::uint8_t>(mqtt::packet_type::publish)) {
    static mqtt::publish reused;
    const auto into = mqtt::decode_publish(whole, version, reused);
    require(into.has_value() == decoded.has_value());
    if (!into) {
      require(into.error() == decoded.error());
    } else {
      require(mqtt::packet{reused} == *decoded);
    }
  }
  if (!decoded) {
    require(mqtt::is_error(decoded.error()));
    return;
  }
  check_round_trip(*decoded, version);
}

void check_connect(byte_view whole) {
  auto decoded = mqtt::decode_connect(whole);
  if (!decoded) {
    require(mqtt::is_error(decoded.error()));
    return;
  }
  check_round_trip(mqtt::packet{*decoded}, decoded->protocol_version);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const byte_view input(data, size);

  // The input as one packet, whatever its framing says.
  check_connect(input);
  check_packet(input, mqtt::protocol_version::v311);
  check_packet(input, mqtt::protocol_version::v5);

  // The input as a stream: cut it into packets the way the network layer does.
  byte_view rest = input;
  while (!rest.empty()) {
    auto peeked = mqtt::peek_frame(rest, maximum_packet_size);
    if (!peeked) {
      require(peeked.error() == mqtt::reason_code::malformed_packet ||
              peeked.error() == mqtt::reason_code::packet_too_large);
      break;
    }
    if (!peeked->has_value()) break;  // needs more bytes
    const mqtt::frame_header header = **peeked;
    require(header.header_size >= 2 && header.header_size <= mqtt::max_fixed_header_size);
    require(header.total_size() <= maximum_packet_size);
    if (header.total_size() > rest.size()) break;  // body not complete
    const byte_view packet = rest.first(header.total_size());
    check_connect(packet);
    check_packet(packet, mqtt::protocol_version::v311);
    check_packet(packet, mqtt::protocol_version::v5);
    rest = rest.subspan(header.total_size());
  }
  return 0;
}
