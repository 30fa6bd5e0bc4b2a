# acemq_token_crypto: OpenSSL primitives and keys (crypto/) and JOSE (jose/): the lowest token
# library, also home of the shared failure names.
add_library(acemq_token_crypto
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/failure.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/crypto/algorithm.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/crypto/key.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/crypto/context_cache.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/crypto/sign.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/crypto/aead.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/jose/json.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/jose/jwk.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/jose/jws.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/jose/jwe.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/jose/jwt.cpp)
add_library(acemq::token_crypto ALIAS acemq_token_crypto)
target_include_directories(acemq_token_crypto PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(acemq_token_crypto PUBLIC acemq::common OpenSSL::Crypto Boost::json)
acemq_target_defaults(acemq_token_crypto)
