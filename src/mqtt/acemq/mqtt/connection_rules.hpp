#pragma once
// Rules both ends of an MQTT connection apply the same way, so the broker's protocol machine and
// the client's take them from here: packet identifiers (MQTT 5.0 2.2.1), the Receive Maximum
// (3.1.2.11.3, 3.2.2.3.3) and the Keep Alive (3.1.2.10, 3.2.2.3.14).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace acemq::mqtt {

/// Identifiers a side may have in use at once: 1 to 65535, 0 is never valid [MQTT-2.2.1-3].
inline constexpr std::size_t packet_ids_available = 65535;

/// The identifier tried after `id` when allocating: the next one, wrapping from `last` (at most
/// 65535) back to 1, never 0 [MQTT-2.2.1-3].
constexpr std::uint16_t next_packet_id(std::uint16_t id, std::uint16_t last = 65535) noexcept {
  return id >= last ? std::uint16_t{1} : static_cast<std::uint16_t>(id + 1U);
}

/// MQTT 5.0 3.1.2.11.3 / 3.2.2.3.3: an absent Receive Maximum means 65,535 (and MQTT 3.1.1 has
/// none, so the same applies).
constexpr std::uint16_t receive_maximum_or_default(
    std::optional<std::uint16_t> announced) noexcept {
  return announced.value_or(std::uint16_t{65535});
}

/// [MQTT-3.2.2-21]: a Server Keep Alive in CONNACK replaces the Keep Alive the client asked for.
constexpr std::uint16_t effective_keep_alive(std::uint16_t requested,
                                             std::optional<std::uint16_t> server) noexcept {
  return server.value_or(requested);
}

/// [MQTT-3.1.2-22]: the server closes a connection silent for one and a half Keep Alive periods
/// (0 = no keep alive, no bound). A client sends a packet within each period [MQTT-3.1.2-23].
constexpr std::chrono::milliseconds server_silence_bound(std::uint16_t keep_alive) noexcept {
  return std::chrono::milliseconds(std::uint64_t{keep_alive} * 1500);
}

}  // namespace acemq::mqtt
