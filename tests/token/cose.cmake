# Tests for acemq_token_cose: CBOR, COSE, COSE_Key, CWT, and interop with node's cbor + crypto.
acemq_add_test(acemq_token_cbor_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cbor/codec_test.cpp
  LIBS acemq::token_cose)
