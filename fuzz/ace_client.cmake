# Fuzz targets for acemq_ace_client_core (the sans-I/O part of acemq_ace_client), the decoders of
# bytes the client did not write: the AS's /token and /revoke answers, the broker's `ace_as_hint` (RFC 9431 2.4.1) and credentials files.
# Seed corpora: fuzz/corpus/ace_client_token_response/, ace_client_as_hint/, ace_client_credentials/.
if(TARGET acemq_ace_client_core)
  acemq_add_fuzzer(ace_client_token_response
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ace_client_token_response.cpp LIBS acemq::ace_client_core)
  acemq_add_fuzzer(ace_client_as_hint
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ace_client_as_hint.cpp LIBS acemq::ace_client_core)
  acemq_add_fuzzer(ace_client_credentials
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ace_client_credentials.cpp LIBS acemq::ace_client_core)
endif()
