#include "acemq/common/log.hpp"

#include <openssl/sha.h>

#include <spdlog/pattern_formatter.h>

#include <array>
#include <memory>

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

namespace {

/// The length of the control character at the start of `text` (1 for C0 and DEL, 2 for the
/// UTF-8 form of a C1 character), or 0.
std::size_t control_length(std::string_view text) noexcept {
  const auto first = static_cast<unsigned char>(text[0]);
  if (first < 0x20 || first == 0x7f) return 1;
  if (first == 0xc2 && text.size() > 1) {
    const auto second = static_cast<unsigned char>(text[1]);
    if (second >= 0x80 && second <= 0x9f) return 2;
  }
  return 0;
}

/// spdlog's "%+" text lines with the message escaped.
class escaping_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& destination) override {
    const std::string_view payload(message.payload.data(), message.payload.size());
    if (!has_control(payload)) {
      pattern_.format(message, destination);
      return;
    }
    const std::string escaped = escape_control(payload);
    spdlog::details::log_msg copy = message;
    copy.payload = escaped;
    pattern_.format(copy, destination);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<escaping_formatter>();
  }

 private:
  spdlog::pattern_formatter pattern_{"%+"};
};

}  // namespace

bool has_control(std::string_view text) noexcept {
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (control_length(text.substr(at)) > 0) return true;
  }
  return false;
}

std::string escape_control(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = control_length(text.substr(at));
    if (length == 0) {
      out += text[at++];
      continue;
    }
    for (std::size_t i = 0; i < length; ++i) {
      const auto byte = static_cast<unsigned char>(text[at + i]);
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0x0f];
    }
    at += length;
  }
  return out;
}

void use_escaping_text_format() {
  spdlog::set_formatter(std::make_unique<escaping_formatter>());
}

}  // namespace log
}  // namespace acemq
