// Several connections, each driven from its own thread as the network layer does, on one broker:
// routing, wakes across threads, acknowledgements and take-over under concurrency. Threads wait
// on events (their own wake flags and received packets), bounded by a deadline so a bug fails the
// test instead of hanging it.

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "harness.hpp"

namespace {
// spdlog creates its registry on first use. The program does that on its main thread before any
// worker starts (acemq-broker sets the log level first); these tests must do the same, or two
// workers race to construct it inside the uninstrumented library and ThreadSanitizer reports it.
const bool logger_ready = [] {
  spdlog::default_logger_raw();
  return true;
}();
}  // namespace

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

/// A transport for a connection living on one thread; wake() and post() come from any thread.
class threaded_io final : public connection_io {
 public:
  void send(outgoing message) override {
    wire.insert(wire.end(), message.bytes.begin(), message.bytes.end());
    if (message.payload) wire.insert(wire.end(), message.payload->begin(), message.payload->end());
  }
  void close() override { close_requested = true; }
  void arm_timer(clock::time_point) override {}
  const tls_facts* tls() const override { return nullptr; }
  acemq::broker::address_text remote_address() const override {
    return acemq::broker::address_text("192.0.2.3:3");
  }
  void wake() override { woken.store(true); }
  void post(std::function<void()> task) override {
    std::lock_guard lock(mutex);
    tasks.push_back(std::move(task));
  }

  /// Runs what other threads asked for; returns whether anything ran.
  bool run_pending(connection& machine) {
    bool ran = false;
    std::deque<std::function<void()>> batch;
    {
      std::lock_guard lock(mutex);
      batch.swap(tasks);
    }
    for (auto& task : batch) {
      task();
      ran = true;
    }
    if (woken.exchange(false)) {
      machine.on_wake();
      ran = true;
    }
    return ran;
  }

  /// Packets written since the last call.
  std::vector<mqtt::packet> take_packets() {
    std::vector<mqtt::packet> packets;
    while (read < wire.size()) {
      const byte_view rest = byte_view(wire).subspan(read);
      const auto frame = mqtt::peek_frame(rest, mqtt::max_remaining_length);
      if (!frame || !*frame || (*frame)->total_size() > rest.size()) break;
      auto decoded = mqtt::decode(rest.first((*frame)->total_size()), protocol_version::v5);
      if (!decoded) break;
      packets.push_back(std::move(*decoded));
      read += (*frame)->total_size();
    }
    return packets;
  }

  byte_vector wire;
  std::size_t read = 0;
  bool close_requested = false;
  std::atomic<bool> woken{false};
  std::mutex mutex;
  std::deque<std::function<void()>> tasks;
};

void feed(connection& machine, const mqtt::packet& packet) {
  byte_vector bytes;
  mqtt::encode(packet, protocol_version::v5, bytes);
  machine.on_bytes(bytes);
}

TEST(threaded, every_subscriber_gets_every_message_exactly_once) {
  constexpr int threads = 4;
  constexpr int per_thread = 300;
  manual_clock time;
  deterministic_random random(3);
  broker_settings settings;
  settings.max_queued_messages = 100'000;
  broker engine(settings,
                std::make_shared<const auth_chain>(std::vector<std::shared_ptr<authenticator>>{
                    std::make_shared<allow_anonymous>()}),
                time, random);
  listener_settings listener;
  std::latch subscribed(threads);
  std::atomic<int> failures{0};
  std::vector<int> received(threads, 0);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      threaded_io io;
      connection machine(engine, io, listener);
      mqtt::connect hello;
      hello.client_id = "worker-" + std::to_string(t);
      feed(machine, hello);
      mqtt::subscribe everything;
      everything.packet_id = 1;
      everything.subscriptions.push_back({"load/#", {1}});
      feed(machine, everything);
      subscribed.count_down();
      subscribed.wait();
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      int sent = 0;
      while (received[t] < threads * per_thread) {
        if (sent < per_thread) {
          mqtt::publish message;
          message.topic = "load/" + std::to_string(t);
          message.qos = 1;
          message.packet_id = static_cast<std::uint16_t>(sent + 1);
          message.payload = std::make_shared<const byte_vector>(to_bytes("m"));
          feed(machine, message);
          ++sent;
        }
        io.run_pending(machine);
        for (auto& packet : io.take_packets()) {
          if (auto* delivery = std::get_if<mqtt::publish>(&packet)) {
            ++received[t];
            feed(machine, mqtt::puback{delivery->packet_id, reason_code::success, {}});
          }
        }
        if (std::chrono::steady_clock::now() > deadline || io.close_requested) {
          failures.fetch_add(1);
          break;
        }
        if (sent == per_thread) std::this_thread::yield();
      }
      machine.on_transport_closed();
    });
  }
  for (auto& worker : workers)
    worker.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < threads; ++t)
    EXPECT_EQ(received[t], threads * per_thread);
  EXPECT_EQ(engine.counters().messages_dropped.load(), 0u);
}

TEST(threaded, take_over_from_another_thread) {
  manual_clock time;
  deterministic_random random(4);
  broker engine(broker_settings{},
                std::make_shared<const auth_chain>(std::vector<std::shared_ptr<authenticator>>{
                    std::make_shared<allow_anonymous>()}),
                time, random);
  listener_settings listener;
  std::latch first_connected(1);
  std::atomic<bool> second_done{false};
  std::vector<reason_code> first_saw;
  std::thread first([&] {
    threaded_io io;
    connection machine(engine, io, listener);
    mqtt::connect hello;
    hello.client_id = "twin";
    feed(machine, hello);
    first_connected.count_down();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!io.close_requested && std::chrono::steady_clock::now() < deadline) {
      if (!io.run_pending(machine)) std::this_thread::yield();
    }
    for (auto& packet : io.take_packets()) {
      if (auto* notice = std::get_if<mqtt::disconnect>(&packet)) {
        first_saw.push_back(notice->reason_code);
      }
    }
    machine.on_transport_closed();
  });
  std::thread second([&] {
    first_connected.wait();
    threaded_io io;
    connection machine(engine, io, listener);
    mqtt::connect hello;
    hello.client_id = "twin";
    feed(machine, hello);
    second_done.store(!io.close_requested);
    machine.on_transport_closed();
  });
  first.join();
  second.join();
  EXPECT_TRUE(second_done.load());
  ASSERT_EQ(first_saw.size(), 1u);
  EXPECT_EQ(first_saw[0], reason_code::session_taken_over);
}

}  // namespace
}  // namespace acemq::broker::testing
