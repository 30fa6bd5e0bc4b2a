# Tests for acemq_token_crypto: primitives and keys (crypto/), JOSE (jose/), and interop with
# independent implementations (node jose, Python PyJWT).
acemq_add_test(acemq_token_crypto_tests
  SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/crypto/key_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/crypto/sign_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/crypto/aead_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/jose/jwk_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/jose/jws_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/jose/jwe_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/jose/jwt_test.cpp
  LIBS acemq::token_crypto)
