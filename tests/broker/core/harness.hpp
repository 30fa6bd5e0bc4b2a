#pragma once
// In-process test harness for the broker core: a fake transport that records what the protocol
// machine writes, a manual clock, and helpers that encode client packets and decode the replies
// with the codec. Everything runs on the test thread in virtual time.

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/broker/connection.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/mqtt/decode.hpp"
#include "acemq/mqtt/encode.hpp"
#include "acemq/mqtt/frame.hpp"
#include "acemq/mqtt/packet.hpp"

namespace acemq::broker::testing {

/// Records every action of the connection; wake() and post() are queued for the test to run.
class fake_io final : public connection_io {
 public:
  void send(outgoing message) override {
    wire.insert(wire.end(), message.bytes.begin(), message.bytes.end());
    if (message.payload) {
      wire.insert(wire.end(), message.payload->begin(), message.payload->end());
      payloads.push_back(message.payload);
    }
    ++writes;
  }
  void close() override { close_requested = true; }
  void arm_timer(clock::time_point deadline) override { armed = deadline; }
  const tls_facts* tls() const override { return tls_facts_of; }
  acemq::broker::address_text remote_address() const override {
    return acemq::broker::address_text("192.0.2.1:50000");
  }
  void wake() override { ++wakes; }
  void post(std::function<void()> task) override { tasks.push_back(std::move(task)); }
  bool congested() override {
    ++congestion_checks;
    return congested_flag;
  }
  void pause_reading() override { paused = true; }
  void resume_reading() override {
    paused = false;
    ++resumes;
  }

  byte_vector wire;
  std::vector<std::shared_ptr<const byte_vector>> payloads;
  std::size_t writes = 0;
  bool close_requested = false;
  std::optional<clock::time_point> armed;
  int wakes = 0;
  std::deque<std::function<void()>> tasks;
  /// What tls() returns: null = plain TCP.
  const tls_facts* tls_facts_of = nullptr;
  /// What congested() answers (a test clears it and calls on_wake, as the driver does).
  bool congested_flag = false;
  /// How often the machine asked (the driver's slow-consumer clock runs on these calls).
  int congestion_checks = 0;
  /// Whether the machine asked the transport to stop reading, and how often it resumed.
  bool paused = false;
  int resumes = 0;
};

/// TLS facts of an anonymous TLS 1.3 client (no certificate, no PSK).
class anonymous_tls final : public tls_facts {
 public:
  std::optional<byte_vector> export_keying_material(std::string_view, byte_view, bool,
                                                    std::size_t length) const override {
    return byte_vector(length, 0x5A);
  }
  std::optional<std::string> peer_certificate_pem() const override { return std::nullopt; }
  std::optional<std::string> peer_subject_common_name() const override { return std::nullopt; }
  std::vector<std::string> peer_subject_alternative_names() const override { return {}; }
  std::optional<std::string> psk_identity() const override { return std::nullopt; }
  std::string_view protocol() const override { return "TLSv1.3"; }
};

/// A principal with a configurable deny list and expiry, for authorization tests.
class test_principal final : public principal {
 public:
  std::string_view name() const override { return "test"; }
  principal_identity identity() const override { return {"test", {}, subject}; }
  mqtt::reason_code may_publish(std::string_view topic) const override {
    return topic.starts_with(denied_prefix) ? mqtt::reason_code::not_authorized
                                            : mqtt::reason_code::success;
  }
  mqtt::reason_code may_subscribe(std::string_view filter) const override {
    return filter.starts_with(denied_prefix) ? mqtt::reason_code::not_authorized
                                             : mqtt::reason_code::success;
  }
  bool may_receive(std::string_view topic) const override {
    return !topic.starts_with(hidden_prefix) && !topic.starts_with(denied_prefix);
  }
  std::optional<std::int64_t> expires_at_unix() const override { return expires_at; }
  bool revoked() const override { return is_revoked; }
  bool disconnect_on_denied_delivery() const override { return strict; }
  bool disconnect_on_unacknowledged_refusal() const override { return strict; }

  std::optional<std::int64_t> expires_at;
  /// The identity's subject: sessions are bound to it.
  std::string subject = "tester";
  std::string denied_prefix = "denied/";
  std::string hidden_prefix = "hidden/";
  bool is_revoked = false;
  /// Behaves as an ACE principal: refused deliveries and 3.1.1 publishes disconnect.
  bool strict = false;
};

/// One simulated client: a fake transport plus the broker's connection machine.
class client {
 public:
  client(broker& shared, const listener_settings& listener, mqtt::protocol_version version)
      : version_(version), machine_(std::make_unique<connection>(shared, io_, listener)) {}

  fake_io& io() { return io_; }
  connection& machine() { return *machine_; }
  mqtt::protocol_version version() const { return version_; }

  /// Encodes and delivers a packet from the client.
  void send(const mqtt::packet& packet) {
    byte_vector bytes;
    mqtt::encode(packet, version_, bytes);
    send_bytes(bytes);
  }
  void send_bytes(byte_view bytes) {
    if (!transport_closed_) machine_->on_bytes(bytes);
  }

  /// Runs queued wakes and posted tasks, and reports a requested close as a closed transport, the
  /// way the network layer does. Returns whether anything ran.
  bool drain() {
    bool ran = false;
    while (!io_.tasks.empty()) {
      auto task = std::move(io_.tasks.front());
      io_.tasks.pop_front();
      if (!transport_closed_) task();
      ran = true;
    }
    if (io_.wakes > 0) {
      io_.wakes = 0;
      if (!transport_closed_) machine_->on_wake();
      ran = true;
    }
    if (io_.close_requested && !transport_closed_) {
      transport_closed_ = true;
      machine_->on_transport_closed();
      ran = true;
    }
    return ran;
  }

  /// Drops the transport without any DISCONNECT (network failure).
  void drop() {
    if (transport_closed_) return;
    transport_closed_ = true;
    machine_->on_transport_closed();
  }
  bool transport_closed() const { return transport_closed_; }

  /// Decodes everything written since the last call.
  std::vector<mqtt::packet> received() {
    std::vector<mqtt::packet> packets;
    while (read_ < io_.wire.size()) {
      const byte_view rest = byte_view(io_.wire).subspan(read_);
      const auto frame = mqtt::peek_frame(rest, mqtt::max_remaining_length);
      if (!frame || !*frame || (*frame)->total_size() > rest.size()) {
        ADD_FAILURE() << "undecodable bytes from the broker";
        break;
      }
      const std::size_t size = (*frame)->total_size();
      auto decoded = mqtt::decode(rest.first(size), version_);
      if (!decoded) {
        ADD_FAILURE() << "broker sent a packet the codec refuses: "
                      << mqtt::to_string(decoded.error());
        break;
      }
      packets.push_back(std::move(*decoded));
      read_ += size;
    }
    return packets;
  }

  /// The packets received so far of one type.
  template <typename T>
  std::vector<T> received_of() {
    std::vector<T> out;
    for (auto& packet : received()) {
      if (auto* typed = std::get_if<T>(&packet)) out.push_back(std::move(*typed));
    }
    return out;
  }

 private:
  mqtt::protocol_version version_;
  fake_io io_;
  std::unique_ptr<connection> machine_;
  std::size_t read_ = 0;
  bool transport_closed_ = false;
};

/// A broker with a manual clock and helpers to connect clients.
class broker_test : public ::testing::Test {
 protected:
  void SetUp() override {}

  static broker_settings without_sys_statistics() {
    broker_settings quiet;
    quiet.sys_interval = std::chrono::seconds(0);
    return quiet;
  }

  broker& engine() {
    if (!engine_) {
      auto chain = std::make_shared<const auth_chain>(
          providers.empty()
              ? std::vector<std::shared_ptr<authenticator>>{std::make_shared<allow_anonymous>()}
              : providers);
      engine_ = std::make_unique<broker>(settings, chain, time, random);
    }
    return *engine_;
  }

  client& make_client(mqtt::protocol_version version = mqtt::protocol_version::v5) {
    clients_.push_back(std::make_unique<client>(engine(), listener, version));
    return *clients_.back();
  }

  static mqtt::connect connect_packet(std::string client_id,
                                      mqtt::protocol_version version = mqtt::protocol_version::v5,
                                      bool clean_start = true) {
    mqtt::connect packet;
    packet.protocol_version = version;
    packet.client_id = std::move(client_id);
    packet.clean_start = clean_start;
    packet.keep_alive = 60;
    return packet;
  }

  /// Connects a client and consumes its CONNACK (which must be a success).
  client& connected(std::string client_id,
                    mqtt::protocol_version version = mqtt::protocol_version::v5,
                    bool clean_start = true) {
    client& c = make_client(version);
    c.send(connect_packet(std::move(client_id), version, clean_start));
    settle();
    auto packets = c.received_of<mqtt::connack>();
    EXPECT_EQ(packets.size(), 1u);
    if (!packets.empty()) {
      EXPECT_EQ(packets[0].reason_code, mqtt::reason_code::success);
    }
    return c;
  }

  /// Runs every client's wakes, tasks and closes until nothing moves.
  void settle() {
    bool ran = true;
    while (ran) {
      ran = false;
      for (auto& c : clients_)
        ran = c->drain() || ran;
    }
  }

  /// Advances virtual time, fires due timers and the broker tick.
  void advance(std::chrono::milliseconds by) {
    time.advance(std::chrono::duration_cast<clock::duration>(by));
    for (auto& c : clients_) {
      if (!c->transport_closed() && c->io().armed && *c->io().armed <= time.now()) {
        c->io().armed.reset();
        c->machine().on_timer(time.now());
      }
    }
    engine().tick(time.now());
    settle();
  }

  static mqtt::subscribe subscribe_packet(std::uint16_t packet_id, std::string filter,
                                          std::uint8_t qos = 0) {
    mqtt::subscribe packet;
    packet.packet_id = packet_id;
    mqtt::subscription entry;
    entry.filter = std::move(filter);
    entry.options.maximum_qos = qos;
    packet.subscriptions.push_back(std::move(entry));
    return packet;
  }

  static mqtt::publish publish_packet(std::string topic, std::string payload, std::uint8_t qos = 0,
                                      std::uint16_t packet_id = 0, bool retain = false) {
    mqtt::publish packet;
    packet.topic = std::move(topic);
    packet.qos = qos;
    packet.packet_id = packet_id;
    packet.retain = retain;
    packet.payload = std::make_shared<const byte_vector>(to_bytes(payload));
    return packet;
  }

  /// Subscribes and checks the SUBACK.
  void subscribe(client& c, std::string filter, std::uint8_t qos = 0, std::uint16_t id = 1) {
    c.send(subscribe_packet(id, std::move(filter), qos));
    settle();
    const auto acks = c.received_of<mqtt::suback>();
    ASSERT_EQ(acks.size(), 1u);
    ASSERT_EQ(acks[0].reason_codes.size(), 1u);
    EXPECT_EQ(acks[0].reason_codes[0], static_cast<mqtt::reason_code>(qos));
  }

  static std::string payload_of(const mqtt::publish& packet) {
    return std::string(as_string_view(packet.payload_view()));
  }

  // $SYS statistics are retained messages that would change the figures other tests assert on;
  // sys_test turns them on.
  broker_settings settings = without_sys_statistics();
  listener_settings listener;
  std::vector<std::shared_ptr<authenticator>> providers;
  manual_clock time;
  deterministic_random random{42};

 private:
  std::unique_ptr<broker> engine_;
  std::vector<std::unique_ptr<client>> clients_;
};

}  // namespace acemq::broker::testing
