// Plain TCP: the connection driver on a non-blocking descriptor and the worker's epoll
// readiness set that calls it.

#include <spdlog/spdlog.h>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "acemq/net/connection_base.hpp"

namespace acemq::net::detail {

/// Plain TCP on a non-blocking descriptor watched by the worker's readiness set (see
/// readiness_set). Reads go into the worker's buffer; a read that fills the buffer may have left
/// bytes behind (the socket is edge-triggered), so the next read is posted instead of awaited,
/// after the handlers already queued. Writes are scatter/gather straight from the queued buffers
/// (one sendmsg for many queued packets and their shared payloads); what the socket does not take
/// at once is sent when it reports room, gathered again from the queue.
class tcp_connection final : public connection_base {
 public:
  tcp_connection(worker& home, const listener_config& listener, tcp_socket socket,
                 const tcp::endpoint& remote)
      : connection_base(home, listener, remote) {
    // The descriptor leaves Asio's reactor: the readiness set watches it from now on.
    boost::system::error_code ec;
    fd_ = socket.release(ec);
    if (ec) fd_ = -1;  // the socket closes itself
  }

  ~tcp_connection() override {
    // Reached registered only when the worker goes away (see worker::~worker).
    if (fd_ >= 0) ::close(fd_);
  }

  tcp_connection(const tcp_connection&) = delete;
  tcp_connection& operator=(const tcp_connection&) = delete;

  void start() override {
    if (fd_ < 0) {
      finish();
      return;
    }
    if (!home_.readiness.add(fd_, *this)) {
      spdlog::warn("{}: cannot watch the socket: {}", remote_address().view(),
                   std::error_code(errno, std::generic_category()).message());
      finish();
      return;
    }
    self_ = shared_from_this();
    if (!attach()) return;
    // Bytes may have arrived before the socket was registered.
    readable_ = true;
    read_more();
  }

  const broker::tls_facts* tls() const override { return nullptr; }

  std::shared_ptr<connection_base> release_self() override { return std::move(self_); }

  /// Called by the worker's readiness set with the epoll events of this connection's socket.
  void on_ready(std::uint32_t events) {
    if (finished_) return;
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
      readable_ = true;
      if (read_wanted_ && !read_posted_) read_now();
    }
    if (finished_) return;
    if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0 && write_blocked_) send_batch();
  }

 private:
  void read_more() override {
    read_wanted_ = true;
    if (!readable_ || read_posted_) return;  // the readiness set calls on_ready() when it is
    read_posted_ = true;
    asio::post(home_.io, [self = shared_from_this()] {
      auto& me = static_cast<tcp_connection&>(*self);
      me.read_posted_ = false;
      if (!me.finished_ && me.read_wanted_) me.read_now();
    });
  }

  void read_now() {
    read_wanted_ = false;
    auto& buffer = worker_read_buffer();
    for (;;) {
      if (injected_failure(io_step::read)) {
        on_read_bytes(asio::error::connection_reset, byte_view{});
        return;
      }
      const ssize_t got = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (got > 0) {
        const auto size = static_cast<std::size_t>(got);
        // A short read emptied the socket: the next bytes to arrive raise a new edge.
        readable_ = size == buffer.size();
        on_read_bytes({}, byte_view(buffer.data(), size));
        return;
      }
      if (got == 0) {
        on_read_bytes(asio::error::eof, byte_view{});
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        readable_ = false;
        read_wanted_ = true;
        return;
      }
      on_read_bytes(boost::system::error_code(errno, boost::system::system_category()),
                    byte_view{});
      return;
    }
  }

  void write_queued() override {
    if (!durable_before_write()) return;
    writing_ = true;
    batch_sent_ = 0;
    // The batch is what this first gathering covers.
    const auto [items, bytes] = gather_rest(home_.gather, max_items_per_write);
    batch_items_ = static_cast<std::uint32_t>(items);
    batch_bytes_ = static_cast<std::uint32_t>(bytes);
    send_batch(true);
  }

  /// Gathers the unsent rest (past batch_sent_ bytes) of the first `limit` queued items into the
  /// worker's iovec array; returns how many items and bytes those items hold in all.
  std::pair<std::size_t, std::size_t> gather_rest(std::vector<iovec>& gather,
                                                  std::size_t limit) const {
    gather.clear();
    std::size_t skip = batch_sent_;
    return for_each_queued(limit, [&](const byte_vector& part) {
      if (part.size() <= skip) {
        skip -= part.size();
        return;
      }
      // iovec's base is not const; sendmsg only reads it.
      gather.push_back(iovec{const_cast<std::uint8_t*>(part.data()) + skip, part.size() - skip});
      skip = 0;
    });
  }

  /// Sends what the socket takes of the current batch (`gathered`: the worker's iovec array
  /// already holds its unsent rest); the completion is posted (it may call the machine, which
  /// may be the caller), or the rest waits for on_ready() to report room.
  void send_batch(bool gathered = false) {
    write_blocked_ = false;
    auto& gather = home_.gather;
    boost::system::error_code ec;
    while (batch_sent_ < batch_bytes_) {
      if (!gathered) gather_rest(gather, batch_items_);
      gathered = false;
      if (injected_failure(io_step::write)) {
        ec = asio::error::connection_reset;
        break;
      }
      msghdr message{};
      message.msg_iov = gather.data();
      message.msg_iovlen = gather.size();
      const ssize_t sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent > 0) {
        batch_sent_ += static_cast<std::uint32_t>(sent);
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      if (sent == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
        write_blocked_ = true;
        return;
      }
      ec = boost::system::error_code(errno, boost::system::system_category());
      break;
    }
    asio::post(home_.io, [self = shared_from_this(), ec, items = std::size_t{batch_items_},
                          bytes = std::size_t{batch_bytes_}] {
      static_cast<tcp_connection&>(*self).on_written(ec, items, bytes);
    });
  }

  void close_transport() override {
    // FIN after the queued bytes, so the peer reads the final DISCONNECT before the close.
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
    finish();
  }

  void close_socket() override {
    if (fd_ < 0) return;
    home_.readiness.remove(fd_);
    ::close(fd_);
    fd_ = -1;
    // The reference may be the last one, and this object is still running (perhaps called from
    // an event batch that holds more events for it): it is released on a later turn.
    if (self_) asio::post(home_.io, [held = std::move(self_)] {});
  }

  /// While the socket is registered: this connection (see readiness_set).
  std::shared_ptr<connection_base> self_;
  int fd_ = -1;
  /// The batch being written: its first batch_items_ queued items, batch_bytes_ bytes in all,
  /// of which batch_sent_ have been sent (max_bytes_per_write keeps them within 32 bits).
  std::uint32_t batch_items_ = 0;
  std::uint32_t batch_bytes_ = 0;
  std::uint32_t batch_sent_ = 0;
  /// The socket may hold unread bytes (no read since it reported input came up short).
  bool readable_ = false;
  /// The connection reads at the socket's next input (read_more() was called since the last
  /// read).
  bool read_wanted_ = false;
  bool read_posted_ = false;
  /// The current batch waits for room in the socket.
  bool write_blocked_ = false;
};

std::size_t tcp_connection_size() noexcept {
  return sizeof(tcp_connection);
}

std::shared_ptr<connection_base> make_tcp_connection(worker& home, const listener_config& listener,
                                                     tcp_socket socket,
                                                     const tcp::endpoint& remote) {
  return std::make_shared<tcp_connection>(home, listener, std::move(socket), remote);
}

readiness_set::readiness_set(asio::io_context& io) : watch_(io) {
  const int set = ::epoll_create1(EPOLL_CLOEXEC);
  if (set < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  watch_.assign(set);
}

bool readiness_set::add(int socket, tcp_connection& who) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = &who;
  if (::epoll_ctl(watch_.native_handle(), EPOLL_CTL_ADD, socket, &event) != 0) return false;
  if (!waiting_) wait();
  return true;
}

void readiness_set::remove(int socket) noexcept {
  // Closing the descriptor would remove it too, unless another process shares it.
  epoll_event ignored{};
  ::epoll_ctl(watch_.native_handle(), EPOLL_CTL_DEL, socket, &ignored);
}

void readiness_set::wait() {
  waiting_ = true;
  watch_.async_wait(asio::posix::descriptor_base::wait_read,
                    [this](const boost::system::error_code& ec) {
                      waiting_ = false;
                      if (!ec) dispatch();
                    });
}

void readiness_set::dispatch() {
  const int count =
      ::epoll_wait(watch_.native_handle(), ready_.data(), static_cast<int>(ready_.size()), 0);
  if (count < 0 && errno != EINTR) {
    spdlog::error("epoll_wait: {}", std::error_code(errno, std::generic_category()).message());
  }
  for (int i = 0; i < count; ++i) {
    // A connection called earlier in this batch may have closed this one: it is still alive
    // (released on a later turn) and ignores the event.
    const epoll_event& event = ready_[static_cast<std::size_t>(i)];
    static_cast<tcp_connection*>(event.data.ptr)->on_ready(event.events);
  }
  if (count == static_cast<int>(ready_.size())) {
    // More may be ready: fetch them after the handlers already queued, without waiting.
    waiting_ = true;
    asio::post(watch_.get_executor(), [this] {
      waiting_ = false;
      dispatch();
    });
    return;
  }
  wait();
}

}  // namespace acemq::net::detail
