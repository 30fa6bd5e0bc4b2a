#include "acemq/app/logging.hpp"

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include "acemq/common/log.hpp"

namespace acemq::app {
namespace {

void append_escaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          // RFC 8259 7: control characters are escaped as \u00XX.
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(byte));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
}

class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& destination) override {
    const auto milliseconds =
        std::chrono::duration_cast<std::chrono::milliseconds>(message.time.time_since_epoch())
            .count();
    const auto level = spdlog::level::to_string_view(message.level);
    const std::string line = format_json_record(
        static_cast<std::int64_t>(milliseconds), std::string_view(level.data(), level.size()),
        message.thread_id, std::string_view(message.payload.data(), message.payload.size()));
    destination.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

}  // namespace

std::string format_json_record(std::int64_t unix_milliseconds, std::string_view level,
                               std::size_t thread, std::string_view message) {
  const std::time_t seconds = static_cast<std::time_t>(unix_milliseconds / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(unix_milliseconds % 1000));
  std::string out = "{\"time\":\"";
  out += stamp;
  out += "\",\"level\":\"";
  append_escaped(out, level);
  out += "\",\"thread\":";
  out += std::to_string(thread);
  out += ",\"message\":\"";
  append_escaped(out, message);
  out += "\"}\n";
  return out;
}

bool configure_logging(std::string_view level, log_format format) {
  if (!acemq::log::set_level(level)) return false;
  if (format == log_format::json) {
    spdlog::set_formatter(std::make_unique<json_formatter>());
  } else {
    // Client identifiers, user names and topics in messages come from the network.
    acemq::log::use_escaping_text_format();
  }
  return true;
}

}  // namespace acemq::app
