// /metrics rendering, the latency histogram and JSON log records.

#include <gtest/gtest.h>

#include <string>

#include "acemq/app/logging.hpp"
#include "acemq/app/metrics.hpp"

namespace acemq::app {
namespace {

bool contains_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(metrics, counters_are_rendered_with_help_and_type) {
  broker::broker_counters engine;
  engine.connections_current = 3;
  engine.messages_in = 10;
  engine.bytes_out = 1234;
  net::server_counters network;
  network.refused_address_rate = 2;
  network.slow_consumers = 1;
  auto password = std::make_shared<provider_counters>();
  password->provider = "password";
  password->successes = 4;
  password->failures[0x86] = 5;
  std::vector<std::shared_ptr<provider_counters>> providers{password};
  metrics_sources sources;
  sources.broker = &engine;
  sources.server = &network;
  sources.providers = &providers;
  sources.uptime_seconds = 1.5;
  const std::string text = render_metrics(sources);
  EXPECT_TRUE(contains_line(text, "# TYPE acemq_connections gauge")) << text;
  EXPECT_TRUE(contains_line(text, "acemq_connections 3"));
  EXPECT_TRUE(contains_line(text, "acemq_messages_received_total 10"));
  EXPECT_TRUE(contains_line(text, "acemq_bytes_sent_total 1234"));
  EXPECT_TRUE(contains_line(text, "acemq_net_refused_total{reason=\"address_rate\"} 2"));
  EXPECT_TRUE(contains_line(text, "acemq_net_slow_consumers_total 1"));
  EXPECT_TRUE(contains_line(text, "acemq_auth_successes_total{provider=\"password\"} 4"));
  EXPECT_TRUE(contains_line(text,
                            "acemq_auth_failures_total{provider=\"password\",code=\"0x86\","
                            "reason=\"bad_user_name_or_password\"} 5"));
  EXPECT_TRUE(contains_line(text, "acemq_uptime_seconds 1.5"));
  // Every sample line belongs to a family announced by a TYPE line.
  EXPECT_TRUE(contains_line(text, "# TYPE acemq_publish_write_latency_seconds histogram"));
}

TEST(metrics, latency_histogram_buckets_are_cumulative) {
  net::server_counters network;
  network.publish_write_latency.observe(std::chrono::microseconds(50));  // <= 0.0001
  network.publish_write_latency.observe(std::chrono::milliseconds(3));   // <= 0.005
  network.publish_write_latency.observe(std::chrono::seconds(30));       // +Inf only
  network.publish_write_latency.observe(std::chrono::nanoseconds(-5));   // clock oddity: 0
  metrics_sources sources;
  sources.server = &network;
  const std::string text = render_metrics(sources);
  const std::string name = "acemq_publish_write_latency_seconds";
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"0.0001\"} 2")) << text;
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"0.0025\"} 2"));
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"0.005\"} 3"));
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"5\"} 3"));
  EXPECT_TRUE(contains_line(text, name + "_bucket{le=\"+Inf\"} 4"));
  EXPECT_TRUE(contains_line(text, name + "_count 4"));
  const auto snapshot = network.publish_write_latency.read();
  EXPECT_NEAR(snapshot.sum_seconds, 30.00305, 1e-9);
}

TEST(logging, json_records_escape_everything_a_message_may_hold) {
  const std::string line =
      format_json_record(1'700'000'000'123, "warn", 42, "client \"a\\b\"\nsaid\t\x01 ok");
  EXPECT_EQ(line,
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"level\":\"warn\",\"thread\":42,"
            "\"message\":\"client \\\"a\\\\b\\\"\\nsaid\\t\\u0001 ok\"}\n");
}

TEST(logging, configure_refuses_an_unknown_level) {
  EXPECT_FALSE(configure_logging("verbose", log_format::text));
  EXPECT_TRUE(configure_logging("info", log_format::json));
  EXPECT_TRUE(configure_logging("info", log_format::text));
}

}  // namespace
}  // namespace acemq::app
