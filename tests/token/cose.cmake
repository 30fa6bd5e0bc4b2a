# Tests for acemq_token_cose: CBOR, COSE, COSE_Key, CWT, and interop with node's cbor + crypto.
acemq_add_test(acemq_token_cbor_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cbor/codec_test.cpp
  LIBS acemq::token_cose)
acemq_add_test(acemq_token_cose_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/cose/cose_message_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/cose/cose_key_test.cpp
          ${CMAKE_CURRENT_SOURCE_DIR}/cose/cwt_test.cpp
  LIBS acemq::token_cose)
target_include_directories(acemq_token_cose_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cose)

# Interop with an independent implementation: node's npm `cbor` and crypto (see the script).
add_executable(cose_interop_tool ${CMAKE_CURRENT_SOURCE_DIR}/cose/interop_tool.cpp)
acemq_target_defaults(cose_interop_tool)
target_link_libraries(cose_interop_tool PRIVATE acemq::token_cose)
find_program(ACEMQ_NODE node)
if(ACEMQ_NODE)
  add_test(NAME token_cose_interop_node
    COMMAND ${ACEMQ_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/interop/cose_interop.mjs
            $<TARGET_FILE:cose_interop_tool>
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/node)
  set_tests_properties(token_cose_interop_node PROPERTIES LABELS "interop" TIMEOUT 60)
endif()
