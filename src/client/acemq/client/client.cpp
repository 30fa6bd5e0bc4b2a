// The Asio driver: owns the socket, the TLS stream and one timer; everything about MQTT is decided
// by protocol_machine. One read and at most one write are outstanding at any time; each write
// carries every packet queued since the previous one.

#include <acemq/client/client.hpp>
#include <acemq/client/detail/tls_context_impl.hpp>
#include <acemq/common/clock.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace acemq::client {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

class client::impl : public std::enable_shared_from_this<client::impl> {
 public:
  impl(client& owner, asio::io_context& io, client_options options, events callbacks)
      : owner_(&owner),
        options_(std::move(options)),
        callbacks_(std::move(callbacks)),
        socket_(io),
        resolver_(io),
        timer_(io),
        machine_(acemq::system_clock::instance(), machine_settings_for(options_),
                 forwarding_events()) {}

  result<void, client_error> connect(mqtt::connect packet, before_connect_hook hook) {
    if (started_) return unexpected{client_error::already_started};
    started_ = true;
    packet_ = std::move(packet);
    hook_ = std::move(hook);
    arm_timer_at(acemq::system_clock::instance().now() + options_.machine.connect_timeout);
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(options_.host, ec);
    if (!ec) {
      endpoints_ = {tcp::endpoint(address, options_.port)};
      connect_to(0);
    } else {
      resolver_.async_resolve(
          options_.host, std::to_string(options_.port),
          [self = shared_from_this()](const error_code& error, tcp::resolver::results_type r) {
            if (self->closed_) return;
            if (error || r.empty()) {
              self->finish({client_error::transport_error, mqtt::reason_code::unspecified_error,
                            "cannot resolve host: " + error.message()});
              return;
            }
            // Every address the name has, in the resolver's order: "localhost" is often ::1
            // first while the broker listens on 127.0.0.1 only.
            self->endpoints_.assign(r.begin(), r.end());
            self->connect_to(0);
          });
    }
    return {};
  }

  template <typename Command>
  auto command(Command&& run) -> decltype(run(std::declval<protocol_machine&>())) {
    auto outcome = run(machine_);
    if (outcome) flush();
    return outcome;
  }

  result<void, client_error> disconnect(mqtt::reason_code reason, mqtt::properties properties) {
    if (closed_) return unexpected{client_error::not_connected};
    if (machine_.state() == connection_state::idle) {
      // Still connecting the transport: nothing to say to the server yet.
      finish({client_error::closed_by_client, reason, {}});
      return {};
    }
    auto outcome = machine_.disconnect(reason, std::move(properties));
    if (!outcome) return outcome;
    closing_reason_ = failure{client_error::closed_by_client, reason, {}};
    flush();
    return {};
  }

  void close() { finish({client_error::closed_by_client, mqtt::reason_code::success, {}}); }

  /// The owner is gone: close without further callbacks.
  void detach() {
    owner_ = nullptr;
    detached_ = true;
    finish({client_error::closed_by_client, mqtt::reason_code::success, {}});
  }

  result<byte_vector, client_error> export_keying_material(std::string_view label,
                                                           byte_view context, std::size_t length) {
    if (!options_.tls) return unexpected{client_error::not_supported};
    if (!tls_ || !handshake_done_ || closed_) return unexpected{client_error::not_connected};
    if (length == 0 || length > 65535) return unexpected{client_error::invalid_argument};
    byte_vector out(length);
    // RFC 5705 4 / RFC 8446 7.5: use_context = 1 so that an empty context is a context.
    if (SSL_export_keying_material(tls_->native_handle(), out.data(), out.size(), label.data(),
                                   label.size(), context.data(), context.size(), 1) != 1) {
      return unexpected{client_error::tls_error};
    }
    return out;
  }

  bool tls_session_resumed() const noexcept {
    return tls_ && handshake_done_ &&
           SSL_session_reused(
               const_cast<asio::ssl::stream<tcp::socket&>&>(*tls_).native_handle()) == 1;
  }

  const protocol_machine& machine() const noexcept { return machine_; }

 private:
  static machine_settings machine_settings_for(const client_options& options) {
    machine_settings settings = options.machine;
    // A TLS stream writes each buffer as its own record: keep each batch contiguous.
    if (options.tls) settings.inline_payload_limit = std::numeric_limits<std::size_t>::max();
    return settings;
  }

  // The machine's callbacks forward to the application's unless the owner was destroyed.
  events forwarding_events() {
    events e;
    e.on_connected = [this](const mqtt::connack& p) {
      if (!detached_ && callbacks_.on_connected) callbacks_.on_connected(p);
    };
    e.on_message = [this](const mqtt::publish& p) {
      if (!detached_ && callbacks_.on_message) callbacks_.on_message(p);
    };
    e.on_publish_complete = [this](std::uint16_t id, mqtt::reason_code code) {
      if (!detached_ && callbacks_.on_publish_complete) callbacks_.on_publish_complete(id, code);
    };
    e.on_subscribed = [this](const mqtt::suback& p) {
      if (!detached_ && callbacks_.on_subscribed) callbacks_.on_subscribed(p);
    };
    e.on_unsubscribed = [this](const mqtt::unsuback& p) {
      if (!detached_ && callbacks_.on_unsubscribed) callbacks_.on_unsubscribed(p);
    };
    e.on_authentication = [this](const mqtt::auth& p) -> result<byte_vector, mqtt::reason_code> {
      if (detached_ || !callbacks_.on_authentication) {
        return unexpected{mqtt::reason_code::implementation_specific_error};
      }
      return callbacks_.on_authentication(p);
    };
    e.on_reauthenticated = [this](const mqtt::auth& p) {
      if (!detached_ && callbacks_.on_reauthenticated) callbacks_.on_reauthenticated(p);
    };
    e.on_ready = [this] {
      if (!detached_ && callbacks_.on_ready) callbacks_.on_ready();
    };
    return e;
  }

  // Connects to endpoints_[index], and on failure to the next one; the error of the last address
  // tried is the one reported.
  void connect_to(std::size_t index) {
    const tcp::endpoint endpoint = endpoints_[index];
    const bool last = index + 1 == endpoints_.size();
    error_code ec;
    socket_.close(ec);
    socket_.open(endpoint.protocol(), ec);
    if (!ec && !options_.bind_address.empty()) {
      const asio::ip::address local = asio::ip::make_address(options_.bind_address, ec);
      if (!ec) socket_.bind(tcp::endpoint(local, 0), ec);
    }
    if (ec) {
      // A local address of the other family cannot reach this one; another address may fit.
      if (!last) return connect_to(index + 1);
      finish({client_error::transport_error, mqtt::reason_code::unspecified_error,
              "cannot open or bind the socket: " + ec.message()});
      return;
    }
    socket_.async_connect(
        endpoint, [self = shared_from_this(), index, last](const error_code& error) {
          if (self->closed_) return;
          if (error) {
            if (!last) return self->connect_to(index + 1);
            self->finish({client_error::transport_error, mqtt::reason_code::unspecified_error,
                          "cannot connect: " + error.message()});
            return;
          }
          error_code ignored;
          // Small packets (acks, PINGREQ) must not wait for Nagle's algorithm.
          self->socket_.set_option(tcp::no_delay(true), ignored);
          if (self->options_.tls) {
            self->start_tls();
          } else {
            self->start_mqtt();
          }
        });
  }

  void start_tls() {
    const tls_context::impl& context = options_.tls->implementation();
    tls_.emplace(socket_, context.context);
    SSL* ssl = tls_->native_handle();
    const std::string& name = options_.server_name.empty() ? options_.host : options_.server_name;
    error_code ec;
    const bool is_ip = !asio::ip::make_address(name, ec).is_unspecified() && !ec;
    // RFC 6066 3: SNI carries host names only, never IP literals.
    // SSL_set_tlsext_host_name is a macro with a C cast; call what it expands to.
    if (!is_ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                           const_cast<char*>(name.c_str())) != 1) {
      finish({client_error::tls_error, mqtt::reason_code::unspecified_error, "cannot set SNI"});
      return;
    }
    if (!context.prepare_resumption(
            ssl, options_.host + ":" + std::to_string(options_.port) + "/" + name)) {
      finish({client_error::tls_error, mqtt::reason_code::unspecified_error,
              "cannot offer the cached TLS session"});
      return;
    }
    if (context.options.verify_peer) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      const int set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                            : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      if (set != 1) {
        finish({client_error::tls_error, mqtt::reason_code::unspecified_error,
                "cannot set the expected server name"});
        return;
      }
    }
    tls_->async_handshake(
        asio::ssl::stream_base::client, [self = shared_from_this()](const error_code& error) {
          if (self->closed_) return;
          if (error) {
            self->finish({client_error::tls_error, mqtt::reason_code::unspecified_error,
                          "TLS handshake failed: " + error.message()});
            return;
          }
          self->handshake_done_ = true;
          if (!self->check_psk() || !self->check_pin()) return;
          self->start_mqtt();
        });
  }

  // Without a certificate check, only a resumed (PSK) handshake authenticated the server.
  bool check_psk() {
    if (!options_.tls->options().psk) return true;
    if (SSL_session_reused(tls_->native_handle()) == 1) return true;
    finish({client_error::tls_error, mqtt::reason_code::unspecified_error,
            "the server did not accept the PSK"});
    return false;
  }

  bool check_pin() {
    const auto& pin = options_.tls->options().pin;
    if (!pin) return true;
    X509* leaf = SSL_get1_peer_certificate(tls_->native_handle());
    bool accepted = false;
    if (leaf != nullptr) {
      unsigned char* der = nullptr;
      const int size = i2d_X509(leaf, &der);
      if (size > 0) {
        accepted = pin(byte_view(der, static_cast<std::size_t>(size)));
        OPENSSL_free(der);
      }
      X509_free(leaf);
    }
    if (!accepted) {
      finish({client_error::tls_error, mqtt::reason_code::unspecified_error,
              "the server certificate does not match the pin"});
    }
    return accepted;
  }

  void start_mqtt() {
    if (hook_ && owner_ != nullptr) {
      auto hooked = hook_(*owner_, packet_);
      if (!hooked) {
        finish(hooked.error());
        return;
      }
      if (closed_) return;
    }
    auto started = machine_.start(std::move(packet_));
    if (!started) {
      finish({started.error(), mqtt::reason_code::unspecified_error, "invalid CONNECT"});
      return;
    }
    start_read();
    flush();
    arm_timer();
  }

  void start_read() {
    const std::span<std::uint8_t> space = machine_.receive_space();
    auto handler = [self = shared_from_this()](const error_code& error, std::size_t count) {
      self->on_read(error, count);
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(space.data(), space.size()), std::move(handler));
    } else {
      socket_.async_read_some(asio::buffer(space.data(), space.size()), std::move(handler));
    }
  }

  void on_read(const error_code& error, std::size_t count) {
    if (closed_) return;
    if (error) {
      if (error == asio::error::eof || error == asio::ssl::error::stream_truncated) {
        finish(closing_reason_ ? *closing_reason_ : machine_.end_of_stream());
      } else {
        finish({client_error::transport_error, mqtt::reason_code::unspecified_error,
                "read failed: " + error.message()});
      }
      return;
    }
    const bool was_connecting = machine_.state() == connection_state::connecting;
    auto outcome = machine_.received(count);
    if (closed_) return;
    if (!outcome) {
      begin_closing(outcome.error());
      return;
    }
    if (machine_.state() == connection_state::closing) {
      // A callback disconnected: keep reading only to notice the server closing.
      flush();
      start_read();
      return;
    }
    flush();
    start_read();
    if (was_connecting) arm_timer();
  }

  /// The machine reported a failure: write what it queued (a DISCONNECT), then close.
  void begin_closing(failure reason) {
    closing_reason_ = std::move(reason);
    if (!machine_.output().writing() && !machine_.output().has_pending()) {
      finish(*closing_reason_);
      return;
    }
    flush();
  }

  void flush() {
    outbound_queue& output = machine_.output();
    if (closed_ || output.writing() || !output.has_pending()) return;
    if (machine_.state() == connection_state::idle) return;
    const std::span<const byte_view> views = output.begin_write();
    write_buffers_.clear();
    for (const byte_view& view : views)
      write_buffers_.emplace_back(view.data(), view.size());
    auto handler = [self = shared_from_this()](const error_code& error, std::size_t) {
      self->on_write(error);
    };
    if (tls_) {
      asio::async_write(*tls_, write_buffers_, std::move(handler));
    } else {
      asio::async_write(socket_, write_buffers_, std::move(handler));
    }
  }

  void on_write(const error_code& error) {
    if (closed_) return;
    if (error) {
      finish(closing_reason_
                 ? *closing_reason_
                 : failure{client_error::transport_error, mqtt::reason_code::unspecified_error,
                           "write failed: " + error.message()});
      return;
    }
    machine_.write_finished();
    if (closed_) return;
    flush();
    if (closing_reason_ && !machine_.output().writing() && !machine_.output().has_pending()) {
      finish(*closing_reason_);
    }
  }

  void arm_timer() {
    const auto deadline = machine_.next_deadline();
    if (!deadline) return;
    if (timer_armed_ && armed_deadline_ <= *deadline) return;  // fires early, then re-arms
    arm_timer_at(*deadline);
  }

  void arm_timer_at(acemq::clock::time_point deadline) {
    timer_armed_ = true;
    armed_deadline_ = deadline;
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this()](const error_code& error) {
      if (error == asio::error::operation_aborted || self->closed_) return;
      self->timer_armed_ = false;
      self->on_timer();
    });
  }

  void on_timer() {
    if (machine_.state() == connection_state::idle) {
      finish({client_error::connect_timeout, mqtt::reason_code::unspecified_error,
              "transport or TLS handshake not done in time"});
      return;
    }
    auto outcome = machine_.on_timer();
    if (!outcome) {
      begin_closing(outcome.error());
      return;
    }
    flush();
    arm_timer();
  }

  void finish(failure reason) {
    if (closed_) return;
    closed_ = true;
    error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (!detached_ && callbacks_.on_closed) callbacks_.on_closed(reason);
  }

  client* owner_;
  client_options options_;
  events callbacks_;
  tcp::socket socket_;
  tcp::resolver resolver_;
  std::vector<tcp::endpoint> endpoints_;  // what the host name resolved to, tried in order
  asio::steady_timer timer_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  protocol_machine machine_;
  mqtt::connect packet_;
  before_connect_hook hook_;
  std::vector<asio::const_buffer> write_buffers_;
  std::optional<failure> closing_reason_;
  acemq::clock::time_point armed_deadline_{};
  bool timer_armed_ = false;
  bool started_ = false;
  bool handshake_done_ = false;
  bool closed_ = false;
  bool detached_ = false;
};

client::client(asio::io_context& io, client_options options, events callbacks)
    : impl_(std::make_shared<impl>(*this, io, std::move(options), std::move(callbacks))) {}

client::~client() {
  impl_->detach();
}

result<void, client_error> client::connect(mqtt::connect packet, before_connect_hook hook) {
  return impl_->connect(std::move(packet), std::move(hook));
}

result<std::uint16_t, client_error> client::publish(const mqtt::publish& message) {
  return impl_->command([&](protocol_machine& m) { return m.publish(message); });
}

result<std::uint16_t, client_error> client::subscribe(std::vector<mqtt::subscription> subscriptions,
                                                      std::uint32_t subscription_identifier,
                                                      mqtt::properties properties) {
  return impl_->command([&](protocol_machine& m) {
    return m.subscribe(std::move(subscriptions), subscription_identifier, std::move(properties));
  });
}

result<std::uint16_t, client_error> client::unsubscribe(std::vector<std::string> filters,
                                                        mqtt::properties properties) {
  return impl_->command([&](protocol_machine& m) {
    return m.unsubscribe(std::move(filters), std::move(properties));
  });
}

result<void, client_error> client::reauthenticate(byte_vector data) {
  return impl_->command([&](protocol_machine& m) { return m.reauthenticate(std::move(data)); });
}

result<void, client_error> client::disconnect(mqtt::reason_code reason,
                                              mqtt::properties properties) {
  return impl_->disconnect(reason, std::move(properties));
}

void client::close() {
  impl_->close();
}

result<byte_vector, client_error> client::export_keying_material(std::string_view label,
                                                                 byte_view context,
                                                                 std::size_t length) const {
  return impl_->export_keying_material(label, context, length);
}

bool client::tls_session_resumed() const noexcept {
  return impl_->tls_session_resumed();
}

connection_state client::state() const noexcept {
  return impl_->machine().state();
}
bool client::can_publish(std::uint8_t qos) const noexcept {
  return impl_->machine().can_publish(qos);
}
const server_limits& client::limits() const noexcept {
  return impl_->machine().limits();
}
std::uint16_t client::in_flight() const noexcept {
  return impl_->machine().in_flight();
}
const std::string& client::client_id() const noexcept {
  return impl_->machine().client_id();
}

}  // namespace acemq::client
