#pragma once
// A seam for failure-injection tests, after Boost.Beast's test stream with a fail counter: every
// transport (TCP, TLS, WebSocket, secure WebSocket) asks it before each socket read, write and
// handshake step whether that step fails, and a failing step goes down the transport's real
// error path as a reset by the peer would. Production servers have none (one null check per
// step). tests/net/fault_matrix_test.cpp drives it.

#include <cstdint>
#include <string_view>

namespace acemq::net {

/// The kinds of step a transport takes on its socket.
enum class io_step : std::uint8_t {
  read,       ///< a read from the socket (TLS: of decrypted bytes; WebSocket: of a message)
  write,      ///< a write to the socket
  handshake,  ///< a step of the TLS handshake or of the WebSocket upgrade
};

std::string_view to_string(io_step step) noexcept;

/// Decides which steps fail. Called on the connection's I/O thread.
class io_faults {
 public:
  virtual ~io_faults() = default;
  /// Whether the step about to be taken fails (as ECONNRESET).
  virtual bool fails(io_step step) noexcept = 0;
};

}  // namespace acemq::net
