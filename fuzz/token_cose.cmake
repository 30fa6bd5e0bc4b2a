# Fuzz targets for acemq_token_cose: the CBOR decoder (with an encode/decode round-trip check) and
# COSE/CWT parsing plus verification with fixed keys. Seed corpora: fuzz/corpus/<target>/.
acemq_add_fuzzer(token_cbor_decode
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_cose_cbor_decode.cpp LIBS acemq::token_cose)
acemq_add_fuzzer(token_cose_verify
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_cose_verify.cpp LIBS acemq::token_cose)
