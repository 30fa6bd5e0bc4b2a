#include "acemq/ace_client/credentials.hpp"

#include <boost/json.hpp>

#include <utility>

#include "acemq/common/base64.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::ace_client {

namespace json = boost::json;

namespace {

token_failure bad(std::string description) {
  return token_failure{token_error::bad_response, 0, {}, std::move(description)};
}

std::string string_member(const json::object& object, std::string_view name) {
  const auto* member = object.if_contains(name);
  return (member != nullptr && member->is_string()) ? std::string(member->as_string())
                                                    : std::string();
}

}  // namespace

result<pop_credentials, token_failure> make_credentials(const token_response& response,
                                                        std::optional<token::crypto::key> own_key,
                                                        std::string audience, std::string as_url,
                                                        std::int64_t now) {
  if (own_key) {
    // RFC 9201 3.1: with req_cnf the token is bound to the client's key; a cnf key in the answer
    // would mean the AS bound the token to something else.
    if (response.cnf_key) {
      return unexpected(token_failure{
          token_error::bad_key, 0, {}, "the AS returned a cnf key although req_cnf was sent"});
    }
    if (!own_key->is_private()) {
      return unexpected(token_failure{token_error::bad_key, 0, {}, "own key is public only"});
    }
  } else if (!response.cnf_key) {
    return unexpected(token_failure{
        token_error::bad_key, 0, {}, "no req_cnf was sent and the AS returned no cnf key"});
  }
  pop_credentials out{.token = token_bytes_from_text(response.access_token),
                      .pop_key = own_key ? std::move(*own_key) : *response.cnf_key,
                      .expires_at = response.expires_in > 0 ? now + response.expires_in : 0,
                      .scope = response.scope,
                      .audience = std::move(audience),
                      .as_url = std::move(as_url),
                      .rs_cnf_key = response.rs_cnf_key};
  return out;
}

std::string to_json(const pop_credentials& credentials) {
  json::object out;
  out["token"] = base64url_encode(credentials.token);
  auto key = token::jose::to_jwk(credentials.pop_key, token::jose::jwk_content::with_private);
  if (key) out["pop_key"] = std::move(*key);
  out["expires_at"] = credentials.expires_at;
  out["scope"] = credentials.scope;
  out["audience"] = credentials.audience;
  out["as"] = credentials.as_url;
  if (credentials.rs_cnf_key) {
    if (auto rs =
            token::jose::to_jwk(*credentials.rs_cnf_key, token::jose::jwk_content::public_only)) {
      out["rs_cnf"] = std::move(*rs);
    }
  }
  return json::serialize(out);
}

result<pop_credentials, token_failure> credentials_from_json(std::string_view text) {
  // A credentials file is a few KiB; anything far larger is not one.
  if (text.size() > 256 * 1024) return unexpected(bad("credentials file too large"));
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8;
  json::value parsed = json::parse(text, ec, {}, options);
  if (ec || !parsed.is_object()) return unexpected(bad("credentials are not a JSON object"));
  const json::object& object = parsed.as_object();

  auto token = base64url_decode(string_member(object, "token"));
  if (!token || token->empty())
    return unexpected(bad("credentials: token missing or not base64url"));
  const auto* key_member = object.if_contains("pop_key");
  if (key_member == nullptr || !key_member->is_object()) {
    return unexpected(bad("credentials: pop_key missing"));
  }
  auto key = token::jose::parse_jwk(key_member->as_object());
  if (!key || !key->is_private()) {
    return unexpected(bad("credentials: pop_key is not a private JWK"));
  }
  pop_credentials out{.token = std::move(*token),
                      .pop_key = std::move(*key),
                      .expires_at = 0,
                      .scope = {},
                      .audience = {},
                      .as_url = {},
                      .rs_cnf_key = std::nullopt};
  if (const auto* expires = object.if_contains("expires_at")) {
    if (!expires->is_int64()) return unexpected(bad("credentials: expires_at is not an integer"));
    out.expires_at = expires->as_int64();
  }
  out.scope = string_member(object, "scope");
  out.audience = string_member(object, "audience");
  out.as_url = string_member(object, "as");
  if (const auto* rs = object.if_contains("rs_cnf")) {
    if (!rs->is_object()) return unexpected(bad("credentials: rs_cnf is not a JWK"));
    auto rs_key = token::jose::parse_jwk(rs->as_object(), {.public_only = true});
    if (!rs_key) return unexpected(bad("credentials: rs_cnf is not a public JWK"));
    out.rs_cnf_key = std::move(*rs_key);
  }
  return out;
}

std::optional<std::int64_t> seconds_left(const pop_credentials& credentials, std::int64_t now) {
  if (credentials.expires_at == 0) return std::nullopt;
  return credentials.expires_at - now;
}

}  // namespace acemq::ace_client
