#include <acemq/client/client_error.hpp>

namespace acemq::client {

std::string_view to_string(client_error error) noexcept {
  switch (error) {
    case client_error::not_connected:
      return "not_connected";
    case client_error::already_started:
      return "already_started";
    case client_error::window_full:
      return "window_full";
    case client_error::send_queue_full:
      return "send_queue_full";
    case client_error::invalid_argument:
      return "invalid_argument";
    case client_error::packet_too_large:
      return "packet_too_large";
    case client_error::qos_not_supported:
      return "qos_not_supported";
    case client_error::retain_not_supported:
      return "retain_not_supported";
    case client_error::connection_refused:
      return "connection_refused";
    case client_error::protocol_violation:
      return "protocol_violation";
    case client_error::server_disconnected:
      return "server_disconnected";
    case client_error::keep_alive_timeout:
      return "keep_alive_timeout";
    case client_error::connect_timeout:
      return "connect_timeout";
    case client_error::authentication_failed:
      return "authentication_failed";
    case client_error::transport_error:
      return "transport_error";
    case client_error::tls_error:
      return "tls_error";
    case client_error::closed_by_client:
      return "closed_by_client";
    case client_error::not_supported:
      return "not_supported";
  }
  return "unknown";
}

std::string describe(const failure& f) {
  std::string out(to_string(f.error));
  out += " (";
  out += mqtt::to_string(f.reason_code);
  out += ")";
  if (!f.detail.empty()) {
    out += ": ";
    out += f.detail;
  }
  return out;
}

}  // namespace acemq::client
