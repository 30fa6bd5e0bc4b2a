#include "acemq/net/listener_config.hpp"

namespace acemq::net {

std::string_view to_string(transport value) {
  switch (value) {
    case transport::tcp:
      return "tcp";
    case transport::tls:
      return "tls";
    case transport::ws:
      return "ws";
    case transport::wss:
      return "wss";
    case transport::http:
      return "http";
  }
  return "tcp";
}

std::string_view to_string(client_certificate_mode value) {
  switch (value) {
    case client_certificate_mode::none:
      return "none";
    case client_certificate_mode::optional:
      return "optional";
    case client_certificate_mode::required:
      return "required";
  }
  return "none";
}
}  // namespace acemq::net
