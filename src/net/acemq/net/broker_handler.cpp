#include <map>
#include <memory>
#include <mutex>

#include "acemq/net/server.hpp"

namespace acemq::net {
namespace {

/// Adapts broker::connection (the MQTT protocol machine) to the driver's interface.
class broker_handler final : public connection_handler {
 public:
  broker_handler(broker::broker& shared_broker, broker::connection_io& io,
                 const broker::listener_settings& settings)
      : machine_(shared_broker, io, settings) {}

  void on_bytes(byte_view data) override { machine_.on_bytes(data); }
  void on_timer(clock::time_point now) override { machine_.on_timer(now); }
  void on_wake() override { machine_.on_wake(); }
  void on_transport_closed() override { machine_.on_transport_closed(); }
  void shutdown() override { machine_.shutdown(mqtt::reason_code::server_shutting_down); }

 private:
  // The machine keeps a reference to its listener's settings, which the factory owns: the
  // server destroys every handler before its factory (see handler_factory).
  broker::connection machine_;
};

std::shared_ptr<const broker::listener_settings> settings_of(
    const listener_config& listener, const chain_selector& chains,
    const interceptor_selector& interceptors) {
  auto each = std::make_shared<broker::listener_settings>();
  each->name = listener.name;
  each->tls = uses_tls(listener.type);
  if (chains) each->auth = chains(listener);  // null: the broker's default chain
  if (interceptors) each->interceptor = interceptors(listener);
  return each;
}

}  // namespace

handler_factory make_broker_handler_factory(broker::broker& shared_broker,
                                            const std::vector<listener_config>& listeners,
                                            const chain_selector& chains,
                                            const interceptor_selector& interceptors) {
  // One settings object per listener name, owned here (the server destroys every handler before
  // its factory) and referred to by every connection of that listener. A listener the factory
  // was not given gets its own at its first connection.
  struct registry {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const broker::listener_settings>, std::less<>> by_name;
  };
  auto settings = std::make_shared<registry>();
  for (const auto& listener : listeners)
    settings->by_name[listener.name] = settings_of(listener, chains, interceptors);
  return [&shared_broker, settings, chains, interceptors](
             broker::connection_io& io,
             const listener_config& listener) -> std::unique_ptr<connection_handler> {
    const broker::listener_settings* chosen = nullptr;
    {
      std::lock_guard lock(settings->mutex);
      auto& each = settings->by_name[listener.name];
      if (!each) each = settings_of(listener, chains, interceptors);
      chosen = each.get();
    }
    return std::make_unique<broker_handler>(shared_broker, io, *chosen);
  };
}

}  // namespace acemq::net
