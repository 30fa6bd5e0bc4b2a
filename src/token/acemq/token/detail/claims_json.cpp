#include "acemq/token/detail/claims_json.hpp"

#include <boost/json.hpp>

#include <array>
#include <string_view>
#include <utility>

#include "acemq/common/base64.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::token::detail {
namespace {

std::string_view key_type_name(crypto::key_type type) {
  switch (type) {
    case crypto::key_type::okp_ed25519:
      return "OKP";
    case crypto::key_type::ec_p256:
      return "EC";
    case crypto::key_type::rsa:
      return "RSA";
    case crypto::key_type::symmetric:
      return "oct";
  }
  return "unknown";
}

std::string_view form_name(cnf_form form) {
  switch (form) {
    case cnf_form::key:
      return "key";
    case cnf_form::encrypted_key:
      return "encrypted_key";
    case cnf_form::key_id:
      return "kid";
  }
  return "unknown";
}

// RFC 8392 4 and RFC 9200 5.10 claim keys, for readable output.
constexpr std::array<std::pair<std::int64_t, std::string_view>, 12> cwt_claim_names = {{
    {1, "iss"},
    {2, "sub"},
    {3, "aud"},
    {4, "exp"},
    {5, "nbf"},
    {6, "iat"},
    {7, "cti"},
    {8, "cnf"},
    {9, "scope"},
    {38, "ace_profile"},
    {39, "cnonce"},
    {40, "exi"},
}};

std::string claim_name(const cbor::value& key) {
  if (auto number = key.as_int64()) {
    for (const auto& [label, name] : cwt_claim_names) {
      if (label == *number) return std::string(name);
    }
    return std::to_string(*number);
  }
  if (key.is_text()) return key.text_content();
  return boost::json::serialize(cbor_to_json(key));
}

}  // namespace

boost::json::object confirmation_json(const confirmation& cnf) {
  boost::json::object out;
  out["form"] = form_name(cnf.form);
  if (cnf.key_id) out["kid"] = base64url_encode(*cnf.key_id);
  if (cnf.key) {
    out["kty"] = key_type_name(cnf.key->type());
    if (cnf.key->type() != crypto::key_type::symmetric) {
      if (auto public_key = cnf.key->public_key()) {
        if (auto jwk = jose::to_jwk(*public_key, jose::jwk_content::public_only)) {
          out["jwk"] = std::move(*jwk);
        }
      }
    } else {
      out["bits"] = cnf.key->bits();
    }
  }
  return out;
}

boost::json::value cbor_to_json(const cbor::value& item) {
  switch (item.kind()) {
    case cbor::kind::unsigned_integer:
      return boost::json::value(item.argument());
    case cbor::kind::negative_integer:
      if (auto number = item.as_int64()) return boost::json::value(*number);
      return boost::json::value("-1-" + std::to_string(item.argument()));
    case cbor::kind::byte_string:
      return boost::json::value(base64url_encode(item.byte_content()));
    case cbor::kind::text_string:
      return boost::json::value(item.text_content());
    case cbor::kind::array: {
      boost::json::array out;
      for (const auto& element : item.items())
        out.push_back(cbor_to_json(element));
      return out;
    }
    case cbor::kind::map: {
      boost::json::object out;
      for (const auto& entry : item.entries()) {
        const std::string name = entry.key.is_text() ? entry.key.text_content()
                                 : entry.key.as_int64()
                                     ? std::to_string(*entry.key.as_int64())
                                     : boost::json::serialize(cbor_to_json(entry.key));
        out[name] = cbor_to_json(entry.item);
      }
      return out;
    }
    case cbor::kind::tag: {
      boost::json::object out;
      out["tag"] = item.tag_number();
      out["value"] = cbor_to_json(item.tagged());
      return out;
    }
    case cbor::kind::simple:
      if (auto flag = item.as_bool()) return boost::json::value(*flag);
      if (item.is_null()) return boost::json::value(nullptr);
      return boost::json::value("simple(" + std::to_string(item.argument()) + ")");
    case cbor::kind::floating:
      if (auto number = item.as_double()) return boost::json::value(*number);
      return boost::json::value(nullptr);
  }
  return boost::json::value(nullptr);
}

std::string cwt_claims_json(const cbor::value& claims_map, const std::optional<confirmation>& cnf) {
  boost::json::object out;
  for (const auto& entry : claims_map.entries()) {
    const std::string name = claim_name(entry.key);
    if (name == "cnf") continue;  // described below, without secrets
    out[name] = cbor_to_json(entry.item);
  }
  if (cnf) out["cnf"] = confirmation_json(*cnf);
  return boost::json::serialize(out);
}

std::string jwt_claims_json(boost::json::object payload, const std::optional<confirmation>& cnf) {
  payload.erase("cnf");
  if (cnf) payload["cnf"] = confirmation_json(*cnf);
  return boost::json::serialize(payload);
}

}  // namespace acemq::token::detail
