#pragma once
// Test support for the network layer's failure tests: the real protocol machine wrapped so that
// every call into it is watched (the end of the transport must reach it between its calls,
// exactly once, and nothing may follow it), and the packets of the exchange those tests run.
// Used by fault_matrix_test.cpp (every transport through the io_faults seam) and
// tls_write_failure_test.cpp (TLS through a filter BIO).

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acemq/broker/connection.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/net/server.hpp"

namespace acemq::net::testing {

/// What went wrong in one run, from the machine's point of view.
struct order_report {
  std::mutex mutex;
  std::vector<std::string> violations;
  int handlers = 0;
  int closes = 0;

  void add(std::string what) {
    std::lock_guard lock(mutex);
    violations.push_back(std::move(what));
  }
};

/// The machine's calls on one connection: the ones the driver makes and the tasks the machine
/// posts to itself (asynchronous authentication completions).
struct call_depth {
  explicit call_depth(order_report& to) : report(to) {}

  order_report& report;
  int depth = 0;
  int closes = 0;
  std::string inside;

  void enter(const char* call) {
    if (closes > 0) report.add(std::string(call) + " after on_transport_closed");
    if (depth == 0) inside = call;
    ++depth;
  }
  void leave() { --depth; }
};

/// The driver's connection_io as the machine sees it, with its posted tasks tracked.
class watched_io final : public broker::connection_io {
 public:
  watched_io(broker::connection_io& inner, call_depth& calls) : inner_(inner), calls_(calls) {}

  void send(broker::outgoing message) override { inner_.send(std::move(message)); }
  void close() override { inner_.close(); }
  void arm_timer(clock::time_point deadline) override { inner_.arm_timer(deadline); }
  const broker::tls_facts* tls() const override { return inner_.tls(); }
  broker::address_text remote_address() const override { return inner_.remote_address(); }
  void wake() override { inner_.wake(); }
  void post(std::function<void()> task) override {
    inner_.post([&calls = calls_, task = std::move(task)] {
      calls.enter("a posted task");
      task();
      calls.leave();
    });
  }
  bool congested() override { return inner_.congested(); }
  void pause_reading() override { inner_.pause_reading(); }
  void resume_reading() override { inner_.resume_reading(); }

 private:
  broker::connection_io& inner_;
  call_depth& calls_;
};

/// The real machine, watched: the transport's end must reach it between its calls, exactly
/// once, and nothing may follow it.
class ordered_handler final : public connection_handler {
 public:
  ordered_handler(broker::connection_io& io, const listener_config& listener,
                  const handler_factory& production, order_report& report)
      : calls_(report), io_(io, calls_), inner_(production(io_, listener)) {
    std::lock_guard lock(report.mutex);
    ++report.handlers;
  }
  ~ordered_handler() override {
    if (calls_.closes != 1) {
      calls_.report.add("on_transport_closed called " + std::to_string(calls_.closes) + " times");
    }
    std::lock_guard lock(calls_.report.mutex);
    calls_.report.closes += calls_.closes;
  }
  ordered_handler(const ordered_handler&) = delete;
  ordered_handler& operator=(const ordered_handler&) = delete;

  void on_bytes(byte_view data) override {
    calls_.enter("on_bytes");
    inner_->on_bytes(data);
    calls_.leave();
  }
  void on_timer(clock::time_point now) override {
    calls_.enter("on_timer");
    inner_->on_timer(now);
    calls_.leave();
  }
  void on_wake() override {
    calls_.enter("on_wake");
    inner_->on_wake();
    calls_.leave();
  }
  void shutdown() override {
    calls_.enter("shutdown");
    inner_->shutdown();
    calls_.leave();
  }
  void on_transport_closed() override {
    if (calls_.depth > 0) calls_.report.add("on_transport_closed inside " + calls_.inside);
    if (calls_.closes > 0) calls_.report.add("on_transport_closed twice");
    calls_.enter("on_transport_closed");
    ++calls_.closes;
    inner_->on_transport_closed();
    calls_.leave();
  }

 private:
  call_depth calls_;
  watched_io io_;
  std::unique_ptr<connection_handler> inner_;  // refers to io_: declared after it
};

byte_vector frame(std::uint8_t first, const byte_vector& body) {
  byte_vector out{first};
  std::size_t length = body.size();
  do {
    std::uint8_t digit = length % 128;
    length /= 128;
    if (length > 0) digit |= 0x80;
    out.push_back(digit);
  } while (length > 0);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

void put_text(byte_vector& out, std::string_view text) {
  out.push_back(static_cast<std::uint8_t>(text.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(text.size() & 0xFF));
  out.insert(out.end(), text.begin(), text.end());
}

// MQTT 5.0 3.1: CONNECT, Clean Start, keep-alive 60, no properties, client "n".
byte_vector connect_packet() {
  byte_vector body;
  put_text(body, "MQTT");
  body.insert(body.end(), {5, 0x02, 0, 60, 0});
  put_text(body, "n");
  return frame(0x10, body);
}

// MQTT 5.0 3.8: SUBSCRIBE packet id 1, "t/#" at QoS 1.
byte_vector subscribe_packet() {
  byte_vector body{0, 1, 0};
  put_text(body, "t/#");
  body.push_back(1);
  return frame(0x82, body);
}

// MQTT 5.0 3.3: PUBLISH QoS 1 packet id 2 on "t/x", retained, so the subscriber gets it back.
byte_vector publish_packet() {
  byte_vector body;
  put_text(body, "t/x");
  body.insert(body.end(), {0, 2, 0, 'h', 'i'});
  return frame(0x33, body);
}

}  // namespace acemq::net::testing
