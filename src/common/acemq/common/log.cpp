#include "acemq/common/log.hpp"

#include <openssl/sha.h>

#include <array>

namespace acemq {

namespace log {

bool set_level(std::string_view level_name) {
  const auto level = spdlog::level::from_str(std::string(level_name));
  if (level == spdlog::level::off && level_name != "off") return false;
  spdlog::set_level(level);
  return true;
}

std::string redact(byte_view secret) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(secret.data(), secret.size(), digest.data());
  return to_hex(byte_view(digest.data(), 4));
}

}  // namespace log
}  // namespace acemq
