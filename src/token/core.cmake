# acemq_token: AIF-MQTT scopes, claims, verify(), proof of possession and AuthData layouts.
# Builds on acemq_token_crypto (keys, JOSE) and acemq_token_cose (CBOR, COSE, CWT).
acemq_library(token
  SOURCES acemq/token/scope/aif.cpp
          acemq/token/pop/auth_data.cpp
          acemq/token/pop/proof.cpp
          acemq/token/verify.cpp
          acemq/token/detail/claims_json.cpp
          acemq/token/detail/jwt_verify.cpp
  PUBLIC acemq::token_cose acemq::token_crypto acemq::common Boost::json)
