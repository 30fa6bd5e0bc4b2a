// Feeds arbitrary bytes into a broker connection (after an optional valid CONNECT, so the fuzzer
// reaches every state), split at input-chosen points, with a second connected client subscribed
// to everything so deliveries, acknowledgements and timers run too. The machine must never crash,
// never write a packet the codec cannot decode, and never buffer more than the maximum packet size.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/broker/broker.hpp"
#include "acemq/broker/connection.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/mqtt/decode.hpp"
#include "acemq/mqtt/encode.hpp"
#include "acemq/mqtt/frame.hpp"

namespace {

using namespace acemq;

class recording_io final : public broker::connection_io {
 public:
  /// The connection whose negotiated version the written packets must decode with.
  const broker::connection* owner = nullptr;
  void send(broker::outgoing message) override {
    wire_.insert(wire_.end(), message.bytes.begin(), message.bytes.end());
    if (message.payload)
      wire_.insert(wire_.end(), message.payload->begin(), message.payload->end());
    check_wire();
  }
  void close() override { close_requested = true; }
  void arm_timer(clock::time_point deadline) override { armed = deadline; }
  const broker::tls_facts* tls() const override { return nullptr; }
  broker::address_text remote_address() const override {
    return broker::address_text("192.0.2.7:1");
  }
  void wake() override { ++wakes; }
  void post(std::function<void()> task) override { tasks.push_back(std::move(task)); }

  bool close_requested = false;
  int wakes = 0;
  std::optional<clock::time_point> armed;
  std::deque<std::function<void()>> tasks;

 private:
  // Everything the broker writes must be well-formed for the negotiated version.
  void check_wire() {
    while (true) {
      const auto frame = mqtt::peek_frame(wire_, mqtt::max_remaining_length);
      if (!frame) std::abort();
      if (!*frame || (*frame)->total_size() > wire_.size()) return;
      const std::size_t size = (*frame)->total_size();
      const auto version = owner ? owner->version() : mqtt::protocol_version::v5;
      if (!mqtt::decode(byte_view(wire_).first(size), version)) std::abort();
      wire_.erase(wire_.begin(), wire_.begin() + static_cast<std::ptrdiff_t>(size));
    }
  }
  byte_vector wire_;
};

struct harness {
  harness()
      : engine(make_settings(),
               std::make_shared<const broker::auth_chain>(
                   std::vector<std::shared_ptr<broker::authenticator>>{
                       std::make_shared<broker::allow_anonymous>()}),
               time, random),
        watcher(engine, watcher_io, listener),
        subject(engine, subject_io, listener) {
    watcher_io.owner = &watcher;
    subject_io.owner = &subject;
    mqtt::connect hello;
    hello.client_id = "watcher";
    byte_vector bytes;
    mqtt::encode(hello, mqtt::protocol_version::v5, bytes);
    mqtt::subscribe everything;
    everything.packet_id = 1;
    everything.subscriptions.push_back(
        {"#", {1, false, false, mqtt::retain_handling::send_on_subscribe}});
    mqtt::encode(everything, mqtt::protocol_version::v5, bytes);
    watcher.on_bytes(bytes);
  }

  static broker::broker_settings make_settings() {
    broker::broker_settings settings;
    settings.maximum_packet_size = 4096;
    settings.receive_maximum = 4;
    settings.max_queued_messages = 16;
    settings.topic_alias_maximum = 4;
    return settings;
  }

  void settle() {
    for (int round = 0; round < 8; ++round) {
      for (auto* io : {&watcher_io, &subject_io}) {
        while (!io->tasks.empty()) {
          auto task = std::move(io->tasks.front());
          io->tasks.pop_front();
          task();
        }
      }
      if (watcher_io.wakes > 0 && !watcher_io.close_requested) {
        watcher_io.wakes = 0;
        watcher.on_wake();
      }
      if (subject_io.wakes > 0 && !subject_io.close_requested) {
        subject_io.wakes = 0;
        subject.on_wake();
      }
    }
  }

  manual_clock time;
  deterministic_random random{7};
  broker::listener_settings listener;
  broker::broker engine;
  recording_io watcher_io;
  broker::connection watcher;
  recording_io subject_io;
  broker::connection subject;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t control = data[0];
  const std::uint8_t split = static_cast<std::uint8_t>(data[1] | 1);
  const auto version = (control & 1) ? mqtt::protocol_version::v5 : mqtt::protocol_version::v311;
  harness h;
  if (control & 2) {
    mqtt::connect hello;
    hello.protocol_version = version;
    hello.client_id = "subject";
    hello.keep_alive = 10;
    byte_vector bytes;
    mqtt::encode(hello, version, bytes);
    h.subject.on_bytes(bytes);
  }
  byte_view rest(data + 2, size - 2);
  while (!rest.empty() && !h.subject.closed()) {
    const std::size_t take = std::min<std::size_t>(split, rest.size());
    h.subject.on_bytes(rest.first(take));
    rest = rest.subspan(take);
    h.settle();
    if (control & 4) {
      h.time.advance(std::chrono::seconds(4));
      if (h.subject_io.armed && *h.subject_io.armed <= h.time.now()) {
        h.subject.on_timer(h.time.now());
      }
      h.engine.tick(h.time.now());
    }
  }
  h.settle();
  h.subject.on_transport_closed();
  h.settle();
  return 0;
}
