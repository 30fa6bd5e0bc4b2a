# Fuzz targets for acemq_token: AIF-MQTT scopes (JSON and CBOR), the RFC 9431 AuthData layouts and
# the whole verify() path on arbitrary bytes. Seed corpora: fuzz/corpus/<target>/.
acemq_add_fuzzer(token_core_aif_json
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_core_aif_json.cpp LIBS acemq::token)
acemq_add_fuzzer(token_core_aif_cbor
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_core_aif_cbor.cpp LIBS acemq::token)
acemq_add_fuzzer(token_core_auth_data
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_core_auth_data.cpp LIBS acemq::token)
acemq_add_fuzzer(token_core_verify
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/token_core_verify.cpp LIBS acemq::token)
