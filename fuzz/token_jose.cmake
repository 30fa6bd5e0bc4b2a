# Fuzz targets for the JOSE part of acemq_token_crypto: JWS parse+verify (and JWT), JWE
# parse+decrypt, JWK / JWK Set parsing. Seed corpora: fuzz/corpus/<target>/.
acemq_add_fuzzer(token_jose_jws
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_jose_jws.cpp LIBS acemq::token_crypto)
acemq_add_fuzzer(token_jose_jwe
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_jose_jwe.cpp LIBS acemq::token_crypto)
acemq_add_fuzzer(token_jose_jwk
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_jose_jwk.cpp LIBS acemq::token_crypto)
