#include "acemq/ace_client/as_hint.hpp"

#include <boost/json.hpp>

namespace acemq::ace_client {

namespace json = boost::json;

result<as_hint, hint_error> parse_as_hint(const mqtt::properties& properties) {
  for (const auto& [name, value] : properties.user_properties) {
    if (name == as_hint_property) return parse_as_hint(value);
  }
  return unexpected(hint_error::absent);
}

result<as_hint, hint_error> parse_as_hint(std::string_view text) {
  if (text.size() > max_as_hint_size) return unexpected(hint_error::malformed);
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8;
  json::value parsed = json::parse(text, ec, {}, options);
  if (ec || !parsed.is_object()) return unexpected(hint_error::malformed);
  const json::object& object = parsed.as_object();

  as_hint out;
  // RFC 9200 5.3 (AS Request Creation Hints): "AS" is required, the rest optional.
  const auto* as = object.if_contains("AS");
  if (as == nullptr || !as->is_string() || as->as_string().empty()) {
    return unexpected(hint_error::malformed);
  }
  out.as_url = std::string(as->as_string());
  for (const auto& [name, target] :
       {std::pair{"audience", &out.audience}, std::pair{"cnonce", &out.cnonce}}) {
    if (const auto* member = object.if_contains(name)) {
      if (!member->is_string()) return unexpected(hint_error::malformed);
      *target = std::string(member->as_string());
    }
  }
  if (const auto* scope = object.if_contains("scope")) {
    // The scope may arrive as AIF JSON text or as the array itself.
    if (scope->is_string()) {
      out.scope = std::string(scope->as_string());
    } else if (scope->is_array()) {
      out.scope = json::serialize(*scope);
    } else {
      return unexpected(hint_error::malformed);
    }
  }
  // A hint is unauthenticated input from the broker: follow it only to an https AS, so client
  // credentials are never sent in the clear (RFC 9431 section 8 warns about misdirection).
  if (out.as_url.rfind("https://", 0) != 0) return unexpected(hint_error::not_https);
  return out;
}

}  // namespace acemq::ace_client
