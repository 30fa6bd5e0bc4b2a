#include "acemq/as/request.hpp"

#include <boost/json.hpp>
#include <boost/url/parse_query.hpp>

#include <algorithm>
#include <cctype>
#include <map>

#include "acemq/common/base64.hpp"
#include "acemq/common/text.hpp"
#include "acemq/common/utf8.hpp"
#include "acemq/token/cbor/codec.hpp"

namespace acemq::as {
namespace {

namespace json = boost::json;
namespace cbor = token::cbor;

// RFC 9200 Table 5 / Table 6 CBOR keys used in requests.
constexpr std::int64_t key_audience = 5;
constexpr std::int64_t key_scope = 9;
constexpr std::int64_t key_req_cnf = 4;  // RFC 9201 5
constexpr std::int64_t key_token = 11;
constexpr std::int64_t key_client_id = 24;
constexpr std::int64_t key_client_secret = 25;
constexpr std::int64_t key_grant_type = 33;
constexpr std::int64_t key_token_type_hint = 33;  // Table 6 (introspection) reuses 33
constexpr std::int64_t key_refresh_token = 37;
constexpr std::int64_t key_ace_profile = 38;
constexpr std::int64_t key_cnonce = 39;

// RFC 9201 3.1 / RFC 8747 3.1: cnf members.
constexpr std::int64_t cnf_cose_key = 1;
constexpr std::int64_t cnf_encrypted_cose_key = 2;
constexpr std::int64_t cnf_kid = 3;

constexpr std::size_t max_cnonce = 64;

unexpected<request_error> fail(oauth_error code, std::string description) {
  return unexpected(request_error{code, std::move(description)});
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// One request parameter, whichever format carried it.
struct parameter {
  std::optional<std::string> text;          // form values, JSON strings, CBOR text strings
  std::optional<byte_vector> bytes;         // CBOR byte strings
  std::optional<std::int64_t> integer;      // JSON/CBOR integers
  const json::value* json_value = nullptr;  // JSON: the value itself
  const cbor::value* cbor_value = nullptr;  // CBOR: the value itself
  bool is_null = false;
};

/// The parameters of one body, looked up by their JSON/form name or CBOR key.
class parameter_bag {
 public:
  content_format format = content_format::form;
  std::map<std::string, std::string> form;
  json::object object;
  cbor::value map;

  std::optional<parameter> get(std::string_view name, std::int64_t cbor_key) const {
    parameter p;
    switch (format) {
      case content_format::form: {
        const auto it = form.find(std::string(name));
        if (it == form.end()) return std::nullopt;
        p.text = it->second;
        return p;
      }
      case content_format::json: {
        const auto* v = object.if_contains(name);
        if (v == nullptr) return std::nullopt;
        p.json_value = v;
        if (v->is_string()) p.text = std::string(v->get_string());
        if (v->is_int64()) p.integer = v->get_int64();
        if (v->is_uint64() && v->get_uint64() <= INT64_MAX) {
          p.integer = static_cast<std::int64_t>(v->get_uint64());
        }
        p.is_null = v->is_null();
        return p;
      }
      case content_format::cbor: {
        const auto* v = map.find(cbor_key);
        if (v == nullptr) return std::nullopt;
        p.cbor_value = v;
        if (v->is_text()) p.text = v->text_content();
        if (v->is_bytes()) p.bytes = v->byte_content();
        if (v->is_integer()) p.integer = v->as_int64();
        p.is_null = v->is_null();
        return p;
      }
    }
    return std::nullopt;
  }
};

result<parameter_bag, request_error> read_body(content_format format, std::string_view body,
                                               const request_limits& limits) {
  if (body.size() > limits.max_body) {
    return fail(oauth_error::invalid_request, "request body too large");
  }
  parameter_bag bag;
  bag.format = format;
  switch (format) {
    case content_format::form: {
      auto pairs = parse_form(body, limits.max_parameters);
      if (!pairs) return fail(oauth_error::invalid_request, "malformed form body");
      for (auto& [name, value] : *pairs) {
        if (value.size() > limits.max_string) {
          return fail(oauth_error::invalid_request, "parameter too long: " + name);
        }
        // RFC 6749 3.2: parameters MUST NOT be included more than once.
        if (!bag.form.emplace(name, std::move(value)).second) {
          return fail(oauth_error::invalid_request, "repeated parameter: " + name);
        }
      }
      return bag;
    }
    case content_format::json: {
      json::parse_options options;
      options.max_depth = 16;
      boost::system::error_code ec;
      auto value = json::parse(json::string_view(body.data(), body.size()), ec, json::storage_ptr(),
                               options);
      if (ec) return fail(oauth_error::invalid_request, "malformed JSON body");
      if (!value.is_object())
        return fail(oauth_error::invalid_request, "body is not a JSON object");
      if (value.get_object().size() > limits.max_parameters) {
        return fail(oauth_error::invalid_request, "too many parameters");
      }
      bag.object = std::move(value.get_object());
      return bag;
    }
    case content_format::cbor: {
      cbor::decode_limits decode;
      decode.max_size = limits.max_body;
      decode.max_depth = 8;
      decode.max_items = 512;
      auto value = cbor::decode(as_bytes(body), decode);
      if (!value) return fail(oauth_error::invalid_request, "malformed CBOR body");
      if (!value->is_map()) return fail(oauth_error::invalid_request, "body is not a CBOR map");
      if (value->entries().size() > limits.max_parameters) {
        return fail(oauth_error::invalid_request, "too many parameters");
      }
      bag.map = std::move(*value);
      return bag;
    }
  }
  return fail(oauth_error::invalid_request, "unsupported content format");
}

/// A parameter that must be a string (CBOR: text, or bytes where Table 5 says byte string).
result<std::optional<std::string>, request_error> get_string(const parameter_bag& bag,
                                                             std::string_view name,
                                                             std::int64_t cbor_key,
                                                             bool bytes_allowed,
                                                             const request_limits& limits) {
  auto p = bag.get(name, cbor_key);
  if (!p) return std::optional<std::string>();
  std::string value;
  if (p->text) {
    value = std::move(*p->text);
  } else if (bytes_allowed && p->bytes) {
    value.assign(p->bytes->begin(), p->bytes->end());
  } else {
    return fail(oauth_error::invalid_request, std::string(name) + " must be a string");
  }
  if (value.size() > limits.max_string || !is_valid_utf8(value)) {
    return fail(oauth_error::invalid_request, std::string(name) + " is not acceptable");
  }
  return std::optional<std::string>(std::move(value));
}

/// client_id and client_secret in the body (RFC 6749 2.3.1 client_secret_post; in CBOR the keys of
/// RFC 9200 Table 4, the secret text or bytes), into the request's fields of those names.
template <typename Request>
result<void, request_error> read_client_credentials(const parameter_bag& bag,
                                                    const request_limits& limits, Request& out) {
  auto client_id = get_string(bag, "client_id", key_client_id, false, limits);
  if (!client_id) return unexpected(client_id.error());
  out.client_id = std::move(*client_id);
  auto client_secret = get_string(bag, "client_secret", key_client_secret, true, limits);
  if (!client_secret) return unexpected(client_secret.error());
  out.client_secret = std::move(*client_secret);
  return {};
}

result<std::vector<token::scope::grant>, request_error> parse_scope(const parameter& p) {
  token::scope::parse_options options;
  options.max_entries = 64;
  result<token::scope::aif_scope, token::failure> parsed = unexpected(token::failure::bad_scope);
  if (p.text) {
    // The AIF JSON text itself, or (as in a JWT claim) its base64url form.
    parsed = token::scope::aif_scope::from_json(*p.text, options);
    if (!parsed) parsed = token::scope::aif_scope::from_jwt_text(*p.text, options);
  } else if (p.json_value != nullptr && p.json_value->is_array()) {
    parsed = token::scope::aif_scope::from_json_value(*p.json_value, options);
  } else if (p.cbor_value != nullptr && p.cbor_value->is_array()) {
    parsed = token::scope::aif_scope::from_cbor_value(*p.cbor_value, options);
  } else if (p.cbor_value != nullptr && p.cbor_value->is_bytes()) {
    // RFC 9431 2.3: the AIF in CBOR, carried as a byte string.
    parsed = token::scope::aif_scope::from_cbor(p.cbor_value->byte_content(), options);
  }
  if (!parsed) return fail(oauth_error::invalid_scope, "scope is not a valid AIF-MQTT value");
  if (parsed->empty()) return fail(oauth_error::invalid_scope, "scope is empty");
  return parsed->grants();
}

result<requested_cnf, request_error> parse_req_cnf(const parameter_bag& bag, const parameter& p) {
  requested_cnf out;
  if (bag.format == content_format::cbor) {
    if (p.cbor_value == nullptr || !p.cbor_value->is_map() || p.cbor_value->entries().size() != 1) {
      return fail(oauth_error::invalid_request, "req_cnf must be a map with one member");
    }
    if (const auto* key = p.cbor_value->find(cnf_cose_key); key != nullptr && key->is_map()) {
      out.cose_key = *key;
      return out;
    }
    if (const auto* kid = p.cbor_value->find(cnf_kid); kid != nullptr && kid->is_bytes()) {
      out.kid = kid->byte_content();
      return out;
    }
    if (p.cbor_value->find(cnf_encrypted_cose_key) != nullptr) {
      return fail(oauth_error::unsupported_pop_key, "encrypted req_cnf keys are not supported");
    }
    return fail(oauth_error::invalid_request, "req_cnf member not understood");
  }
  json::value parsed;
  const json::value* object = p.json_value;
  if (bag.format == content_format::form || (object != nullptr && object->is_string())) {
    // Form bodies carry req_cnf as the JSON text of the object.
    if (!p.text) return fail(oauth_error::invalid_request, "req_cnf must be a JSON object");
    json::parse_options options;
    options.max_depth = 8;
    boost::system::error_code ec;
    parsed = json::parse(*p.text, ec, json::storage_ptr(), options);
    if (ec) return fail(oauth_error::invalid_request, "req_cnf is not JSON");
    object = &parsed;
  }
  if (object == nullptr || !object->is_object() || object->get_object().size() != 1) {
    return fail(oauth_error::invalid_request, "req_cnf must be an object with one member");
  }
  const auto& members = object->get_object();
  if (const auto* jwk = members.if_contains("jwk"); jwk != nullptr && jwk->is_object()) {
    out.jwk_json = json::serialize(*jwk);
    return out;
  }
  if (const auto* kid = members.if_contains("kid"); kid != nullptr && kid->is_string()) {
    const auto& text = kid->get_string();
    if (text.empty() || text.size() > 256) return fail(oauth_error::invalid_request, "bad kid");
    out.kid = to_bytes(std::string_view(text.data(), text.size()));
    return out;
  }
  if (members.contains("jwe")) {
    return fail(oauth_error::unsupported_pop_key, "encrypted req_cnf keys are not supported");
  }
  return fail(oauth_error::invalid_request, "req_cnf member not understood");
}

}  // namespace

std::optional<content_format> content_format_from_media_type(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  const std::string type = lower(trim_blanks(content_type.substr(0, semicolon)));
  if (type == "application/x-www-form-urlencoded") return content_format::form;
  if (type == "application/ace+json" || type == "application/json") return content_format::json;
  if (type == "application/ace+cbor" || type == "application/cbor") return content_format::cbor;
  return std::nullopt;
}

std::string_view media_type(content_format format) noexcept {
  switch (format) {
    case content_format::form:
      return "application/x-www-form-urlencoded";
    case content_format::json:
      return "application/ace+json";
    case content_format::cbor:
      return "application/ace+cbor";
  }
  return "application/ace+json";
}

std::string_view to_string(oauth_error error) noexcept {
  switch (error) {
    case oauth_error::invalid_request:
      return "invalid_request";
    case oauth_error::invalid_client:
      return "invalid_client";
    case oauth_error::invalid_grant:
      return "invalid_grant";
    case oauth_error::unauthorized_client:
      return "unauthorized_client";
    case oauth_error::unsupported_grant_type:
      return "unsupported_grant_type";
    case oauth_error::invalid_scope:
      return "invalid_scope";
    case oauth_error::unsupported_pop_key:
      return "unsupported_pop_key";
    case oauth_error::incompatible_ace_profiles:
      return "incompatible_ace_profiles";
  }
  return "invalid_request";
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(
    std::string_view body, std::size_t max_parameters) {
  std::vector<std::pair<std::string, std::string>> out;
  if (body.empty()) return out;
  // In clang builds against the system's Boost.URL 1.81, parse_query read a non-terminated view
  // up to the next NUL (found by fuzz_as_request), so parse a terminated copy; the body size is
  // already bounded.
  const std::string terminated(body);
  auto parsed =
      boost::urls::parse_query(boost::urls::string_view(terminated.data(), terminated.size()));
  if (!parsed) return std::nullopt;
  boost::urls::encoding_opts options;
  options.space_as_plus = true;  // application/x-www-form-urlencoded: '+' is a space
  for (const auto& param : *parsed) {
    if (out.size() >= max_parameters) return std::nullopt;
    if (param.key.empty()) continue;
    std::string name = param.key.decode(options);
    std::string value = param.has_value ? param.value.decode(options) : std::string();
    if (!is_valid_utf8(name) || !is_valid_utf8(value)) return std::nullopt;
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::optional<basic_credentials> parse_basic_authorization(std::string_view header_value) {
  if (header_value.size() < 6 || lower(header_value.substr(0, 6)) != "basic ") return std::nullopt;
  auto encoded = header_value.substr(6);
  while (!encoded.empty() && encoded.front() == ' ')
    encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ')
    encoded.remove_suffix(1);
  if (encoded.size() > 4096) return std::nullopt;
  auto decoded = base64_decode(encoded);
  if (!decoded) return std::nullopt;
  const auto text = as_string_view(*decoded);
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
  std::string form_text = "u=";
  form_text += text.substr(0, colon);
  form_text += "&p=";
  form_text += text.substr(colon + 1);
  auto pairs = parse_form(form_text, 2);
  if (!pairs || pairs->size() != 2) return std::nullopt;
  if ((*pairs)[0].second.empty()) return std::nullopt;
  return basic_credentials{std::move((*pairs)[0].second), std::move((*pairs)[1].second)};
}

result<token_request, request_error> parse_token_request(content_format format,
                                                         std::string_view body,
                                                         const request_limits& limits) {
  auto bag = read_body(format, body, limits);
  if (!bag) return unexpected(bag.error());
  token_request out;

  // grant_type: text in form/JSON; the Table 4 integer in CBOR (text accepted too).
  auto grant = bag->get("grant_type", key_grant_type);
  if (!grant) return fail(oauth_error::invalid_request, "grant_type is missing");
  if (grant->text) {
    out.grant_type_text = *grant->text;
    if (*grant->text == "client_credentials") out.grant = grant_type::client_credentials;
    if (*grant->text == "refresh_token") out.grant = grant_type::refresh_token;
    if (*grant->text == "password") out.grant = grant_type::password;
    if (*grant->text == "authorization_code") out.grant = grant_type::authorization_code;
  } else if (grant->integer && format == content_format::cbor) {
    out.grant_type_text = std::to_string(*grant->integer);
    if (*grant->integer >= 0 && *grant->integer <= 3) {
      out.grant = static_cast<grant_type>(*grant->integer);
    }
  } else {
    return fail(oauth_error::invalid_request, "grant_type has the wrong type");
  }
  if (out.grant_type_text.size() > 64) out.grant_type_text.resize(64);

  if (auto credentials = read_client_credentials(*bag, limits, out); !credentials) {
    return unexpected(credentials.error());
  }
  auto audience = get_string(*bag, "audience", key_audience, false, limits);
  if (!audience) return unexpected(audience.error());
  out.audience = std::move(*audience);
  auto refresh = get_string(*bag, "refresh_token", key_refresh_token, true, limits);
  if (!refresh) return unexpected(refresh.error());
  out.refresh_token = std::move(*refresh);

  if (auto scope = bag->get("scope", key_scope)) {
    auto parsed = parse_scope(*scope);
    if (!parsed) return unexpected(parsed.error());
    out.scope = std::move(*parsed);
  }
  if (auto cnf = bag->get("req_cnf", key_req_cnf)) {
    auto parsed = parse_req_cnf(*bag, *cnf);
    if (!parsed) return unexpected(parsed.error());
    out.req_cnf = std::move(*parsed);
  }
  if (auto cnonce = bag->get("cnonce", key_cnonce)) {
    // RFC 9200 5.8.4.4: a byte string in CBOR, base64url without padding otherwise.
    std::optional<byte_vector> bytes = cnonce->bytes;
    if (!bytes && cnonce->text && format != content_format::cbor) {
      bytes = base64url_decode(*cnonce->text);
    }
    if (!bytes || bytes->empty() || bytes->size() > max_cnonce) {
      return fail(oauth_error::invalid_request, "cnonce is not acceptable");
    }
    out.cnonce = std::move(bytes);
  }
  if (auto profile = bag->get("ace_profile", key_ace_profile)) {
    // RFC 9200 5.8.4.3: null in CBOR, an empty string otherwise, asks for ace_profile.
    const bool asked = format == content_format::cbor ? profile->is_null
                                                      : (profile->text && profile->text->empty());
    if (!asked) return fail(oauth_error::invalid_request, "ace_profile must be empty/null");
    out.ace_profile_requested = true;
  }
  return out;
}

result<token_reference_request, request_error> parse_token_reference_request(
    content_format format, std::string_view body, const request_limits& limits) {
  auto bag = read_body(format, body, limits);
  if (!bag) return unexpected(bag.error());
  token_reference_request out;
  auto token = bag->get("token", key_token);
  if (!token) return fail(oauth_error::invalid_request, "token is missing");
  if (token->text) {
    out.token = std::move(*token->text);
  } else if (token->bytes) {
    out.token_bytes = std::move(token->bytes);
    out.token = base64url_encode(*out.token_bytes);
  } else {
    return fail(oauth_error::invalid_request, "token has the wrong type");
  }
  if (out.token.empty() || out.token.size() > limits.max_body) {
    return fail(oauth_error::invalid_request, "token is not acceptable");
  }
  auto hint = get_string(*bag, "token_type_hint", key_token_type_hint, false, limits);
  if (!hint) return unexpected(hint.error());
  out.token_type_hint = std::move(*hint);
  if (auto credentials = read_client_credentials(*bag, limits, out); !credentials) {
    return unexpected(credentials.error());
  }
  return out;
}

}  // namespace acemq::as
