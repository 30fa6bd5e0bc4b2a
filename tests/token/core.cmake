# Tests for acemq_token (scopes, claims and verify(), PoP and AuthData) and the `acemq token` CLI.
acemq_add_test(acemq_token_scope_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/scope/aif_test.cpp
  LIBS acemq::token)
# The allocation-free check needs its own binary: it replaces the global operator new.
acemq_add_test(acemq_token_scope_allocation_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/scope/aif_allocation_test.cpp
  LIBS acemq::token)
acemq_add_test(acemq_token_pop_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pop/auth_data_test.cpp ${CMAKE_CURRENT_SOURCE_DIR}/pop/proof_test.cpp
  LIBS acemq::token)
