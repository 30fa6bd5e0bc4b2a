#include "acemq/net/io_faults.hpp"

namespace acemq::net {

std::string_view to_string(io_step step) noexcept {
  switch (step) {
    case io_step::read:
      return "read";
    case io_step::write:
      return "write";
    case io_step::handshake:
      return "handshake";
  }
  return "unknown";
}

}  // namespace acemq::net
