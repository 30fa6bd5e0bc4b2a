#pragma once
// The port file: "<listener> <port>" lines a started server writes once every listener is bound,
// so a script that configured port 0 learns the real ports (acemq-broker --port-file, the
// benchmark servers).

#include <string>
#include <vector>

#include "acemq/net/server.hpp"

namespace acemq::app {

/// Writes one "<name> <port>" line per listener to `path`, through a temporary file renamed over
/// it, so a reader that sees the file sees all of it. False when it cannot be written.
bool write_port_file(const std::string& path, const std::vector<net::bound_listener>& listeners);

}  // namespace acemq::app
