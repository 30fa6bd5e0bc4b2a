#pragma once
// The HTTPS front of acemq-as: the transport (https_server) wired to the authorization service.
// One place, so that acemq-as and its benchmark route requests alike.

#include <functional>
#include <utility>

#include "acemq/as/https_server.hpp"
#include "acemq/as/service.hpp"

namespace acemq::as {

/// An https_server that hands every request to the service `service()` returns at that moment
/// (acemq-as rebuilds its service once the bound port is known), running on the worker pool only
/// those that may verify a secret (authorization_service::needs_worker); the others run on the
/// I/O threads.
inline https_server make_https_front(https_server_options options,
                                     std::function<authorization_service&()> service) {
  return https_server(
      std::move(options),
      [service](const http_request& request) { return service().handle(request); },
      [service](const http_request& request) { return service().needs_worker(request); });
}

}  // namespace acemq::as
