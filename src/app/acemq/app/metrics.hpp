#pragma once
// The Prometheus text exposition (format 0.0.4) of the broker's counters, served at /metrics by
// http listeners: the engine's counters (broker::broker_counters), the network layer's
// (net::server_counters, including the PUBLISH write-latency histogram) and the authentication
// outcomes per provider and reason code.

#include <memory>
#include <string>
#include <vector>

#include "acemq/app/auth_setup.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/net/server.hpp"

namespace acemq::app {

/// What render_metrics reads; any pointer may be null (its metrics are left out).
struct metrics_sources {
  const broker::broker_counters* broker = nullptr;
  const net::server_counters* server = nullptr;
  const std::vector<std::shared_ptr<provider_counters>>* providers = nullptr;
  /// Seconds since the broker started.
  double uptime_seconds = 0;
};

/// Renders every metric with its HELP and TYPE lines.
std::string render_metrics(const metrics_sources& sources);

}  // namespace acemq::app
