# acemq_token: AIF-MQTT scopes, claims, verify(), proof of possession and AuthData layouts.
# Builds on acemq_token_crypto (keys, JOSE) and acemq_token_cose (CBOR, COSE, CWT).
add_library(acemq_token
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/scope/aif.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/pop/auth_data.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/pop/proof.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/verify.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/detail/claims_json.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/detail/jwt_verify.cpp)
add_library(acemq::token ALIAS acemq_token)
target_include_directories(acemq_token PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(acemq_token PUBLIC acemq::token_cose acemq::token_crypto acemq::common
  Boost::json)
acemq_target_defaults(acemq_token)
