#pragma once
// JSON renderings of verified claims for tools and logs, with cnf reduced to a description so a
// PoP secret is never printed.

#include <boost/json/object.hpp>

#include <optional>
#include <string>

#include "acemq/token/cbor/value.hpp"
#include "acemq/token/claims.hpp"

namespace acemq::token::detail {

/// A description of the PoP key: form, key type, kid (base64url) and, for asymmetric keys, the
/// public key as a JWK. Never the symmetric secret.
boost::json::object confirmation_json(const confirmation& cnf);

/// A CBOR item as JSON: integers, text, byte strings as base64url, arrays; maps with text keys,
/// or integer keys as their decimal text; tags as {"tag": n, "value": v}; floats as numbers.
boost::json::value cbor_to_json(const cbor::value& item);

/// The CWT claims map as JSON with registered claim keys named (iss, sub, ..., cnonce, exi).
std::string cwt_claims_json(const cbor::value& claims_map, const std::optional<confirmation>& cnf);

/// The JWT claims object with cnf replaced by confirmation_json().
std::string jwt_claims_json(boost::json::object payload, const std::optional<confirmation>& cnf);

}  // namespace acemq::token::detail
