#pragma once
// Internal: the per-packet decode and encode functions that decode.cpp and encode.cpp dispatch
// to. Each packet type's functions live in that packet's source file. Not part of the public API.

#include <acemq/common/bytes.hpp>
#include <acemq/common/result.hpp>
#include <acemq/mqtt/detail/wire.hpp>
#include <acemq/mqtt/packet.hpp>
#include <acemq/mqtt/version.hpp>

#include <cstddef>
#include <cstdint>

namespace acemq::mqtt::detail {

/// Where a property list appears; decides which properties are allowed [MQTT 5.0 2.2.2.2].
enum class property_context : std::uint8_t {
  connect,
  will,
  connack,
  publish,
  puback,
  pubrec,
  pubrel,
  pubcomp,
  subscribe,
  suback,
  unsubscribe,
  unsuback,
  disconnect,
  auth,
};

/// Reads a Property Length and the properties it covers. Errors: a property not allowed in
/// `context` or a repeated non-repeatable one -> protocol_error; a value out of range ->
/// protocol_error; a bad length, unknown identifier or bad string -> malformed_packet.
result<properties, reason_code> read_properties(reader& in, property_context context);

/// Bytes of the properties themselves, without the Property Length.
std::size_t properties_content_size(const properties& props) noexcept;
/// Bytes of Property Length plus the properties.
std::size_t properties_size(const properties& props) noexcept;
/// Appends Property Length plus the properties.
void write_properties(const properties& props, byte_vector& out);

/// Whether MQTT 5.0 allows `value` as the reason code of a packet of `type` [MQTT 5.0 2.4].
bool is_allowed_reason_code(packet_type type, std::uint8_t value) noexcept;

/// Reads a Packet Identifier, which must be non-zero where present [MQTT-2.2.1-3].
result<std::uint16_t, reason_code> read_packet_id(reader& in) noexcept;

// Per packet: decode_<type>(flags, body, version) decodes the Remaining Length bytes `body`;
// fixed_header_flags() gives the low nibble of the first byte; body_size() the Remaining Length;
// encode_body() appends the variable header and payload.
result<connect, reason_code> decode_connect_body(std::uint8_t flags, byte_view body);
result<connack, reason_code> decode_connack(std::uint8_t flags, byte_view body, protocol_version v);
result<publish, reason_code> decode_publish(std::uint8_t flags, byte_view body, protocol_version v);
/// The same into `out`, reusing its storage; every field of `out` is set. The payload is written
/// into `payload_buffer` when one is given (see mqtt::decode_publish).
result<void, reason_code> decode_publish_into(
    std::uint8_t flags, byte_view body, protocol_version v, publish& out,
    std::shared_ptr<byte_vector> payload_buffer = nullptr);
result<subscribe, reason_code> decode_subscribe(std::uint8_t flags, byte_view body,
                                                protocol_version v);
result<suback, reason_code> decode_suback(std::uint8_t flags, byte_view body, protocol_version v);
result<unsubscribe, reason_code> decode_unsubscribe(std::uint8_t flags, byte_view body,
                                                    protocol_version v);
result<unsuback, reason_code> decode_unsuback(std::uint8_t flags, byte_view body,
                                              protocol_version v);
result<pingreq, reason_code> decode_pingreq(std::uint8_t flags, byte_view body);
result<pingresp, reason_code> decode_pingresp(std::uint8_t flags, byte_view body);
result<disconnect, reason_code> decode_disconnect(std::uint8_t flags, byte_view body,
                                                  protocol_version v);
result<auth, reason_code> decode_auth(std::uint8_t flags, byte_view body);

// PUBACK, PUBREC, PUBREL and PUBCOMP: one codec for the four (acknowledgement.cpp).
template <packet_type Type>
result<acknowledgement<Type>, reason_code> decode_acknowledgement(std::uint8_t flags,
                                                                  byte_view body,
                                                                  protocol_version v);
template <packet_type Type>
std::uint8_t fixed_header_flags(const acknowledgement<Type>&) noexcept;
template <packet_type Type>
std::size_t body_size(const acknowledgement<Type>& p, protocol_version v) noexcept;
template <packet_type Type>
void encode_body(const acknowledgement<Type>& p, protocol_version v, byte_vector& out);

std::uint8_t fixed_header_flags(const connect&) noexcept;
std::uint8_t fixed_header_flags(const connack&) noexcept;
std::uint8_t fixed_header_flags(const publish& p) noexcept;
std::uint8_t fixed_header_flags(const subscribe&) noexcept;
std::uint8_t fixed_header_flags(const suback&) noexcept;
std::uint8_t fixed_header_flags(const unsubscribe&) noexcept;
std::uint8_t fixed_header_flags(const unsuback&) noexcept;
std::uint8_t fixed_header_flags(const pingreq&) noexcept;
std::uint8_t fixed_header_flags(const pingresp&) noexcept;
std::uint8_t fixed_header_flags(const disconnect&) noexcept;
std::uint8_t fixed_header_flags(const auth&) noexcept;

std::size_t body_size(const connect& p, protocol_version v) noexcept;
std::size_t body_size(const connack& p, protocol_version v) noexcept;
std::size_t body_size(const publish& p, protocol_version v) noexcept;
std::size_t body_size(const subscribe& p, protocol_version v) noexcept;
std::size_t body_size(const suback& p, protocol_version v) noexcept;
std::size_t body_size(const unsubscribe& p, protocol_version v) noexcept;
std::size_t body_size(const unsuback& p, protocol_version v) noexcept;
std::size_t body_size(const pingreq& p, protocol_version v) noexcept;
std::size_t body_size(const pingresp& p, protocol_version v) noexcept;
std::size_t body_size(const disconnect& p, protocol_version v) noexcept;
std::size_t body_size(const auth& p, protocol_version v) noexcept;

void encode_body(const connect& p, protocol_version v, byte_vector& out);
void encode_body(const connack& p, protocol_version v, byte_vector& out);
void encode_body(const publish& p, protocol_version v, byte_vector& out);
void encode_body(const subscribe& p, protocol_version v, byte_vector& out);
void encode_body(const suback& p, protocol_version v, byte_vector& out);
void encode_body(const unsubscribe& p, protocol_version v, byte_vector& out);
void encode_body(const unsuback& p, protocol_version v, byte_vector& out);
void encode_body(const pingreq& p, protocol_version v, byte_vector& out);
void encode_body(const pingresp& p, protocol_version v, byte_vector& out);
void encode_body(const disconnect& p, protocol_version v, byte_vector& out);
void encode_body(const auth& p, protocol_version v, byte_vector& out);

/// PUBLISH without its payload (the part encode_publish_header writes after the fixed header).
void encode_publish_variable_header(const publish& p, protocol_version v, byte_vector& out);

}  // namespace acemq::mqtt::detail
