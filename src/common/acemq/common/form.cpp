// application/x-www-form-urlencoded encoding of names and values, and the HTTP Basic client
// credentials built from it (RFC 6749 2.3.1).
#include "acemq/common/form.hpp"

#include "acemq/common/base64.hpp"
#include "acemq/common/bytes.hpp"

namespace acemq {

std::string form_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0x0F];
    }
  }
  return out;
}

std::string basic_authorization(std::string_view client_id, std::string_view client_secret) {
  const std::string credentials = form_encode(client_id) + ":" + form_encode(client_secret);
  return "Basic " + base64_encode(as_bytes(credentials));
}

}  // namespace acemq
