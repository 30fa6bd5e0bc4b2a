#include "acemq/app/metrics.hpp"

#include <cstdio>

#include "acemq/mqtt/reason_code.hpp"

namespace acemq::app {
namespace {

class writer {
 public:
  void header(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(const std::string& name_and_labels, std::uint64_t value) {
    out_ += name_and_labels;
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void sample(const std::string& name_and_labels, double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.9g", value);
    out_ += name_and_labels;
    out_ += ' ';
    out_ += text;
    out_ += '\n';
  }
  void metric(const char* name, const char* type, const char* help,
              const std::atomic<std::uint64_t>& value) {
    header(name, type, help);
    sample(name, value.load(std::memory_order_relaxed));
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void broker_metrics(writer& w, const broker::broker_counters& c) {
  w.metric("acemq_connections", "gauge", "MQTT connections open in the engine.",
           c.connections_current);
  w.metric("acemq_connections_total", "counter", "MQTT connections opened since start.",
           c.connections_total);
  w.metric("acemq_messages_received_total", "counter", "PUBLISH packets received.", c.messages_in);
  w.metric("acemq_bytes_received_total", "counter", "Payload bytes received in PUBLISH packets.",
           c.bytes_in);
  w.metric("acemq_messages_sent_total", "counter", "PUBLISH packets sent to subscribers.",
           c.messages_out);
  w.metric("acemq_bytes_sent_total", "counter", "Payload bytes sent in PUBLISH packets.",
           c.bytes_out);
  w.metric("acemq_messages_dropped_total", "counter",
           "Messages dropped (session queue full, QoS 0 while offline).", c.messages_dropped);
  w.metric("acemq_deliveries_denied_total", "counter",
           "Deliveries refused by the subscriber's authorization.", c.deliveries_denied);
  w.metric("acemq_messages_expired_total", "counter",
           "Messages dropped because their Message Expiry Interval passed.", c.messages_expired);
  w.metric("acemq_retained_refused_total", "counter",
           "Retained messages refused (max_retained_messages reached).", c.retained_refused);
  w.metric("acemq_subscriptions", "gauge", "Subscriptions held by all sessions.", c.subscriptions);
  w.metric("acemq_retained_messages", "gauge", "Retained messages held.", c.retained_messages);
  w.metric("acemq_sessions", "gauge", "Sessions held (connected or not).", c.sessions);
  w.metric("acemq_queued_bytes", "gauge",
           "Payload bytes queued in all sessions (bounded by broker.max_queued_memory).",
           c.queued_bytes);
  w.metric("acemq_publishers_throttled_total", "counter",
           "Times a publisher stopped being read because a subscriber's queue was congested.",
           c.publishers_throttled);
  w.metric("acemq_publish_rate_limited_total", "counter",
           "Times a connection was read more slowly for exceeding broker.max_publish_rate.",
           c.publish_rate_limited);
  w.metric("acemq_connect_auth_success_total", "counter",
           "CONNECTs whose authentication succeeded (every provider together).", c.auth_success);
  w.metric("acemq_connect_auth_failure_total", "counter",
           "CONNECTs whose authentication was refused (every provider together).", c.auth_failure);
}

void server_metrics(writer& w, const net::server_counters& c) {
  w.metric("acemq_net_accepted_total", "counter", "Sockets accepted by every listener.",
           c.accepted);
  w.metric("acemq_net_active", "gauge", "Sockets open (MQTT over every transport).", c.active);
  w.header("acemq_net_refused_total", "counter", "Sockets closed at accept, by reason.");
  w.sample("acemq_net_refused_total{reason=\"max_connections\"}",
           c.refused_over_limit.load(std::memory_order_relaxed));
  w.sample("acemq_net_refused_total{reason=\"listener_rate\"}",
           c.refused_listener_rate.load(std::memory_order_relaxed));
  w.sample("acemq_net_refused_total{reason=\"address_rate\"}",
           c.refused_address_rate.load(std::memory_order_relaxed));
  w.metric(
      "acemq_net_slow_consumers_total", "counter",
      "Connections closed as slow consumers (server.write_queue_limit or slow_consumer_timeout).",
      c.slow_consumers);
  w.metric("acemq_net_tls_handshake_failures_total", "counter",
           "TLS handshakes that failed or timed out.", c.tls_handshake_failures);
  w.metric("acemq_net_tls_refused_no_ems_total", "counter",
           "TLS 1.2 sessions refused for lacking the Extended Master Secret.",
           c.tls_refused_no_ems);
  w.metric("acemq_net_websocket_refused_total", "counter",
           "WebSocket upgrades refused (wrong path, no mqtt subprotocol, not an upgrade).",
           c.websocket_refused);
  w.metric("acemq_net_http_requests_total", "counter", "Requests served by http listeners.",
           c.http_requests);
  w.metric("acemq_reloads_total", "counter", "SIGHUP reloads.", c.reloads);
  w.metric("acemq_reload_failures_total", "counter",
           "Parts of a reload that failed (the previous state was kept).", c.reload_failures);

  const char* name = "acemq_publish_write_latency_seconds";
  w.header(name, "histogram",
           "Time from an outgoing PUBLISH being handed to the connection driver to the "
           "completion of the socket write that carried it.");
  const auto snapshot = c.publish_write_latency.read();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < net::latency_histogram::bounds_seconds.size(); ++i) {
    cumulative += snapshot.buckets[i];
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", net::latency_histogram::bounds_seconds[i]);
    w.sample(std::string(name) + "_bucket{le=\"" + bound + "\"}", cumulative);
  }
  w.sample(std::string(name) + "_bucket{le=\"+Inf\"}", snapshot.count);
  w.sample(std::string(name) + "_sum", snapshot.sum_seconds);
  w.sample(std::string(name) + "_count", snapshot.count);
}

void auth_metrics(writer& w, const std::vector<std::shared_ptr<provider_counters>>& providers) {
  w.header("acemq_auth_successes_total", "counter",
           "Authentications (CONNECT and re-authentication) accepted, by provider.");
  for (const auto& p : providers) {
    w.sample("acemq_auth_successes_total{provider=\"" + p->provider + "\"}",
             p->successes.load(std::memory_order_relaxed));
  }
  w.header("acemq_auth_failures_total", "counter",
           "Authentications refused, by provider and MQTT reason code.");
  for (const auto& p : providers) {
    for (std::size_t code = 0; code < p->failures.size(); ++code) {
      const std::uint64_t value = p->failures[code].load(std::memory_order_relaxed);
      if (value == 0) continue;
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned>(code));
      const auto reason = mqtt::to_string(static_cast<mqtt::reason_code>(code));
      w.sample("acemq_auth_failures_total{provider=\"" + p->provider + "\",code=\"" + hex +
                   "\",reason=\"" + std::string(reason) + "\"}",
               value);
    }
  }
}

}  // namespace

std::string render_metrics(const metrics_sources& sources) {
  writer w;
  w.header("acemq_uptime_seconds", "gauge", "Seconds since the broker started.");
  w.sample("acemq_uptime_seconds", sources.uptime_seconds);
  if (sources.broker != nullptr) broker_metrics(w, *sources.broker);
  if (sources.server != nullptr) server_metrics(w, *sources.server);
  if (sources.providers != nullptr) auth_metrics(w, *sources.providers);
  return w.take();
}

}  // namespace acemq::app
