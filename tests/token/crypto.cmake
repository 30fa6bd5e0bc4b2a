# Tests for acemq_token_crypto: primitives and keys (crypto/), JOSE (jose/), and interop with
# independent implementations (node jose, Python PyJWT).
acemq_add_test(acemq_token_crypto_tests
  SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/crypto/key_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/crypto/sign_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/crypto/context_cache_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/crypto/aead_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/jose/jwk_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/jose/jws_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/jose/jwe_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/jose/jwt_test.cpp
  LIBS acemq::token_crypto)

# Command-line front end used by the interop scripts below.
add_executable(jose_tool ${CMAKE_CURRENT_SOURCE_DIR}/jose/jose_tool.cpp)
acemq_target_defaults(jose_tool)
target_link_libraries(jose_tool PRIVATE acemq::token_crypto)

# Interop, both directions: node "jose" (npm peers in tests/node; the script resolves them from
# its working directory) and Python PyJWT (the system interpreter's packages).
find_program(ACEMQ_NODE node)
if(ACEMQ_NODE)
  add_test(NAME token_jose_interop_node
           COMMAND ${ACEMQ_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/interop/jose_interop.mjs
                   $<TARGET_FILE:jose_tool>
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests/node)
  set_tests_properties(token_jose_interop_node PROPERTIES LABELS "interop" TIMEOUT 120)
endif()
# The first python3 on the PATH that has PyJWT and cryptography (override with -DACEMQ_PYJWT_PYTHON=).
if(NOT ACEMQ_PYJWT_PYTHON)
  execute_process(COMMAND which -a python3 OUTPUT_VARIABLE python_candidates
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  string(REPLACE "\n" ";" python_candidates "${python_candidates}")
  foreach(candidate ${python_candidates})
    execute_process(COMMAND ${candidate} -c "import jwt, cryptography"
                    RESULT_VARIABLE has_pyjwt OUTPUT_QUIET ERROR_QUIET)
    if(has_pyjwt EQUAL 0)
      set(ACEMQ_PYJWT_PYTHON ${candidate} CACHE FILEPATH "python3 with PyJWT for interop tests")
      break()
    endif()
  endforeach()
endif()
if(ACEMQ_PYJWT_PYTHON)
  add_test(NAME token_jose_interop_python
           COMMAND ${ACEMQ_PYJWT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/interop/jose_interop.py
                   $<TARGET_FILE:jose_tool>)
  set_tests_properties(token_jose_interop_python PROPERTIES LABELS "interop" TIMEOUT 120)
endif()
