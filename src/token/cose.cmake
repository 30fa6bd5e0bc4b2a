# acemq_token_cose: the CBOR wrapper (libcbor), COSE (RFC 9052/9053), COSE_Key and CWT (RFC 8392).
# Pure: bytes in, values out; keys and primitives come from acemq_token_crypto.
add_library(acemq_token_cose
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/cbor/value.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/cbor/codec.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/cose/message.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/cose/key.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/token/cose/cwt.cpp)
add_library(acemq::token_cose ALIAS acemq_token_cose)
target_include_directories(acemq_token_cose PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(acemq_token_cose PUBLIC acemq::token_crypto PkgConfig::CBOR acemq::common)
acemq_target_defaults(acemq_token_cose)
