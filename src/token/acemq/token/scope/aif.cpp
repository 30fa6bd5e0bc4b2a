#include "acemq/token/scope/aif.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "acemq/common/base64.hpp"
#include "acemq/common/topic.hpp"
#include "acemq/token/cbor/codec.hpp"

namespace acemq::token::scope {
namespace {

constexpr std::string_view publish_text = "pub";    // RFC 9431 2.3
constexpr std::string_view subscribe_text = "sub";  // RFC 9431 2.3

// The AIF-MQTT array nests three deep ([[filter, [perm...]]]); anything deeper is malformed and
// is refused by the JSON parser before it builds a tree.
constexpr std::size_t max_json_depth = 4;

std::uint8_t bit(permission p) {
  return static_cast<std::uint8_t>(p);
}

/// Adds the permission named `text` ("pub" or "sub", RFC 9431 2.3) to `bits`. False for any other
/// name, or one already in `bits` (the permissions are a set, RFC 9237 2). The JSON and the CBOR
/// form of a scope share it.
bool add_permission(std::string_view text, std::uint8_t& bits) {
  std::uint8_t this_bit = 0;
  if (text == publish_text) {
    this_bit = bit(permission::publish);
  } else if (text == subscribe_text) {
    this_bit = bit(permission::subscribe);
  } else {
    return false;
  }
  if ((bits & this_bit) != 0) return false;
  bits = static_cast<std::uint8_t>(bits | this_bit);
  return true;
}

result<std::uint8_t, failure> parse_permissions(const boost::json::array& permissions) {
  // An entry that grants nothing, or that names a permission twice, is malformed (RFC 9237 2:
  // the permissions are a set, and an AIF entry exists to grant something).
  if (permissions.empty() || permissions.size() > 2) return unexpected(failure::bad_scope);
  std::uint8_t bits = 0;
  for (const auto& item : permissions) {
    const auto* text = item.if_string();
    if (text == nullptr || !add_permission(*text, bits)) return unexpected(failure::bad_scope);
  }
  return bits;
}

result<std::uint8_t, failure> parse_permissions(const cbor::value& permissions) {
  if (!permissions.is_array()) return unexpected(failure::bad_scope);
  const auto& items = permissions.items();
  if (items.empty() || items.size() > 2) return unexpected(failure::bad_scope);
  std::uint8_t bits = 0;
  for (const auto& item : items) {
    if (!item.is_text() || !add_permission(item.text_content(), bits)) {
      return unexpected(failure::bad_scope);
    }
  }
  return bits;
}

}  // namespace

result<aif_scope, failure> aif_scope::from_json(std::string_view json_text,
                                                const parse_options& options) {
  boost::json::parse_options json_options;
  json_options.max_depth = max_json_depth;
  boost::system::error_code error;
  const boost::json::value value = boost::json::parse(json_text, error, {}, json_options);
  if (error) return unexpected(failure::bad_scope);
  return from_json_value(value, options);
}

result<aif_scope, failure> aif_scope::from_json_value(const boost::json::value& value,
                                                      const parse_options& options) {
  const auto* array = value.if_array();
  if (array == nullptr) return unexpected(failure::bad_scope);
  if (array->size() > options.max_entries) return unexpected(failure::bad_scope);
  aif_scope scope;
  scope.entries_.reserve(array->size());
  for (const auto& item : *array) {
    // RFC 9431 2.3: each entry is [topic filter, [permissions]].
    const auto* pair = item.if_array();
    if (pair == nullptr || pair->size() != 2) return unexpected(failure::bad_scope);
    const auto* filter = (*pair)[0].if_string();
    const auto* permissions = (*pair)[1].if_array();
    if (filter == nullptr || permissions == nullptr) return unexpected(failure::bad_scope);
    auto bits = parse_permissions(*permissions);
    if (!bits) return unexpected(bits.error());
    auto added = scope.add(std::string_view(filter->data(), filter->size()), *bits, options);
    if (!added) return unexpected(added.error());
  }
  return scope;
}

result<aif_scope, failure> aif_scope::from_jwt_claim(const boost::json::value& claim,
                                                     const parse_options& options) {
  if (const auto* text = claim.if_string()) {
    return from_jwt_text(std::string_view(text->data(), text->size()), options);
  }
  if (claim.is_array()) return from_json_value(claim, options);
  return unexpected(failure::bad_scope);
}

result<aif_scope, failure> aif_scope::from_jwt_text(std::string_view claim_text,
                                                    const parse_options& options) {
  // A JSON array serialised into the string is accepted as well as the base64url form; '[' is
  // not in the base64url alphabet, so the two cannot be confused.
  if (!claim_text.empty() && claim_text.front() == '[') return from_json(claim_text, options);
  const auto decoded = base64url_decode(claim_text);
  if (!decoded || decoded->empty()) return unexpected(failure::bad_scope);
  return from_json(as_string_view(*decoded), options);
}

result<aif_scope, failure> aif_scope::from_cbor_value(const cbor::value& value,
                                                      const parse_options& options) {
  if (!value.is_array()) return unexpected(failure::bad_scope);
  const auto& items = value.items();
  if (items.size() > options.max_entries) return unexpected(failure::bad_scope);
  aif_scope scope;
  scope.entries_.reserve(items.size());
  for (const auto& item : items) {
    // RFC 9431 2.3 / RFC 9237 3: each entry is [text topic filter, [text permissions]].
    if (!item.is_array() || item.items().size() != 2) return unexpected(failure::bad_scope);
    const auto& filter = item.items()[0];
    if (!filter.is_text()) return unexpected(failure::bad_scope);
    auto bits = parse_permissions(item.items()[1]);
    if (!bits) return unexpected(bits.error());
    auto added = scope.add(filter.text_content(), *bits, options);
    if (!added) return unexpected(added.error());
  }
  return scope;
}

result<aif_scope, failure> aif_scope::from_cbor(byte_view cbor_bytes,
                                                const parse_options& options) {
  cbor::decode_limits limits;
  limits.max_depth = max_json_depth;  // the same three-level shape as the JSON form
  auto decoded = cbor::decode(cbor_bytes, limits);
  if (!decoded) return unexpected(failure::bad_scope);
  return from_cbor_value(*decoded, options);
}

result<aif_scope, failure> aif_scope::from_cwt_claim(const cbor::value& claim,
                                                     const parse_options& options) {
  if (claim.is_array()) return from_cbor_value(claim, options);
  if (claim.is_bytes()) return from_cbor(claim.byte_content(), options);
  if (claim.is_text()) return from_jwt_text(claim.text_content(), options);
  return unexpected(failure::bad_scope);
}

result<aif_scope, failure> aif_scope::from_grants(const std::vector<grant>& grants,
                                                  const parse_options& options) {
  if (grants.size() > options.max_entries) return unexpected(failure::bad_scope);
  aif_scope scope;
  for (const auto& g : grants) {
    std::uint8_t bits = 0;
    if (g.publish) bits = static_cast<std::uint8_t>(bits | bit(permission::publish));
    if (g.subscribe) bits = static_cast<std::uint8_t>(bits | bit(permission::subscribe));
    if (bits == 0) return unexpected(failure::bad_scope);
    auto added = scope.add(g.filter, bits, options);
    if (!added) return unexpected(added.error());
  }
  return scope;
}

result<void, failure> aif_scope::add(std::string_view filter, std::uint8_t permissions,
                                     const parse_options& options) {
  // RFC 9431 2.3: the object identifier is an MQTT topic filter (MQTT 5.0 4.7).
  if (!topic::is_valid_filter(filter)) return unexpected(failure::bad_scope);
  // The same filter listed twice grants the union of its permissions.
  for (auto& existing : entries_) {
    if (existing.filter == filter) {
      existing.permissions = static_cast<std::uint8_t>(existing.permissions | permissions);
      return {};
    }
  }
  if (entries_.size() >= options.max_entries) return unexpected(failure::bad_scope);
  entry e;
  e.filter.assign(filter);
  e.permissions = permissions;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = filter.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? filter.size() : slash;
    const std::string_view text = filter.substr(start, end - start);
    level l;
    l.offset = static_cast<std::uint32_t>(start);
    l.length = static_cast<std::uint32_t>(end - start);
    l.kind = text == "#"   ? level_kind::multi_wildcard
             : text == "+" ? level_kind::single_wildcard
                           : level_kind::literal;
    e.levels.push_back(l);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  entries_.push_back(std::move(e));
  return {};
}

// Whether every topic name matched by `candidate` (a topic name, or a topic filter) is also
// matched by the granted filter. A topic name is the special case of a filter without
// wildcards, so the same walk answers "does the filter match this name" (MQTT 5.0 4.7.1) and
// "is this filter a subset of the granted one" (RFC 9431 2.3).
bool aif_scope::covers(const entry& granted, std::string_view candidate) noexcept {
  // [MQTT-4.7.2-1] A granted filter starting with a wildcard matches no topic starting with '$',
  // so it cannot cover a name or filter that starts with '$'.
  if (!candidate.empty() && candidate.front() == '$' &&
      granted.levels.front().kind != level_kind::literal) {
    return false;
  }
  std::size_t position = 0;
  bool candidate_exhausted = false;
  for (std::size_t index = 0; index < granted.levels.size(); ++index) {
    const level& l = granted.levels[index];
    // '#' covers its parent level and everything below it [MQTT-4.7.1-2], whatever the
    // candidate has there, including '+' and '#'.
    if (l.kind == level_kind::multi_wildcard) return true;
    if (candidate_exhausted) return false;
    const std::size_t slash = candidate.find('/', position);
    const std::size_t end = slash == std::string_view::npos ? candidate.size() : slash;
    const std::string_view candidate_level = candidate.substr(position, end - position);
    // A '#' in the candidate spans its parent and any number of levels below: only a granted
    // '#' covers it, except at the top, where there is no parent and "+/#" is the same set.
    if (candidate_level == "#") {
      return index == 0 && l.kind == level_kind::single_wildcard && granted.levels.size() == 2 &&
             granted.levels[1].kind == level_kind::multi_wildcard;
    }
    if (l.kind == level_kind::literal) {
      // A literal covers only itself; a '+' in the candidate is wider than any literal.
      const std::string_view literal(granted.filter.data() + l.offset, l.length);
      if (candidate_level != literal) return false;
    }
    // '+' covers exactly one level: a literal or a '+'.
    if (slash == std::string_view::npos) {
      candidate_exhausted = true;
    } else {
      position = slash + 1;
    }
  }
  return candidate_exhausted;
}

bool aif_scope::any_covers(std::uint8_t required, std::string_view candidate) const noexcept {
  for (const entry& e : entries_) {
    if ((e.permissions & required) != 0 && covers(e, candidate)) return true;
  }
  return false;
}

bool aif_scope::allows_publish(std::string_view topic_name) const noexcept {
  // The codec validated the name already; checking again keeps a wildcard in a "name" from being
  // judged with filter semantics if a caller forgets [MQTT-3.3.2-2].
  if (!topic::is_valid_name(topic_name)) return false;
  return any_covers(bit(permission::publish), topic_name);
}

bool aif_scope::allows_subscribe(std::string_view topic_filter) const noexcept {
  std::string_view inner = topic_filter;
  const auto shared = topic::parse_shared(topic_filter);
  if (shared.is_shared) {
    // [MQTT-4.8.2-1] the share name is not part of the topic space: authorise the filter.
    if (!shared.valid) return false;
    inner = shared.parts.filter;
  } else if (!topic::is_valid_filter(topic_filter)) {
    return false;
  }
  return any_covers(bit(permission::subscribe), inner);
}

bool aif_scope::allows_delivery(std::string_view topic_name) const noexcept {
  // Hot path: the name was validated when the PUBLISH was decoded; only a wildcard-free,
  // non-empty name can reach here.
  if (topic_name.empty()) return false;
  return any_covers(bit(permission::subscribe), topic_name);
}

std::vector<grant> aif_scope::grants() const {
  std::vector<grant> out;
  out.reserve(entries_.size());
  for (const entry& e : entries_) {
    out.push_back(grant{e.filter, (e.permissions & bit(permission::publish)) != 0,
                        (e.permissions & bit(permission::subscribe)) != 0});
  }
  return out;
}

std::string aif_scope::to_json() const {
  boost::json::array array;
  array.reserve(entries_.size());
  for (const entry& e : entries_) {
    boost::json::array permissions;
    if ((e.permissions & bit(permission::publish)) != 0) permissions.emplace_back(publish_text);
    if ((e.permissions & bit(permission::subscribe)) != 0) {
      permissions.emplace_back(subscribe_text);
    }
    array.push_back(boost::json::array{boost::json::string(e.filter), std::move(permissions)});
  }
  return boost::json::serialize(array);
}

cbor::value aif_scope::to_cbor_value() const {
  std::vector<cbor::value> array;
  array.reserve(entries_.size());
  for (const entry& e : entries_) {
    std::vector<cbor::value> permissions;
    if ((e.permissions & bit(permission::publish)) != 0) {
      permissions.push_back(cbor::value::text(publish_text));
    }
    if ((e.permissions & bit(permission::subscribe)) != 0) {
      permissions.push_back(cbor::value::text(subscribe_text));
    }
    array.push_back(cbor::value::array(
        {cbor::value::text(e.filter), cbor::value::array(std::move(permissions))}));
  }
  return cbor::value::array(std::move(array));
}

byte_vector aif_scope::to_cbor() const {
  return cbor::encode(to_cbor_value());
}

std::string aif_scope::to_jwt_text() const {
  return base64url_encode(as_bytes(to_json()));
}

}  // namespace acemq::token::scope
