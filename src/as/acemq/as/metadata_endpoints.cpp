// authorization_service: GET /.well-known/oauth-authorization-server (RFC 8414), GET /jwks and
// the rotation of the signing key.
#include "acemq/as/service.hpp"

#include <boost/json.hpp>

#include "acemq/as/endpoint_common.hpp"
#include "acemq/as/policy.hpp"

namespace acemq::as {

using namespace detail;  // the responses and keys every endpoint shares

http_response authorization_service::metadata_endpoint() const {
  // RFC 8414 2, with the ACE additions of RFC 9200 8.16.
  json::object body;
  body["issuer"] = options_.issuer;
  body["token_endpoint"] = options_.issuer + "/token";
  body["introspection_endpoint"] = options_.issuer + "/introspect";
  body["revocation_endpoint"] = options_.issuer + "/revoke";
  body["jwks_uri"] = options_.issuer + "/jwks";
  body["acemq_revocation_list_endpoint"] = options_.issuer + "/trl";
  body["grant_types_supported"] = json::array{"client_credentials", "refresh_token"};
  body["response_types_supported"] = json::array{};
  body["token_endpoint_auth_methods_supported"] =
      json::array{"client_secret_basic", "client_secret_post", "tls_client_auth"};
  body["introspection_endpoint_auth_methods_supported"] = json::array{"client_secret_basic"};
  body["revocation_endpoint_auth_methods_supported"] =
      json::array{"client_secret_basic", "client_secret_post", "tls_client_auth"};
  body["ace_profiles_supported"] = json::array{"mqtt_tls"};
  body["token_endpoint_auth_signing_alg_values_supported"] = json::array{};
  body["introspection_encryption_alg_values_supported"] = json::array{};
  body["op_policy_uri"] = options_.issuer + "/.well-known/oauth-authorization-server";
  return json_response(200, body);
}

http_response authorization_service::jwks_endpoint() {
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  rotate_if_due(now);
  auto response = json_response(200, keys_.jwks(now));
  response.content_type = "application/jwk-set+json";
  // Retired keys stay published, so a short cache lifetime is safe.
  response.headers.emplace_back("cache-control", "public, max-age=60");
  return response;
}

storage_result<void> authorization_service::rotate_signing_key() {
  std::lock_guard lock(mutex_);
  return keys_.rotate(store_, clock_.unix_seconds(), options_.max_token_lifetime);
}

}  // namespace acemq::as
