// The server: binding the listeners, accepting and admitting connections (connection limits and
// rates) and handing each to its transport, the once-a-second tick and periodic tasks, graceful
// stop, and the SIGHUP reload of the TLS contexts; then the public server's methods.

#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>

#include "acemq/net/connection_base.hpp"

namespace acemq::net {

using detail::connection_base;
using detail::endpoint_text;
using detail::max_http_connections;
using detail::steady_timer;
using detail::tcp;
using detail::tcp_socket;
using detail::worker;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

void detail::server_state::accept(listener_state& listener) {
  if (stopping) return;
  // The socket is accepted straight onto the io_context of the worker that will own it.
  worker& target = next_worker();
  listener.acceptor->async_accept(
      target.io,
      [this, &listener, &target](const boost::system::error_code& ec, tcp_socket socket) {
        if (ec == asio::error::operation_aborted || stopping) return;
        if (ec) {
          // EMFILE and friends: back off briefly instead of spinning on the error.
          spdlog::warn("listener {}: accept: {}", listener.settings.name, ec.message());
          listener.retry->expires_after(std::chrono::milliseconds(100));
          listener.retry->async_wait([this, &listener](const boost::system::error_code& wait) {
            if (!wait) accept(listener);
          });
          return;
        }
        on_accepted(listener, target, std::move(socket));
        accept(listener);
      });
}

void detail::server_state::on_accepted(listener_state& listener, worker& home, tcp_socket socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // already reset by the peer
  if (!admit(listener, remote)) {
    socket.close(ec);
    return;
  }
  if (listener.settings.type == transport::http) {
    if (http_active.fetch_add(1) >= max_http_connections) {
      --http_active;
      socket.close(ec);
      return;
    }
    detail::start_metrics_connection(*this, home, listener.settings, std::move(socket));
    return;
  }
  if (counters.active.load() >= config.max_connections) {
    ++counters.refused_over_limit;
    spdlog::warn("listener {}: {} refused: {} connections is the limit", listener.settings.name,
                 endpoint_text(remote).view(), config.max_connections);
    socket.close(ec);
    return;
  }
  ++counters.active;
  ++counters.accepted;
  socket.set_option(tcp::no_delay(true), ec);
  std::shared_ptr<connection_base> connection;
  switch (listener.settings.type) {
    case transport::tls:
      connection = detail::make_tls_connection(home, listener.settings, listener.tls(),
                                               std::move(socket), remote);
      break;
    case transport::ws:
      connection = detail::make_websocket_connection(home, listener.settings, nullptr,
                                                     std::move(socket), remote);
      break;
    case transport::wss:
      connection = detail::make_websocket_connection(home, listener.settings, listener.tls(),
                                                     std::move(socket), remote);
      break;
    case transport::tcp:
    case transport::http:
      connection = detail::make_tcp_connection(home, listener.settings, std::move(socket), remote);
      break;
  }
  // From here on the connection is only touched on its own thread.
  asio::post(home.io, [connection] { connection->start(); });
}

bool detail::server_state::admit(listener_state& listener, const tcp::endpoint& remote) {
  // Both buckets are checked before either is charged, so a refusal by one does not use up the
  // other. The address bucket is the peer's per_address_key (an IPv6 peer's /64); the log names
  // the peer itself.
  const std::string address = remote.address().to_string();
  const std::string address_key = per_address_key(address);
  if (listener.connection_rate && !listener.connection_rate->allowed("")) {
    ++counters.refused_listener_rate;
    spdlog::debug("listener {}: {} refused: connection rate", listener.settings.name, address);
    return false;
  }
  if (listener.address_rate && !listener.address_rate->allowed(address_key)) {
    ++counters.refused_address_rate;
    spdlog::debug("listener {}: {} refused: connection rate of the address", listener.settings.name,
                  address);
    return false;
  }
  if (listener.connection_rate) listener.connection_rate->take("");
  if (listener.address_rate) listener.address_rate->take(address_key);
  return true;
}

void detail::server_state::connection_finished() {
  const std::size_t remaining = --counters.active;
  if (remaining == 0 && stopping) {
    asio::post(main_worker().io, [this] { finish_stop(); });
  }
}

void detail::server_state::schedule_tick() {
  if (!tick) return;
  next_tick += std::chrono::seconds(1);
  tick_timer->expires_at(next_tick);
  tick_timer->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    tick(std::chrono::steady_clock::now());
    schedule_tick();
  });
}

void detail::server_state::begin_stop(std::chrono::milliseconds grace) {
  if (stopping.exchange(true)) return;
  spdlog::info("shutting down: closing listeners and {} connections", counters.active.load());
  for (auto& listener : listeners) {
    boost::system::error_code ignored;
    listener->acceptor->close(ignored);
    listener->retry->cancel();
  }
  if (tick_timer) tick_timer->cancel();
  for (auto& each : periodic) {
    if (each.timer) each.timer->cancel();
  }
  for (auto& each : workers) {
    worker* target = each.get();
    asio::post(target->io, [target] {
      // Copy: shutting a connection down may remove it from the set.
      std::vector<connection_base*> snapshot(target->connections.begin(),
                                             target->connections.end());
      for (auto* connection : snapshot) {
        if (target->connections.count(connection)) connection->server_shutdown();
      }
    });
  }
  if (counters.active.load() == 0) {
    finish_stop();
    return;
  }
  grace_timer->expires_after(grace);
  grace_timer->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped) return;
    spdlog::warn("shutdown: {} connections did not close in time; dropping them",
                 counters.active.load());
    for (auto& each : workers) {
      worker* target = each.get();
      asio::post(target->io, [target] {
        std::vector<connection_base*> snapshot(target->connections.begin(),
                                               target->connections.end());
        for (auto* connection : snapshot)
          connection->finish();
      });
    }
  });
}

void detail::server_state::finish_stop() {
  if (stopped.exchange(true)) return;
  if (grace_timer) grace_timer->cancel();
  if (signals) {
    boost::system::error_code ignored;
    signals->cancel(ignored);
  }
  for (auto& each : workers) {
    each->guard.reset();
    each->io.stop();
  }
}

server::server(server_config config, handler_factory factory,
               std::function<void(clock::time_point)> tick)
    : impl_(std::make_unique<detail::server_state>(std::move(config), std::move(factory),
                                                   std::move(tick))) {
  // spdlog creates its registry at the first log call; create it here, before any I/O thread
  // runs, so that first call is never made by two threads at once.
  spdlog::default_logger_raw();
}

server::~server() = default;

result<void, std::string> server::start() {
  auto& io = impl_->main_worker().io;
  for (const auto& settings : impl_->config.listeners) {
    auto state = std::make_unique<detail::server_state::listener_state>();
    state->settings = settings;
    if (uses_tls(settings.type)) {
      auto context = impl_->make_tls(settings);
      if (!context) return unexpected("listener " + settings.name + ": " + context.error());
      state->set_tls(std::move(*context));
    }
    auto limiter = [](double rate, double burst, std::size_t entries) {
      rate_limit_settings bucket;
      bucket.refill_per_second = rate;
      bucket.burst = burst > 0 ? burst : std::max(1.0, rate);
      bucket.max_entries = entries;
      return std::make_unique<rate_limiter>(system_clock::instance(), bucket);
    };
    if (settings.connection_rate > 0) {
      state->connection_rate = limiter(settings.connection_rate, settings.connection_burst, 1);
    }
    if (settings.address_connection_rate > 0) {
      state->address_rate =
          limiter(settings.address_connection_rate, settings.address_connection_burst,
                  impl_->config.max_tracked_addresses);
    }
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(settings.address, ec);
    if (ec) return unexpected("listener " + settings.name + ": bad address " + settings.address);
    const tcp::endpoint endpoint(address, settings.port);
    auto acceptor = std::make_unique<tcp::acceptor>(io);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return unexpected("listener " + settings.name + ": cannot listen on " +
                        std::string(endpoint_text(endpoint).view()) + ": " + ec.message());
    }
    const auto local = acceptor->local_endpoint(ec);
    state->bound = {settings.name, settings.type, settings.address, local.port()};
    state->acceptor = std::move(acceptor);
    state->retry = std::make_unique<steady_timer>(io);
    impl_->listeners.push_back(std::move(state));
  }
  impl_->grace_timer = std::make_unique<steady_timer>(io);
  impl_->tick_timer = std::make_unique<steady_timer>(io);
  for (auto& listener : impl_->listeners)
    impl_->accept(*listener);
  impl_->next_tick = std::chrono::steady_clock::now();
  impl_->schedule_tick();
  for (auto& each : impl_->periodic) {
    each.timer = std::make_unique<steady_timer>(io);
    impl_->schedule_periodic(each);
  }
  return {};
}

void detail::server_state::schedule_periodic(periodic_task& each) {
  each.timer->expires_after(each.interval);
  each.timer->async_wait([this, &each](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    each.task();
    schedule_periodic(each);
  });
}

result<std::shared_ptr<ssl::context>, std::string> detail::server_state::make_tls(
    const listener_config& settings) {
  auto context = make_server_tls_context(settings);
  if (!context) return unexpected(context.error());
  const bool chain_has_ace =
      settings.auth.empty() ||
      std::find(settings.auth.begin(), settings.auth.end(), "ace") != settings.auth.end();
  if (psk && chain_has_ace) {
    if (auto enabled = enable_psk(context->get(), psk); !enabled)
      return unexpected(enabled.error());
  }
  return std::make_shared<ssl::context>(context->release());
}

std::vector<std::string> detail::server_state::reload_tls(
    const std::vector<listener_config>& fresh) {
  std::vector<std::string> problems;
  for (auto& listener : listeners) {
    if (!uses_tls(listener->settings.type)) continue;
    listener_config settings = listener->settings;
    for (const auto& candidate : fresh) {
      if (candidate.name != settings.name) continue;
      settings.certificate = candidate.certificate;
      settings.key = candidate.key;
      settings.ca = candidate.ca;
      settings.client_certificates = candidate.client_certificates;
    }
    auto context = make_tls(settings);
    if (!context) {
      problems.push_back("listener " + settings.name + ": " + context.error() +
                         " (previous certificate kept)");
      continue;
    }
    listener->set_tls(std::move(*context));
    spdlog::info("listener {}: TLS certificate reloaded from {}", settings.name,
                 settings.certificate);
  }
  return problems;
}

void detail::server_state::reload() {
  ++counters.reloads;
  server::reload_outcome outcome;
  if (reload_handler) {
    outcome = reload_handler();
  } else {
    outcome.listeners = config.listeners;
  }
  auto tls_problems = reload_tls(outcome.listeners);
  outcome.problems.insert(outcome.problems.end(), tls_problems.begin(), tls_problems.end());
  for (const auto& problem : outcome.problems) {
    ++counters.reload_failures;
    spdlog::error("reload: {}", problem);
  }
  spdlog::info("reload finished: {} problem(s); {} connections kept", outcome.problems.size(),
               counters.active.load());
}

void server::set_psk_lookup(psk_lookup lookup) {
  impl_->psk = std::move(lookup);
}

void server::set_metrics_source(std::function<std::string()> render) {
  impl_->metrics = std::move(render);
}

void server::set_tls_socket_binding(tls_socket_binding bind) {
  impl_->bind_tls_socket = std::move(bind);
}

void server::set_io_faults(std::shared_ptr<io_faults> faults) {
  impl_->faults = std::move(faults);
}

void server::set_reload_handler(std::function<reload_outcome()> reload) {
  impl_->reload_handler = std::move(reload);
}

void server::add_periodic(std::chrono::milliseconds interval, std::function<void()> task) {
  impl_->periodic.push_back({interval, std::move(task), nullptr});
}

std::vector<std::string> server::reload_tls(const std::vector<listener_config>& fresh) {
  return impl_->reload_tls(fresh);
}

std::vector<bound_listener> server::listeners() const {
  std::vector<bound_listener> out;
  for (const auto& listener : impl_->listeners)
    out.push_back(listener->bound);
  return out;
}

void detail::server_state::wait_signal() {
  signals->async_wait([this](const boost::system::error_code& ec, int number) {
    if (ec) return;
    if (number == SIGHUP) {
      spdlog::info("SIGHUP received: reloading TLS certificates, log level and auth files");
      reload();
    } else {
      spdlog::info("signal {} received: stopping", number);
      begin_stop(std::chrono::milliseconds(5000));
    }
    wait_signal();
  });
}

void server::handle_signals() {
  impl_->signals =
      std::make_unique<asio::signal_set>(impl_->main_worker().io, SIGINT, SIGTERM, SIGHUP);
  impl_->wait_signal();
}

void server::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->workers.size(); ++i) {
    threads.emplace_back([this, i] { impl_->workers[i]->io.run(); });
  }
  impl_->workers.front()->io.run();
  for (auto& thread : threads)
    thread.join();
}

void server::stop(std::chrono::milliseconds grace) {
  asio::post(impl_->main_worker().io, [this, grace] { impl_->begin_stop(grace); });
}

const server_counters& server::counters() const {
  return impl_->counters;
}

}  // namespace acemq::net
