// Feeds arbitrary bytes to the broker's configuration loader: apply_toml over the embedded
// defaults, then finalize() and describe_settings() on whatever was accepted. Nothing may crash,
// allocate without bound, or accept a value outside the documented range (checked for a few
// bounds below).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "acemq/app/app_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  acemq::app::app_config config = acemq::app::default_config();
  if (!acemq::app::apply_toml(config, text, "fuzz")) return 0;
  if (!acemq::app::finalize(config)) return 0;
  // The ranges the registry promises.
  if (config.broker.maximum_packet_size < 64 || config.server.read_chunk < 512 ||
      config.server.threads == 0 || config.server.listeners.empty()) {
    std::abort();
  }
  for (const auto& listener : config.server.listeners) {
    if (!(listener.connection_rate >= 0) || !(listener.address_connection_rate >= 0) ||
        listener.auth.size() > 5 || (!listener.path.empty() && listener.path.front() != '/')) {
      std::abort();
    }
  }
  (void)acemq::app::describe_settings(config);
  return 0;
}
