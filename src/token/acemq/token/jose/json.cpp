#include "acemq/token/jose/json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <utility>

#include "acemq/common/base64.hpp"

namespace acemq::token::jose {

result<boost::json::object, failure> parse_object(std::string_view text, std::size_t max_depth) {
  boost::json::parse_options options;
  options.max_depth = max_depth;
  options.allow_comments = false;
  options.allow_trailing_commas = false;
  options.allow_invalid_utf8 = false;
  boost::json::error_code ec;
  boost::json::value parsed = boost::json::parse(text, ec, {}, options);
  if (ec == boost::json::error::too_deep) return unexpected(failure::too_deep);
  if (ec) return unexpected(failure::bad_encoding);
  auto* object = parsed.if_object();
  if (object == nullptr) return unexpected(failure::bad_encoding);
  return std::move(*object);
}

result<boost::json::object, failure> decode_object(std::string_view base64url_text,
                                                   std::size_t max_depth) {
  auto bytes = base64url_decode(base64url_text);
  if (!bytes) return unexpected(failure::bad_encoding);
  return parse_object(as_string_view(*bytes), max_depth);
}

std::string serialize(const boost::json::object& object) {
  return boost::json::serialize(object);
}

result<std::optional<std::string_view>, failure> optional_string(const boost::json::object& object,
                                                                 std::string_view name) {
  const auto* member = object.if_contains(name);
  if (member == nullptr) return std::optional<std::string_view>{};
  const auto* text = member->if_string();
  if (text == nullptr) return unexpected(failure::bad_encoding);
  return std::optional<std::string_view>{std::string_view(*text)};
}

result<std::optional<byte_vector>, failure> optional_base64url(const boost::json::object& object,
                                                               std::string_view name) {
  auto text = optional_string(object, name);
  if (!text) return unexpected(text.error());
  if (!*text) return std::optional<byte_vector>{};
  auto bytes = base64url_decode(**text);
  if (!bytes) return unexpected(failure::bad_encoding);
  return std::optional<byte_vector>{std::move(*bytes)};
}

namespace {

// Header parameters registered by RFC 7515/7516/7518; producers must not list them in "crit".
constexpr std::string_view registered_parameters[] = {
    "alg",  "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty",
    "crit", "enc", "zip", "epk", "apu", "apv", "iv",  "tag",      "p2s", "p2c"};

}  // namespace

result<void, failure> check_critical(const boost::json::object& header) {
  if (const auto* b64 = header.if_contains("b64")) {
    // RFC 7797 3: only the default (true) is supported.
    if (!b64->is_bool() || !b64->get_bool()) return unexpected(failure::unknown_critical_header);
  }
  const auto* crit = header.if_contains("crit");
  if (crit == nullptr) return {};
  const auto* names = crit->if_array();
  if (names == nullptr || names->empty()) return unexpected(failure::bad_encoding);
  for (std::size_t i = 0; i < names->size(); ++i) {
    const auto* name = (*names)[i].if_string();
    if (name == nullptr) return unexpected(failure::bad_encoding);
    for (auto registered : registered_parameters) {
      if (*name == registered) return unexpected(failure::bad_encoding);
    }
    for (std::size_t j = 0; j < i; ++j) {
      if ((*names)[j] == *name) return unexpected(failure::bad_encoding);
    }
    if (!header.contains(*name)) return unexpected(failure::bad_encoding);
  }
  // Every entry is an extension this library does not implement.
  return unexpected(failure::unknown_critical_header);
}

result<std::vector<std::string_view>, failure> split_compact(std::string_view compact,
                                                             std::size_t count) {
  std::vector<std::string_view> parts;
  parts.reserve(count);
  std::size_t start = 0;
  while (true) {
    const auto dot = compact.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(compact.substr(start));
      break;
    }
    parts.push_back(compact.substr(start, dot - start));
    if (parts.size() == count) return unexpected(failure::bad_encoding);  // too many dots
    start = dot + 1;
  }
  if (parts.size() != count) return unexpected(failure::bad_encoding);
  return parts;
}

result<compact_parts, failure> read_compact(std::string_view compact, std::size_t count,
                                            const limits& bounds) {
  if (compact.size() > bounds.max_size) return unexpected(failure::too_large);
  auto segments = split_compact(compact, count);
  if (!segments) return unexpected(segments.error());
  auto header = decode_object((*segments)[0], bounds.max_depth);
  if (!header) return unexpected(header.error());
  return compact_parts{std::move(*segments), std::move(*header)};
}

}  // namespace acemq::token::jose
