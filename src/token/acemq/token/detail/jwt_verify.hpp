#pragma once
// The JWT half of verify(): JWS (and JWE) checks through jose/, then the JSON claims read into
// `claims` (RFC 7519, RFC 7800 cnf, RFC 9200 5.10, RFC 9431 2.1 and 2.3).

#include <boost/json/object.hpp>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/claims.hpp"
#include "acemq/token/failure.hpp"
#include "acemq/token/jose/jwt.hpp"
#include "acemq/token/verify.hpp"

namespace acemq::token::detail {

/// Verifies a compact JWT and reads its claims (no claim checks: verify() does those).
result<claims, failure> verify_jwt_token(byte_view token, const trusted_keys& keys,
                                         const expectations& expected);

/// Reads JSON claims (a JWT payload or an introspection response, RFC 7662). In a JWT a cnf jwk
/// must be a public key and a symmetric key must come as a jwe (RFC 9431 2.1); an introspection
/// response may also carry a symmetric jwk (jose::cnf_origin).
result<claims, failure> claims_from_json(const boost::json::object& payload,
                                         const trusted_keys& keys, const expectations& expected,
                                         jose::cnf_origin origin = jose::cnf_origin::jwt);

}  // namespace acemq::token::detail
