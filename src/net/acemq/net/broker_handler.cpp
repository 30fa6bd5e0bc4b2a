#include <map>
#include <memory>

#include "acemq/net/server.hpp"

namespace acemq::net {
namespace {

/// Adapts broker::connection (the MQTT protocol machine) to the driver's interface.
class broker_handler final : public connection_handler {
 public:
  broker_handler(broker::broker& shared_broker, broker::connection_io& io,
                 std::shared_ptr<const broker::listener_settings> settings)
      : settings_(std::move(settings)), machine_(shared_broker, io, *settings_) {}

  void on_bytes(byte_view data) override { machine_.on_bytes(data); }
  void on_timer(clock::time_point now) override { machine_.on_timer(now); }
  void on_wake() override { machine_.on_wake(); }
  void on_transport_closed() override { machine_.on_transport_closed(); }
  void shutdown() override { machine_.shutdown(mqtt::reason_code::server_shutting_down); }

 private:
  // The machine keeps a reference to its listener's settings: hold them as long as it lives.
  std::shared_ptr<const broker::listener_settings> settings_;
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
  // Built once and only read afterwards, so the I/O threads may share it without a lock.
  std::map<std::string, std::shared_ptr<const broker::listener_settings>, std::less<>> by_name;
  for (const auto& listener : listeners)
    by_name[listener.name] = settings_of(listener, chains, interceptors);
  return [&shared_broker, by_name = std::move(by_name), chains, interceptors](
             broker::connection_io& io,
             const listener_config& listener) -> std::unique_ptr<connection_handler> {
    const auto found = by_name.find(listener.name);
    auto settings =
        found != by_name.end() ? found->second : settings_of(listener, chains, interceptors);
    return std::make_unique<broker_handler>(shared_broker, io, std::move(settings));
  };
}

}  // namespace acemq::net
