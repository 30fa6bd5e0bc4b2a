// MQTT over TLS: the connection driver with OpenSSL on the non-blocking socket.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <string>

#include "acemq/net/connection_base.hpp"

namespace acemq::net::detail {
namespace {

/// TLS straight over the socket: OpenSSL reads and writes the non-blocking descriptor itself and
/// the connection waits for readiness when it asks to (SSL_ERROR_WANT_READ / WANT_WRITE). No
/// buffer pair sits between OpenSSL and the socket, decrypted bytes land in the worker's read
/// buffer, and OpenSSL releases its record buffers while the connection is idle
/// (SSL_MODE_RELEASE_BUFFERS): an idle TLS connection costs its SSL object, not four 17 KB
/// buffers and a read chunk. OpenSSL encrypts one buffer per SSL_write, so small queued packets
/// are first staged into one contiguous buffer (a few records per write, not one per packet).
class tls_connection final : public connection_base {
 public:
  tls_connection(worker& home, const listener_config& listener,
                 std::shared_ptr<ssl::context> context, tcp_socket socket,
                 const tcp::endpoint& remote)
      : connection_base(home, listener, remote),
        context_(std::move(context)),
        socket_(std::move(socket)) {}

  void start() override {
    if (owner().stopping) {
      finish();
      return;
    }
    boost::system::error_code mode;
    socket_.non_blocking(true, mode);
    ssl_.reset(SSL_new(context_->native_handle()));
    if (mode || !ssl_ || !owner().bind_tls_socket(ssl_.get(), socket_.native_handle())) {
      spdlog::warn("{}: TLS session could not be created", remote_address().view());
      ++owner().counters.tls_handshake_failures;
      finish();
      return;
    }
    SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                 SSL_MODE_RELEASE_BUFFERS);
    SSL_set_accept_state(ssl_.get());
    home_.connections.insert(this);
    home_.deadlines.schedule(*this, std::chrono::steady_clock::now() + listener_.handshake_timeout);
    continue_handshake();
  }

  const broker::tls_facts* tls() const override { return facts_.get(); }

  void handshake_timed_out() override {
    spdlog::info("{}: TLS handshake timed out", remote_address().view());
    ++owner().counters.tls_handshake_failures;
    finish();
  }

 private:
  /// What an SSL_* call that did not complete asks for next.
  enum class outcome : std::uint8_t { want_read, want_write, closed, failed };

  outcome classify(int rc) {
    switch (SSL_get_error(ssl_.get(), rc)) {
      case SSL_ERROR_WANT_READ:
        return outcome::want_read;
      case SSL_ERROR_WANT_WRITE:
        return outcome::want_write;
      case SSL_ERROR_ZERO_RETURN:
        return outcome::closed;
      default:
        return outcome::failed;
    }
  }

  /// The oldest OpenSSL error of this thread as text (and the queue cleared), for the log.
  static std::string ssl_error_text() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "connection closed or reset";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
  }

  /// Waits until the socket is readable or writable, then calls `next` on this connection.
  void wait_for(outcome what, void (tls_connection::*next)()) {
    socket_.async_wait(
        what == outcome::want_write ? tcp::socket::wait_write : tcp::socket::wait_read,
        [self = shared_from_this(), next](const boost::system::error_code& ec) {
          auto& me = static_cast<tls_connection&>(*self);
          if (me.finished_) return;
          if (ec) {
            me.finish();
            return;
          }
          (me.*next)();
        });
  }

  void continue_handshake() {
    if (finished_) return;
    ERR_clear_error();
    // An injected failure (tests) goes down the path of a failed handshake.
    const bool injected = injected_failure(io_step::handshake);
    const int rc = injected ? -1 : SSL_do_handshake(ssl_.get());
    if (rc == 1) {
      on_handshake();
      return;
    }
    const outcome next = injected ? outcome::failed : classify(rc);
    if (next == outcome::want_read || next == outcome::want_write) {
      wait_for(next, &tls_connection::continue_handshake);
      return;
    }
    ++owner().counters.tls_handshake_failures;
    spdlog::info("{}: TLS handshake failed: {}", remote_address().view(), ssl_error_text());
    finish();
  }

  void on_handshake() {
    clear_deadline();
    if (auto reason = refusal_reason(ssl_.get())) {
      ++owner().counters.tls_refused_no_ems;
      spdlog::warn("{}: TLS session refused: {}", remote_address().view(), *reason);
      finish();
      return;
    }
    facts_ = std::make_unique<openssl_tls_facts>(ssl_.get());
    home_.connections.erase(this);  // attach() registers it again together with the machine
    if (!attach()) return;
    read_more();
  }

  /// Decrypts what is available into the worker's buffer and hands it to the machine, which
  /// calls read_more() again when it wants more: that call continues this loop instead of
  /// recursing. After a burst of records the rest is posted, so one busy client cannot hold the
  /// worker's other connections back.
  void read_more() override {
    if (in_read_loop_) {
      read_again_ = true;
      return;
    }
    in_read_loop_ = true;
    for (int records = 0;; ++records) {
      read_again_ = false;
      if (finished_) break;
      if (records == max_records_per_turn) {
        asio::post(home_.io, [self = shared_from_this()] {
          static_cast<tls_connection&>(*self).read_more();
        });
        break;
      }
      auto& buffer = worker_read_buffer();
      ERR_clear_error();
      std::size_t size = 0;
      const bool injected = injected_failure(io_step::read);
      const int rc = injected ? -1 : SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &size);
      if (rc == 1) {
        on_read_bytes({}, byte_view(buffer.data(), size));
        if (!read_again_) break;  // paused, closing or finished: the machine asks again later
        continue;
      }
      const outcome next = injected ? outcome::failed : classify(rc);
      if (next == outcome::want_read || next == outcome::want_write) {
        wait_for(next, &tls_connection::read_more);
      } else {
        if (next == outcome::failed)
          spdlog::debug("{}: read: {}", remote_address().view(), ssl_error_text());
        finish();
      }
      break;
    }
    in_read_loop_ = false;
  }

  void write_queued() override {
    if (in_write_loop_) {
      // Called by on_written() inside flush_staged(): the loop there writes the next batch.
      write_again_ = true;
      return;
    }
    if (!durable_before_write()) return;
    stage();
    writing_ = true;
    flush_staged();
  }

  /// Writes the staged batch, then the next ones while the socket takes them (on_written() asks
  /// for each through write_queued()); stops when OpenSSL waits for the socket (flush_staged
  /// continues then), the write failed or nothing is left.
  void flush_staged() {
    in_write_loop_ = true;
    while (write_staged()) {
      write_again_ = false;
      on_written({}, write_items_, write_bytes_);
      if (!write_again_ || !durable_before_write()) break;
      stage();
      writing_ = true;
    }
    in_write_loop_ = false;
  }

  /// Chooses the bytes of the next write: one large message from its own buffer, or several
  /// small ones copied into staging_.
  void stage() {
    write_items_ = 0;
    write_bytes_ = 0;
    write_offset_ = 0;
    const auto& first = queue_.front().item;
    const std::size_t first_size = first.size();
    if (first_size >= tls_staging_limit || (queue_.size() == 1 && !first.payload)) {
      write_items_ = 1;
      write_bytes_ = first_size;
      if (first.payload && !first.payload->empty()) {
        staging_.assign(first.bytes.begin(), first.bytes.end());
        staging_.insert(staging_.end(), first.payload->begin(), first.payload->end());
        write_data_ = byte_view(staging_.data(), staging_.size());
      } else {
        write_data_ = byte_view(first.bytes.data(), first.bytes.size());
      }
      return;
    }
    staging_.clear();
    for (const auto& queued : queue_.pending()) {
      const broker::outgoing& item = queued.item;
      const std::size_t size = item.size();
      if (write_items_ > 0 && staging_.size() + size > tls_staging_limit) break;
      staging_.insert(staging_.end(), item.bytes.begin(), item.bytes.end());
      if (item.payload) staging_.insert(staging_.end(), item.payload->begin(), item.payload->end());
      write_bytes_ += size;
      ++write_items_;
    }
    write_data_ = byte_view(staging_.data(), staging_.size());
  }

  /// Writes what stage() chose; true when all of it was written now, false when the rest waits
  /// for the socket or the connection failed.
  bool write_staged() {
    while (write_offset_ < write_data_.size()) {
      ERR_clear_error();
      std::size_t written = 0;
      const bool injected = injected_failure(io_step::write);
      const int rc = injected ? -1
                              : SSL_write_ex(ssl_.get(), write_data_.data() + write_offset_,
                                             write_data_.size() - write_offset_, &written);
      if (rc == 1) {
        write_offset_ += written;
        continue;
      }
      const outcome next = injected ? outcome::failed : classify(rc);
      if (next == outcome::want_read || next == outcome::want_write) {
        wait_for(next, &tls_connection::flush_staged);
        return false;
      }
      spdlog::debug("{}: write: {}", remote_address().view(), ssl_error_text());
      // Posted like the TCP and WebSocket completions: this write may have started inside the
      // machine (send() from on_bytes or a posted authentication completion), which must not
      // learn that the transport is gone, and reset its session, before that call returns.
      asio::post(home_.io, [self = shared_from_this()] {
        static_cast<tls_connection&>(*self).on_written(asio::error::connection_reset, 0, 0);
      });
      return false;
    }
    return true;
  }

  void close_transport() override {
    // No close_notify exchange: the MQTT DISCONNECT (if any) has been flushed, and waiting for the
    // peer's close_notify would let a silent peer hold the connection open.
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    finish();
  }

  void close_socket() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  /// Records decrypted in one turn before the rest of a busy client's input is posted.
  static constexpr int max_records_per_turn = 16;

  std::shared_ptr<ssl::context> context_;  // the context of the listener when accepted
  tcp_socket socket_;
  ssl_ptr ssl_;
  std::unique_ptr<openssl_tls_facts> facts_;  // refers to ssl_: declared after it
  std::vector<std::uint8_t> staging_;
  byte_view write_data_;
  std::size_t write_offset_ = 0;
  std::size_t write_items_ = 0;
  std::size_t write_bytes_ = 0;
  bool in_read_loop_ = false;
  bool read_again_ = false;
  bool in_write_loop_ = false;
  bool write_again_ = false;
};

}  // namespace

std::size_t tls_connection_size() noexcept {
  return sizeof(tls_connection);
}

std::shared_ptr<connection_base> make_tls_connection(worker& home, const listener_config& listener,
                                                     std::shared_ptr<ssl::context> context,
                                                     tcp_socket socket,
                                                     const tcp::endpoint& remote) {
  return std::make_shared<tls_connection>(home, listener, std::move(context), std::move(socket),
                                          remote);
}

}  // namespace acemq::net::detail
