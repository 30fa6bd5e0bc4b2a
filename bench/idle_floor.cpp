// The memory floor of an idle MQTT connection: a server that does nothing but accept, answer
// CONNECT with a success CONNACK (and PINGREQ with PINGRESP), and wait for the next byte. It keeps
// no session, no client identifier, no queue, no timer: what it costs per idle connection is what
// its I/O engine costs, the least any broker on that engine can spend. Two engines:
//
// - asio: Asio's own reactor, the arrangement acemq-broker's plain TCP transport had before
//   ADR 0004. One io_context per I/O thread, each connection a heap object (held by shared_ptr)
//   with a socket bound to the io_context's executor type, waiting for readability with
//   async_wait and reading synchronously into a per-thread buffer. Per connection: the object,
//   Asio's per-descriptor reactor state, and one pending wait operation.
// - epoll: an epoll set per thread, each connection a 16-byte record in the thread's table,
//   indexed by descriptor, as Mosquitto has. acemq-broker watches its plain TCP sockets the same
//   way since ADR 0004 (its set is waited on through the thread's io_context; the engine keeps
//   nothing per connection but the kernel's registration).
//
//   acemq-idle-floor [--engine asio|epoll] [--address A] [--port P] [--threads N]
//                    [--port-file F]
//
// bench/compare runs `acemq-bench idle-memory` against both engines in the same invocation as
// the brokers, so acemq's and Mosquitto's bytes per idle connection stand beside the floor of
// their engine. Not a broker: it accepts any bytes, answers only CONNECT and PINGREQ, and closes
// on DISCONNECT, end of stream, an error, or a reply the socket cannot take at once.

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "acemq/app/port_file.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using io_executor = asio::io_context::executor_type;
using tcp_socket = asio::basic_stream_socket<tcp, io_executor>;

/// MQTT control packet types this server answers (MQTT 5.0 2.1.2).
enum class packet_type : std::uint8_t {
  connect = 0x1,
  pingreq = 0xC,
  disconnect = 0xE,
};

/// Follows the packet boundaries of one connection's byte stream without keeping any packet: the
/// fixed header of each packet (type and Remaining Length, MQTT 5.0 2.1.4), then its body is
/// skipped, except the protocol level of CONNECT (byte 7 of its variable header, 3.1.2.2), which
/// decides the CONNACK's form. 12 bytes.
class packet_tracker {
 public:
  /// Consumes `bytes`, calling `send` with the answer to each complete CONNECT and PINGREQ
  /// among them, in order. Returns false when the connection should close: a DISCONNECT, a
  /// malformed Remaining Length, an answer `send` could not write.
  template <typename Send>
  bool consume(std::span<const std::uint8_t> bytes, Send&& send) {
    for (const std::uint8_t byte : bytes) {
      if (!in_body_) {
        if (header_bytes_ == 0) {
          type_ = static_cast<std::uint8_t>(byte >> 4);
          remaining_ = 0;
          ++header_bytes_;
          continue;
        }
        // Remaining Length: at most four bytes of seven bits each (MQTT 5.0 1.5.5).
        remaining_ |= static_cast<std::uint32_t>(byte & 0x7F) << (7 * (header_bytes_ - 1));
        ++header_bytes_;
        if ((byte & 0x80) != 0) {
          if (header_bytes_ > 4) return false;  // malformed Remaining Length
          continue;
        }
        in_body_ = true;
        body_offset_ = 0;
        if (remaining_ == 0 && !finish_packet(send)) return false;
        continue;
      }
      // 2-byte length of "MQTT", the name, then the protocol level.
      if (type_ == static_cast<std::uint8_t>(packet_type::connect) && body_offset_ == 6) {
        level_ = byte;
      }
      ++body_offset_;
      if (body_offset_ == remaining_ && !finish_packet(send)) return false;
    }
    return true;
  }

 private:
  template <typename Send>
  bool finish_packet(Send&& send) {
    in_body_ = false;
    header_bytes_ = 0;
    switch (static_cast<packet_type>(type_)) {
      case packet_type::connect: {
        // MQTT 5.0 3.2: flags, Connect Reason Code 0x00, empty properties; 3.1.1: flags, return
        // code.
        static constexpr std::array<std::uint8_t, 5> connack5{0x20, 0x03, 0x00, 0x00, 0x00};
        static constexpr std::array<std::uint8_t, 4> connack311{0x20, 0x02, 0x00, 0x00};
        return level_ == 5 ? send(std::span<const std::uint8_t>(connack5))
                           : send(std::span<const std::uint8_t>(connack311));
      }
      case packet_type::pingreq: {
        static constexpr std::array<std::uint8_t, 2> pingresp{0xD0, 0x00};
        return send(std::span<const std::uint8_t>(pingresp));
      }
      case packet_type::disconnect:
        return false;
    }
    return true;
  }

  std::uint32_t remaining_ = 0;
  std::uint32_t body_offset_ = 0;
  std::uint8_t header_bytes_ = 0;
  std::uint8_t type_ = 0;
  std::uint8_t level_ = 0;
  bool in_body_ = false;
};

/// Read buffer shared by the connections of one thread, as acemq-broker's workers share theirs.
thread_local std::array<std::uint8_t, 16 * 1024> read_buffer;

/// Writes a reply at once on a non-blocking descriptor; a reply it cannot take whole closes the
/// connection (a fresh socket's send buffer always takes a few bytes).
bool send_now(int fd, std::span<const std::uint8_t> bytes) {
  const ssize_t written = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  return written == static_cast<ssize_t>(bytes.size());
}

/// Prints the port, and writes "tcp <port>" to the port file, if one was asked for.
void announce(const std::string& path, unsigned short port) {
  fmt::print("acemq-idle-floor listening on port {}\n", port);
  std::fflush(stdout);
  if (!path.empty() && !acemq::app::write_port_file(path, {{"tcp", {}, {}, port}})) {
    fmt::print(stderr, "acemq-idle-floor: cannot write {}\n", path);
  }
}

// ---- asio ----

class asio_connection : public std::enable_shared_from_this<asio_connection> {
 public:
  explicit asio_connection(tcp_socket socket) : socket_(std::move(socket)) {}

  void start() {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (!ec) wait();
  }

 private:
  void wait() {
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         if (!ec) self->on_readable();
                       });
  }

  void on_readable() {
    boost::system::error_code ec;
    const std::size_t size = socket_.read_some(asio::buffer(read_buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      wait();
      return;
    }
    if (ec || size == 0) return;  // the last reference goes with this handler: closed
    const int fd = socket_.native_handle();
    if (tracker_.consume(
            std::span<const std::uint8_t>(read_buffer.data(), size),
            [fd](std::span<const std::uint8_t> bytes) { return send_now(fd, bytes); })) {
      wait();
    }
  }

  tcp_socket socket_;
  packet_tracker tracker_;
};

int run_asio(const tcp::endpoint& where, unsigned threads, const std::string& port_file) {
  std::vector<std::unique_ptr<asio::io_context>> workers;
  for (unsigned i = 0; i < threads; ++i)
    workers.push_back(std::make_unique<asio::io_context>(1));
  asio::io_context& home = *workers.front();
  tcp::acceptor acceptor(home, where);
  std::size_t next_worker = 0;
  std::function<void()> accept_next = [&] {
    asio::io_context& worker = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    acceptor.async_accept(worker.get_executor(),
                          [&](const boost::system::error_code& ec, tcp_socket socket) {
                            if (!ec) std::make_shared<asio_connection>(std::move(socket))->start();
                            if (ec != asio::error::operation_aborted) accept_next();
                          });
  };
  accept_next();
  asio::signal_set signals(home, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    for (auto& worker : workers)
      worker->stop();
  });
  announce(port_file, acceptor.local_endpoint().port());
  std::vector<std::thread> running;
  for (std::size_t i = 1; i < workers.size(); ++i) {
    running.emplace_back([&worker = *workers[i]] {
      auto guard = asio::make_work_guard(worker);
      worker.run();
    });
  }
  home.run();
  for (auto& worker : workers)
    worker->stop();
  for (auto& thread : running)
    thread.join();
  return 0;
}

// ---- epoll ----

/// The epoll event data of the eventfd that stops the workers (connections carry their
/// descriptor, never this value).
constexpr std::uint64_t stop_mark = ~std::uint64_t{0};

/// One I/O thread of the epoll engine: its epoll set, and where the byte stream of each of its
/// connections stands, in a table indexed by descriptor (16 bytes a connection, as an event
/// loop in C keeps a record per client). Runs until the stop eventfd is readable; closes the
/// connections still open when it stops.
void epoll_worker(int epoll_fd) {
  struct slot {
    packet_tracker tracker;
    bool open = false;
  };
  std::vector<slot> slots;
  std::array<epoll_event, 256> events{};
  const auto close_slot = [&](int fd) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    slots[static_cast<std::size_t>(fd)].open = false;
  };
  for (bool running = true; running;) {
    const int ready = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (const epoll_event& event : std::span(events.data(), static_cast<std::size_t>(ready))) {
      if (event.data.u64 == stop_mark) {
        running = false;
        break;
      }
      const int fd = static_cast<int>(event.data.u64);
      const auto index = static_cast<std::size_t>(fd);
      if (index >= slots.size()) slots.resize(index + 1);
      if (!slots[index].open) slots[index] = slot{{}, true};  // a new connection on this fd
      const ssize_t size = ::recv(fd, read_buffer.data(), read_buffer.size(), 0);
      if (size < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (size <= 0 ||
          !slots[index].tracker.consume(
              std::span<const std::uint8_t>(read_buffer.data(), static_cast<std::size_t>(size)),
              [fd](std::span<const std::uint8_t> bytes) { return send_now(fd, bytes); })) {
        close_slot(fd);
      }
    }
  }
  for (std::size_t fd = 0; fd < slots.size(); ++fd) {
    if (slots[fd].open) close_slot(static_cast<int>(fd));
  }
}

int run_epoll(const tcp::endpoint& where, unsigned threads, const std::string& port_file) {
  // The listening socket from Asio (address parsing, SO_REUSEADDR), then plain descriptors.
  asio::io_context setup;
  tcp::acceptor acceptor(setup, where);
  const int listen_fd = acceptor.native_handle();
  const int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    std::perror("acemq-idle-floor: eventfd");
    return 1;
  }
  std::vector<int> sets;
  for (unsigned i = 0; i < threads; ++i) {
    const int set = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event stop{};
    stop.events = EPOLLIN;
    stop.data.u64 = stop_mark;
    if (set < 0 || ::epoll_ctl(set, EPOLL_CTL_ADD, stop_fd, &stop) != 0) {
      std::perror("acemq-idle-floor: epoll");
      return 1;
    }
    sets.push_back(set);
  }
  // SIGINT and SIGTERM end the server: blocked before any thread starts (threads inherit the
  // mask), taken by sigwait below.
  sigset_t stopping;
  sigemptyset(&stopping);
  sigaddset(&stopping, SIGINT);
  sigaddset(&stopping, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopping, nullptr);
  std::vector<std::thread> running;
  for (const int set : sets)
    running.emplace_back(epoll_worker, set);
  std::atomic<bool> stopped{false};
  std::thread accepting([&] {
    std::size_t next = 0;
    while (!stopped.load()) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
        return;  // the listening socket was shut down
      }
      epoll_event event{};
      event.events = EPOLLIN | EPOLLRDHUP;
      event.data.u64 = static_cast<std::uint64_t>(fd);
      if (::epoll_ctl(sets[next], EPOLL_CTL_ADD, fd, &event) != 0) ::close(fd);
      next = (next + 1) % sets.size();
    }
  });
  announce(port_file, acceptor.local_endpoint().port());
  int signal_number = 0;
  sigwait(&stopping, &signal_number);
  stopped.store(true);
  ::shutdown(listen_fd, SHUT_RDWR);
  accepting.join();
  const std::uint64_t one = 1;
  if (::write(stop_fd, &one, sizeof one) != sizeof one) std::perror("acemq-idle-floor: eventfd");
  for (auto& thread : running)
    thread.join();
  for (const int set : sets)
    ::close(set);
  ::close(stop_fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"acemq-idle-floor: the memory floor of an idle MQTT connection on an I/O engine"};
  std::string engine = "asio";
  std::string address = "127.0.0.1";
  unsigned short port = 0;
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  std::string port_file;
  app.add_option("--engine", engine, "asio (acemq-broker's) or epoll (an event loop of its own)")
      ->check(CLI::IsMember({"asio", "epoll"}))
      ->capture_default_str();
  app.add_option("--address", address, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "port to listen on (0: any free port)")->capture_default_str();
  app.add_option("--threads", threads, "I/O threads")
      ->check(CLI::Range(1U, 256U))
      ->capture_default_str();
  app.add_option("--port-file", port_file, "write \"tcp <port>\" here once listening");
  CLI11_PARSE(app, argc, argv);

  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) {
    fmt::print(stderr, "acemq-idle-floor: invalid address {}: {}\n", address, ec.message());
    return 2;
  }
  try {
    const tcp::endpoint where(ip, port);
    return engine == "asio" ? run_asio(where, threads, port_file)
                            : run_epoll(where, threads, port_file);
  } catch (const boost::system::system_error& error) {
    fmt::print(stderr, "acemq-idle-floor: {}\n", error.what());
    return 1;
  }
}
