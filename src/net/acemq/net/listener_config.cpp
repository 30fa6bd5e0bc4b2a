#include "acemq/net/listener_config.hpp"

namespace acemq::net {

std::string_view to_string(transport value) {
  return name_in(transport_names, value, "tcp");
}

std::string_view to_string(client_certificate_mode value) {
  return name_in(client_certificate_mode_names, value, "none");
}

}  // namespace acemq::net
