// Verifies arbitrary bytes as a device JWT under every replay policy, against a registry in
// memory holding a fixed Ed25519 key. Nothing may crash; successes need a valid signature and
// are therefore rare.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "acemq/auth/device_jwt_provider.hpp"
#include "acemq/token/crypto/key.hpp"

using namespace acemq;

namespace {

struct fixture {
  std::unique_ptr<auth::device_registry> registry;
  auth::device_record device;
};

fixture& state() {
  static fixture instance = [] {
    fixture f;
    f.registry = std::move(*auth::device_registry::open(":memory:"));
    const auto k = *token::crypto::key::ed25519_from_private(byte_vector(32, 0x44));
    (void)f.registry->add_device("dev", auth::replay_policy::legacy, 0);
    (void)f.registry->add_key("dev", *k.public_pem(), 0);
    f.device = **f.registry->find("dev");
    return f;
  }();
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  auto& f = state();
  auth::device_jwt_settings settings;
  settings.audience = "broker";
  const auth::device_jwt_context context{1'700'000'000, std::string("nonce"),
                                         byte_vector(32, 0x01)};
  for (auto policy : {auth::replay_policy::legacy, auth::replay_policy::jti,
                      auth::replay_policy::counter, auth::replay_policy::nonce}) {
    auto device = f.device;
    device.policy = policy;
    (void)auth::verify_device_jwt(token, device, settings, context, *f.registry);
    (void)auth::verify_device_jwt(token, device, settings, {1'700'000'000, {}, {}}, *f.registry);
  }
  return 0;
}
