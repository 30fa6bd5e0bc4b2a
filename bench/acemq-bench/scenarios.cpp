// Load generation for acemq-bench. Each client lives on one worker thread (its io_context) for
// its whole life; the main thread only starts, waits and reads atomics. Counters that several
// threads read are relaxed atomics written by a single thread each.

#include "scenarios.hpp"

#include "histogram.hpp"

#include <acemq/client/client.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

namespace acemq::bench {

namespace {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
      .count();
}

double seconds_between(std::int64_t from_ns, std::int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

/// One io_context per thread; connections are spread round-robin.
class worker_pool {
 public:
  explicit worker_pool(unsigned threads) {
    threads = std::max(1U, threads);
    for (unsigned i = 0; i < threads; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    for (auto& context : contexts_) {
      threads_.emplace_back([io = context.get()] { io->run(); });
    }
  }
  ~worker_pool() { stop(); }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  std::size_t size() const noexcept { return contexts_.size(); }
  asio::io_context& at(std::size_t i) { return *contexts_[i % contexts_.size()]; }

  /// Stops the threads; afterwards the main thread may touch every client.
  void stop() {
    guards_.clear();
    for (auto& context : contexts_)
      context->stop();
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

/// Waits (with a timeout) for `count` events signalled from worker threads.
class countdown {
 public:
  explicit countdown(std::uint64_t count) : remaining_(count) {}
  void signal() {
    std::lock_guard lock(mutex_);
    if (remaining_ > 0 && --remaining_ == 0) done_.notify_all();
  }
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, timeout, [this] { return remaining_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::uint64_t remaining_;
};

/// The tool's own CPU time (user + system, all threads).
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string random_run_id() {
  std::random_device device;
  std::ostringstream out;
  out << std::hex << device() << device();
  return out.str();
}

bool is_loopback(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "localhost";
}

client::client_options options_for(const target& t, std::uint64_t index) {
  client::client_options o;
  o.host = t.host;
  o.port = t.port;
  o.tls = t.tls;
  o.server_name = t.server_name;
  if (t.source_addresses > 1 && is_loopback(t.host)) {
    o.bind_address = "127.0.0." + std::to_string(1 + index % t.source_addresses);
  }
  return o;
}

/// What one connection attempt sends: the CONNECT and, for the ACE exporter PoP, the hook that
/// computes the proof once TLS is up.
struct connect_plan {
  mqtt::connect packet;
  client::before_connect_hook hook;
};

/// The CONNECT for benchmark client `index`. With ACE it carries Authentication Method `ace` and
/// the token (RFC 9431 2.2.4); `e` then answers the broker's challenge (AUTH 0x18).
connect_plan make_connect(const target& t, std::string client_id, std::uint16_t keep_alive,
                          std::uint64_t index, client::events& e) {
  connect_plan plan;
  if (!t.ace.empty()) {
    const ace_client::ace_authentication& authentication = *t.ace[index % t.ace.size()];
    plan.packet = authentication.connect_packet();
    plan.hook = authentication.before_connect_hook();
    e.on_authentication = authentication.authentication_exchange();
  } else {
    plan.packet.username = t.username;
    if (t.password) plan.packet.password = to_bytes(*t.password);
  }
  plan.packet.protocol_version = t.version;
  plan.packet.client_id = std::move(client_id);
  plan.packet.clean_start = true;
  plan.packet.keep_alive = keep_alive;
  if (t.session_expiry != 0) {
    // Client identifiers are unique per run, so a clean start never resumes an older session;
    // MQTT 3.1.1 can only ask for a lasting session with clean session 0.
    if (t.version == mqtt::protocol_version::v5) {
      plan.packet.properties.session_expiry_interval = t.session_expiry;
    } else {
      plan.packet.clean_start = false;
    }
  }
  return plan;
}

/// Starts `c` with the plan (the client reports failures through on_closed).
void start(client::client& c, connect_plan plan) {
  (void)c.connect(std::move(plan.packet), std::move(plan.hook));
}

void add_cpu(report& r, double cpu_seconds, double wall_seconds) {
  r.add("tool_cpu_percent", wall_seconds > 0 ? 100.0 * cpu_seconds / wall_seconds : 0,
        "% of one core");
  r.add("tool_cpu_cores", static_cast<double>(std::thread::hardware_concurrency()), "cores");
}

/// Raises the open-files limit to its hard maximum; returns the soft limit now in force.
std::uint64_t raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

// ---- publish / subscribe ----

struct subscriber {
  asio::io_context* io = nullptr;
  std::unique_ptr<client::client> c;
  latency_histogram* histogram = nullptr;  // the worker thread's own
  std::string filter;
  bool measure_latency = false;
  std::int64_t warmup_until_ns = 0;
  std::atomic<bool> up{false};
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::int64_t> last_ns{0};
  std::optional<client::failure> failure;
};

struct publisher {
  asio::io_context* io = nullptr;
  std::unique_ptr<client::client> c;
  std::unique_ptr<asio::steady_timer> timer;
  mqtt::publish message;
  std::uint64_t limit = 0;
  std::int64_t interval_ns = 0;  // 0: as fast as the flow control allows
  std::int64_t next_due_ns = 0;
  bool measure_latency = false;
  std::size_t payload_size = 0;
  std::uint64_t sequence = 0;
  bool timer_pending = false;
  const std::atomic<bool>* stop = nullptr;
  std::atomic<bool> up{false};
  std::atomic<bool> finished{false};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> completed{0};
  /// Acknowledged with a failure reason (0x80 and above, e.g. 0x87 by an authorization check).
  std::atomic<std::uint64_t> denied{0};
  std::optional<client::failure> failure;
  std::optional<client::client_error> refused;
};

bool is_flow_control(client::client_error e) {
  return e == client::client_error::window_full || e == client::client_error::send_queue_full;
}

/// A payload carrying the intended send time (ns, steady clock) and a sequence number. Using the
/// intended time, not the actual one, keeps a stalled sender from hiding its own delay
/// (coordinated omission).
std::shared_ptr<const byte_vector> timestamped_payload(std::size_t size, std::int64_t ns,
                                                       std::uint64_t sequence) {
  auto payload = std::make_shared<byte_vector>(std::max<std::size_t>(size, 16), 0x2A);
  std::memcpy(payload->data(), &ns, sizeof ns);
  std::memcpy(payload->data() + 8, &sequence, sizeof sequence);
  return payload;
}

bool try_publish(publisher& p) {
  if (p.measure_latency) {
    p.message.payload = timestamped_payload(p.payload_size, p.next_due_ns, p.sequence++);
  }
  auto r = p.c->publish(p.message);
  if (!r) {
    if (!is_flow_control(r.error())) {
      p.refused = r.error();
      p.finished.store(true);
    }
    return false;  // flow control: on_ready resumes the pump
  }
  p.sent.store(p.sent.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return true;
}

void pump(publisher& p) {
  if (p.finished.load(std::memory_order_relaxed)) return;
  const auto done = [&p] {
    return p.stop->load(std::memory_order_relaxed) ||
           (p.limit != 0 && p.sent.load(std::memory_order_relaxed) >= p.limit);
  };
  if (done()) {
    p.finished.store(true);
    return;
  }
  if (p.interval_ns == 0) {
    // Bounded batches, then yield so the thread also reads acknowledgements and messages.
    for (int i = 0; i < 1024; ++i) {
      if (done()) {
        p.finished.store(true);
        return;
      }
      if (!try_publish(p)) return;
    }
    asio::post(*p.io, [&p] { pump(p); });
    return;
  }
  const std::int64_t now = now_ns();
  while (p.next_due_ns <= now) {
    if (done()) {
      p.finished.store(true);
      return;
    }
    if (!try_publish(p)) return;
    p.next_due_ns += p.interval_ns;
  }
  if (!p.timer_pending) {
    p.timer_pending = true;
    p.timer->expires_at(steady::time_point(std::chrono::nanoseconds(p.next_due_ns)));
    p.timer->async_wait([&p](const boost::system::error_code& error) {
      p.timer_pending = false;
      if (!error) pump(p);
    });
  }
}

std::string payload_label(std::size_t bytes) {
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + "KiB";
  return std::to_string(bytes) + "B";
}

}  // namespace

std::optional<std::uint64_t> resident_set_bytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      std::uint64_t kib = 0;
      if (fields >> kib) return kib * 1024;
    }
  }
  return std::nullopt;
}

report run_pubsub(const target& t, const pubsub_settings& s, const std::string& scenario) {
  report r;
  r.scenario = scenario;
  r.parameter("publishers", std::to_string(s.publishers));
  r.parameter("subscribers", std::to_string(s.subscribers));
  r.parameter("topics", s.shared_topic ? "shared" : "distinct");
  r.parameter("qos", std::to_string(s.qos));
  r.parameter("payload", payload_label(s.payload));
  r.parameter("threads", std::to_string(std::max(1U, t.threads)));
  r.parameter("transport", t.tls ? "tls" : "tcp");
  r.parameter("authentication", t.authentication);
  r.parameter("session_expiry_s", std::to_string(t.session_expiry));
  r.parameter("mqtt", t.version == mqtt::protocol_version::v5 ? "5.0" : "3.1.1");
  if (s.count != 0) {
    r.parameter("messages_per_publisher", std::to_string(s.count));
  } else {
    r.parameter("duration_s", std::to_string(static_cast<double>(s.duration.count()) / 1000.0));
  }
  if (s.rate > 0) r.parameter("offered_rate_msg_s", std::to_string(s.rate));
  if (s.subscribers == 0 || s.publishers == 0) {
    r.notes.push_back("error: needs at least one publisher and one subscriber");
    return r;
  }

  worker_pool pool(t.threads);
  std::vector<latency_histogram> histograms(pool.size());
  std::atomic<bool> stop{false};
  const std::string prefix = "acemq-bench/" + random_run_id();
  const auto topic_of = [&](unsigned index) {
    return s.shared_topic ? prefix + "/shared" : prefix + "/t" + std::to_string(index);
  };

  std::vector<std::unique_ptr<subscriber>> subscribers;
  std::vector<std::unique_ptr<publisher>> publishers;
  const std::uint64_t clients = std::uint64_t{s.subscribers} + s.publishers;
  countdown ready(clients);   // subscribed (subscribers) or connected (publishers), or failed
  countdown closed(clients);  // after the run

  // Subscribers first, so nothing published is missed.
  for (unsigned j = 0; j < s.subscribers; ++j) {
    auto sub = std::make_unique<subscriber>();
    sub->io = &pool.at(j);
    sub->histogram = &histograms[j % pool.size()];
    sub->filter = topic_of(j);
    sub->measure_latency = s.measure_latency;
    subscribers.push_back(std::move(sub));
  }
  for (unsigned i = 0; i < s.publishers; ++i) {
    auto pub = std::make_unique<publisher>();
    pub->io = &pool.at(s.subscribers + i);
    pub->timer = std::make_unique<asio::steady_timer>(*pub->io);
    pub->message.topic = topic_of(s.shared_topic ? 0 : i % s.subscribers);
    pub->message.qos = s.qos;
    pub->message.payload = std::make_shared<const byte_vector>(s.payload, 0x2A);
    pub->limit = s.count;
    pub->measure_latency = s.measure_latency;
    pub->payload_size = s.payload;
    pub->stop = &stop;
    if (s.rate > 0) {
      pub->interval_ns = static_cast<std::int64_t>(1e9 * s.publishers / s.rate);
      pub->interval_ns = std::max<std::int64_t>(pub->interval_ns, 1);
    }
    publishers.push_back(std::move(pub));
  }

  const std::string run = prefix.substr(prefix.find('/') + 1);
  for (unsigned j = 0; j < s.subscribers; ++j) {
    subscriber& sub = *subscribers[j];
    asio::post(*sub.io, [&, j] {
      client::events e;
      e.on_connected = [&sub, &s](const mqtt::connack&) {
        sub.up.store(true);
        auto subscribed = sub.c->subscribe(
            {{sub.filter, {s.qos, false, false, mqtt::retain_handling::do_not_send}}});
        if (!subscribed) {
          // Counted as a client that failed to start (on_closed signals `ready`).
          sub.up.store(false);
          sub.c->close();
        }
      };
      e.on_subscribed = [&ready](const mqtt::suback&) { ready.signal(); };
      e.on_message = [&sub](const mqtt::publish& m) {
        const std::int64_t now = now_ns();
        const byte_view payload = m.payload_view();
        sub.received.store(sub.received.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
        sub.bytes.store(sub.bytes.load(std::memory_order_relaxed) + payload.size(),
                        std::memory_order_relaxed);
        sub.last_ns.store(now, std::memory_order_relaxed);
        if (sub.measure_latency && payload.size() >= 16) {
          std::int64_t sent = 0;
          std::memcpy(&sent, payload.data(), sizeof sent);
          if (sent >= sub.warmup_until_ns && now >= sent) {
            sub.histogram->record(static_cast<std::uint64_t>(now - sent));
          }
        }
      };
      e.on_closed = [&sub, &ready, &closed](const client::failure& f) {
        if (!sub.up.load()) {
          sub.failure = f;
          ready.signal();
        } else if (!sub.failure) {
          sub.failure = f;
        }
        closed.signal();
      };
      client::client_options o = options_for(t, j);
      auto plan = make_connect(t, "bench-" + run + "-s" + std::to_string(j), 60, j, e);
      sub.c = std::make_unique<client::client>(*sub.io, o, std::move(e));
      start(*sub.c, std::move(plan));
    });
  }
  for (unsigned i = 0; i < s.publishers; ++i) {
    publisher& pub = *publishers[i];
    asio::post(*pub.io, [&, i] {
      client::events e;
      e.on_connected = [&pub, &ready](const mqtt::connack&) {
        pub.up.store(true);
        ready.signal();
      };
      e.on_ready = [&pub] { pump(pub); };
      e.on_publish_complete = [&pub](std::uint16_t, mqtt::reason_code reason) {
        pub.completed.store(pub.completed.load(std::memory_order_relaxed) + 1,
                            std::memory_order_relaxed);
        if (static_cast<std::uint8_t>(reason) >= 0x80) {
          pub.denied.store(pub.denied.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
        }
      };
      e.on_closed = [&pub, &ready, &closed](const client::failure& f) {
        if (!pub.up.load()) {
          pub.failure = f;
          ready.signal();
        } else if (!pub.failure) {
          pub.failure = f;
        }
        pub.finished.store(true);
        closed.signal();
      };
      client::client_options o = options_for(t, s.subscribers + i);
      o.machine.maximum_pending_output = 256U * 1024U;
      auto plan =
          make_connect(t, "bench-" + run + "-p" + std::to_string(i), 60, s.subscribers + i, e);
      pub.c = std::make_unique<client::client>(*pub.io, o, std::move(e));
      start(*pub.c, std::move(plan));
    });
  }
  if (!ready.wait_for(30s)) r.notes.push_back("not every client connected within 30 s");
  unsigned failed = 0;
  std::string first_failure;
  for (const auto& sub : subscribers) {
    if (!sub->up.load() || sub->failure) {
      ++failed;
      if (first_failure.empty() && sub->failure) first_failure = describe(*sub->failure);
    }
  }
  for (const auto& pub : publishers) {
    if (!pub->up.load() || pub->failure) {
      ++failed;
      if (first_failure.empty() && pub->failure) first_failure = describe(*pub->failure);
    }
  }
  if (failed != 0) {
    r.notes.push_back("error: " + std::to_string(failed) +
                      " clients failed to connect or subscribe" +
                      (first_failure.empty() ? "" : " (" + first_failure + ")"));
  }

  // ---- measurement ----
  const double cpu_start = process_cpu_seconds();
  const std::int64_t start = now_ns();
  const std::int64_t warmup_until = start + std::chrono::nanoseconds(s.warmup).count();
  for (auto& sub : subscribers)
    sub->warmup_until_ns = warmup_until;
  for (auto& pub : publishers) {
    publisher& p = *pub;
    if (!p.up.load()) continue;
    asio::post(*p.io, [&p, start] {
      p.next_due_ns = start;
      pump(p);
    });
  }
  const auto all_finished = [&] {
    return std::all_of(publishers.begin(), publishers.end(),
                       [](const auto& p) { return p->finished.load() || !p->up.load(); });
  };
  const std::int64_t deadline =
      start +
      std::chrono::nanoseconds(s.count != 0 ? std::chrono::milliseconds(600'000) : s.duration)
          .count();
  // A benchmark program, not a test: the main thread samples the counters while workers run.
  while (now_ns() < deadline && !(s.count != 0 && all_finished()))
    std::this_thread::sleep_for(5ms);
  stop.store(true);
  const std::int64_t publish_end = now_ns();

  std::uint64_t sent = 0;
  for (const auto& pub : publishers)
    sent += pub->sent.load();
  const std::uint64_t fanout = s.shared_topic ? s.subscribers : 1;
  const auto received_total = [&] {
    std::uint64_t total = 0;
    for (const auto& sub : subscribers)
      total += sub->received.load();
    return total;
  };
  // Drain: wait for what is still in flight, until everything expected arrived or nothing moved
  // for a second (QoS 0 messages may be dropped by the broker).
  std::uint64_t last_seen = received_total();
  std::int64_t last_progress = now_ns();
  const std::int64_t drain_deadline = now_ns() + 30'000'000'000;
  while (now_ns() < drain_deadline) {
    std::uint64_t publisher_sent = 0;
    for (const auto& pub : publishers)
      publisher_sent += pub->sent.load();
    sent = publisher_sent;
    const std::uint64_t seen = received_total();
    std::uint64_t acknowledged = 0;
    for (const auto& pub : publishers)
      acknowledged += pub->completed.load();
    if (seen >= sent * fanout && all_finished() && (s.qos == 0 || acknowledged >= sent)) break;
    if (seen != last_seen) {
      last_seen = seen;
      last_progress = now_ns();
    } else if (now_ns() - last_progress > 1'000'000'000) {
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  const double cpu_seconds = process_cpu_seconds() - cpu_start;

  std::int64_t last_message = start;
  std::uint64_t received = 0;
  std::uint64_t bytes = 0;
  for (const auto& sub : subscribers) {
    received += sub->received.load();
    bytes += sub->bytes.load();
    last_message = std::max(last_message, sub->last_ns.load());
  }
  std::uint64_t completed = 0;
  std::uint64_t denied = 0;
  for (const auto& pub : publishers) {
    completed += pub->completed.load();
    denied += pub->denied.load();
    if (pub->refused) {
      r.notes.push_back(std::string("a publish was refused: ") +
                        std::string(client::to_string(*pub->refused)));
    }
  }

  // ---- shutdown ----
  for (auto& pub : publishers) {
    publisher& p = *pub;
    asio::post(*p.io, [&p] {
      p.timer->cancel();
      if (p.c) (void)p.c->disconnect();
    });
  }
  for (auto& sub : subscribers) {
    subscriber& c = *sub;
    asio::post(*c.io, [&c] {
      if (c.c) (void)c.c->disconnect();
    });
  }
  (void)closed.wait_for(10s);
  pool.stop();
  for (const auto& pub : publishers) {
    if (pub->up.load() && pub->failure &&
        pub->failure->error != client::client_error::closed_by_client) {
      r.notes.push_back("a publisher lost its connection: " + describe(*pub->failure));
      break;
    }
  }
  for (const auto& sub : subscribers) {
    if (sub->up.load() && sub->failure &&
        sub->failure->error != client::client_error::closed_by_client) {
      r.notes.push_back("a subscriber lost its connection: " + describe(*sub->failure));
      break;
    }
  }

  const double elapsed = seconds_between(start, std::max(last_message, publish_end));
  const double publish_seconds = seconds_between(start, publish_end);
  const std::uint64_t expected = sent * fanout;
  r.add("published", static_cast<double>(sent), "msg");
  r.add("received", static_cast<double>(received), "msg");
  r.add("expected", static_cast<double>(expected), "msg");
  r.add("lost", static_cast<double>(expected > received ? expected - received : 0), "msg");
  if (s.qos > 0) {
    r.add("acknowledged", static_cast<double>(completed), "msg");
    r.add("refused", static_cast<double>(denied), "msg");
    if (denied != 0) {
      r.notes.push_back(std::to_string(denied) +
                        " publications acknowledged with a failure reason code (e.g. not "
                        "authorized)");
    }
  }
  r.add("elapsed", elapsed, "s");
  r.add("publish_rate", publish_seconds > 0 ? static_cast<double>(sent) / publish_seconds : 0,
        "msg/s");
  r.add("receive_rate", elapsed > 0 ? static_cast<double>(received) / elapsed : 0, "msg/s");
  r.add("receive_throughput", elapsed > 0 ? static_cast<double>(bytes) / elapsed / 1e6 : 0, "MB/s");
  if (s.measure_latency) {
    latency_histogram all;
    for (const auto& h : histograms)
      all.merge(h);
    const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
    r.add("latency_samples", static_cast<double>(all.count()), "msg");
    r.add("latency_min", us(all.min()), "us");
    r.add("latency_p50", us(all.value_at_percentile(50)), "us");
    r.add("latency_p90", us(all.value_at_percentile(90)), "us");
    r.add("latency_p99", us(all.value_at_percentile(99)), "us");
    r.add("latency_p99_9", us(all.value_at_percentile(99.9)), "us");
    r.add("latency_max", us(all.max()), "us");
  }
  add_cpu(r, cpu_seconds, elapsed);
  return r;
}

// ---- connection rate ----

namespace {

struct connect_slot {
  asio::io_context* io = nullptr;
  latency_histogram* histogram = nullptr;
  /// With resumption, each slot is one client reconnecting: its own ticket cache, so the ticket
  /// of its previous connection is the one it offers.
  std::shared_ptr<const client::tls_context> tls;
  std::unique_ptr<client::client> c;
  std::int64_t started_ns = 0;
  bool up = false;
};

struct connect_run {
  const target* t = nullptr;
  std::atomic<std::int64_t> to_start{0};
  std::atomic<std::uint64_t> next_index{0};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> resumed{0};
  std::atomic<std::uint64_t> failed{0};
  std::mutex failure_mutex;
  std::string first_failure;
  std::string run_id;
  std::unique_ptr<countdown> slots_done;
};

void start_connection(connect_run& run, connect_slot& slot) {
  if (run.to_start.fetch_sub(1) <= 0) {
    run.slots_done->signal();
    return;
  }
  const std::uint64_t index = run.next_index.fetch_add(1);
  slot.up = false;
  slot.started_ns = now_ns();
  client::events e;
  e.on_connected = [&run, &slot](const mqtt::connack&) {
    slot.up = true;
    slot.histogram->record(static_cast<std::uint64_t>(now_ns() - slot.started_ns));
    run.completed.fetch_add(1, std::memory_order_relaxed);
    if (slot.c->tls_session_resumed()) run.resumed.fetch_add(1, std::memory_order_relaxed);
    (void)slot.c->disconnect();
  };
  e.on_closed = [&run, &slot](const client::failure& f) {
    if (!slot.up) {
      run.failed.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(run.failure_mutex);
      if (run.first_failure.empty()) run.first_failure = describe(f);
    }
    // Not from inside the client's own callback: destroy it and start the next one afterwards.
    asio::post(*slot.io, [&run, &slot] {
      slot.c.reset();
      start_connection(run, slot);
    });
  };
  client::client_options o = options_for(*run.t, index);
  if (slot.tls) o.tls = slot.tls;
  o.machine.receive_buffer_size = 2048;
  auto plan =
      make_connect(*run.t, "bench-" + run.run_id + "-c" + std::to_string(index), 60, index, e);
  slot.c = std::make_unique<client::client>(*slot.io, o, std::move(e));
  start(*slot.c, std::move(plan));
}

}  // namespace

report run_connect_rate(const target& t, const connect_rate_settings& s) {
  report r;
  r.scenario = "connect-rate";
  r.parameter("connections", std::to_string(s.connections));
  r.parameter("concurrency", std::to_string(s.concurrency));
  r.parameter("transport", t.tls ? "tls" : "tcp");
  r.parameter("authentication", t.authentication);
  if (!t.ace.empty()) r.parameter("distinct_tokens", std::to_string(t.ace.size()));
  r.parameter("threads", std::to_string(std::max(1U, t.threads)));
  const unsigned concurrency = std::max(1U, s.concurrency);
  worker_pool pool(t.threads);
  std::vector<latency_histogram> histograms(pool.size());
  connect_run run;
  run.t = &t;
  run.to_start = static_cast<std::int64_t>(s.connections);
  run.run_id = random_run_id();
  run.slots_done = std::make_unique<countdown>(concurrency);
  std::vector<std::unique_ptr<connect_slot>> slots;
  for (unsigned i = 0; i < concurrency; ++i) {
    auto slot = std::make_unique<connect_slot>();
    slot->io = &pool.at(i);
    slot->histogram = &histograms[i % pool.size()];
    if (t.tls && t.tls->options().resume_sessions) {
      auto own = client::tls_context::create(t.tls->options());
      if (!own) {
        r.notes.push_back("error: " + own.error());
        return r;
      }
      slot->tls = *own;
    }
    slots.push_back(std::move(slot));
  }
  const double cpu_start = process_cpu_seconds();
  const std::int64_t start = now_ns();
  for (auto& slot : slots) {
    connect_slot& ref = *slot;
    asio::post(*ref.io, [&run, &ref] { start_connection(run, ref); });
  }
  if (!run.slots_done->wait_for(std::chrono::minutes(30))) {
    r.notes.push_back("stopped waiting after 30 minutes");
  }
  const std::int64_t end = now_ns();
  const double cpu_seconds = process_cpu_seconds() - cpu_start;
  pool.stop();
  const double elapsed = seconds_between(start, end);
  latency_histogram all;
  for (const auto& h : histograms)
    all.merge(h);
  r.add("connected", static_cast<double>(run.completed.load()), "conn");
  r.add("failed", static_cast<double>(run.failed.load()), "conn");
  if (t.tls) r.add("tls_resumed", static_cast<double>(run.resumed.load()), "conn");
  r.add("elapsed", elapsed, "s");
  r.add("connect_rate", elapsed > 0 ? static_cast<double>(run.completed.load()) / elapsed : 0,
        "conn/s");
  r.add("connect_p50", static_cast<double>(all.value_at_percentile(50)) / 1000.0, "us");
  r.add("connect_p99", static_cast<double>(all.value_at_percentile(99)) / 1000.0, "us");
  if (!run.first_failure.empty()) r.notes.push_back("first failure: " + run.first_failure);
  add_cpu(r, cpu_seconds, elapsed);
  return r;
}

// ---- memory per idle connection ----

namespace {

struct idle_connection {
  asio::io_context* io = nullptr;  // the thread the client lives on
  std::unique_ptr<client::client> c;
  bool up = false;
};

struct idle_run {
  const target* t = nullptr;
  const idle_memory_settings* s = nullptr;
  worker_pool* pool = nullptr;
  std::vector<idle_connection>* connections = nullptr;
  std::atomic<std::uint64_t> next_index{0};
  std::atomic<std::uint64_t> connected{0};
  std::atomic<std::uint64_t> failed{0};
  std::mutex failure_mutex;
  std::string first_failure;
  std::string run_id;
  std::unique_ptr<countdown> settled;  // one signal per connection: connected or failed
  std::unique_ptr<countdown> closed;
};

// Opens the next connection on `io`; each outcome opens another, so `concurrency` are in progress.
void open_next(idle_run& run, asio::io_context& io) {
  const std::uint64_t index = run.next_index.fetch_add(1);
  if (index >= run.connections->size()) return;
  idle_connection& slot = (*run.connections)[index];
  slot.io = &io;
  client::events e;
  e.on_connected = [&run, &slot, &io](const mqtt::connack&) {
    slot.up = true;
    run.connected.fetch_add(1);
    run.settled->signal();
    open_next(run, io);
  };
  e.on_closed = [&run, &slot, &io](const client::failure& f) {
    if (!slot.up) {
      run.failed.fetch_add(1);
      {
        std::lock_guard lock(run.failure_mutex);
        if (run.first_failure.empty()) run.first_failure = describe(f);
      }
      run.settled->signal();
      asio::post(io, [&run, &io] { open_next(run, io); });
    }
    run.closed->signal();
  };
  client::client_options o = options_for(*run.t, index);
  o.machine.receive_buffer_size = 1024;
  auto plan = make_connect(*run.t, "bench-" + run.run_id + "-i" + std::to_string(index),
                           run.s->keep_alive, index, e);
  slot.c = std::make_unique<client::client>(io, o, std::move(e));
  start(*slot.c, std::move(plan));
}

}  // namespace

report run_idle_memory(const target& t, const idle_memory_settings& s) {
  report r;
  r.scenario = "idle-memory";
  target spread = t;
  if (spread.source_addresses == 0 && is_loopback(t.host)) {
    // About 28,000 ephemeral ports per source address: stay well below.
    spread.source_addresses =
        static_cast<unsigned>(std::max<std::uint64_t>(1, s.connections / 20'000 + 1));
  }
  r.parameter("connections", std::to_string(s.connections));
  r.parameter("transport", t.tls ? "tls" : "tcp");
  r.parameter("keep_alive_s", std::to_string(s.keep_alive));
  r.parameter("source_addresses", std::to_string(std::max(1U, spread.source_addresses)));
  r.parameter("broker_pid", s.broker_pid != 0 ? std::to_string(s.broker_pid) : "not given");
  const std::uint64_t file_limit = raise_file_limit();
  if (s.connections + 64 > file_limit) {
    r.notes.push_back("error: the open-files limit (" + std::to_string(file_limit) +
                      ") is below the connections asked for");
    return r;
  }
  std::optional<std::uint64_t> before;
  if (s.broker_pid != 0) before = resident_set_bytes(s.broker_pid);
  if (s.broker_pid != 0 && !before) {
    r.notes.push_back("cannot read /proc/" + std::to_string(s.broker_pid) + "/status");
  }

  worker_pool pool(t.threads);
  std::vector<idle_connection> connections(s.connections);
  idle_run run;
  run.t = &spread;
  run.s = &s;
  run.pool = &pool;
  run.connections = &connections;
  run.run_id = random_run_id();
  run.settled = std::make_unique<countdown>(s.connections);
  run.closed = std::make_unique<countdown>(s.connections);
  const double cpu_start = process_cpu_seconds();
  const std::int64_t start = now_ns();
  const unsigned concurrency = std::max(1U, s.concurrency);
  for (unsigned i = 0; i < concurrency; ++i) {
    asio::io_context& io = pool.at(i);
    asio::post(io, [&run, &io] { open_next(run, io); });
  }
  if (!run.settled->wait_for(std::chrono::minutes(30))) r.notes.push_back("not all settled");
  const std::int64_t opened = now_ns();
  std::this_thread::sleep_for(s.settle);  // let the broker finish per-connection setup
  std::optional<std::uint64_t> after;
  if (s.broker_pid != 0) after = resident_set_bytes(s.broker_pid);
  const double cpu_seconds = process_cpu_seconds() - cpu_start;

  const std::uint64_t connected = run.connected.load();
  r.add("connected", static_cast<double>(connected), "conn");
  r.add("failed", static_cast<double>(run.failed.load()), "conn");
  r.add("open_time", seconds_between(start, opened), "s");
  if (before && after && connected != 0) {
    r.add("broker_rss_before", static_cast<double>(*before) / 1024.0, "KiB");
    r.add("broker_rss_after", static_cast<double>(*after) / 1024.0, "KiB");
    const double per_connection = (static_cast<double>(*after) - static_cast<double>(*before)) /
                                  static_cast<double>(connected);
    r.add("bytes_per_connection", per_connection, "B");
  }
  if (!run.first_failure.empty()) r.notes.push_back("first failure: " + run.first_failure);
  add_cpu(r, cpu_seconds, seconds_between(start, opened));

  for (idle_connection& connection : connections) {
    if (connection.io == nullptr) continue;
    asio::post(*connection.io, [&connection] {
      if (connection.c && connection.up) (void)connection.c->disconnect();
    });
  }
  (void)run.closed->wait_for(60s);
  pool.stop();
  return r;
}

}  // namespace acemq::bench
