# Tests for acemq_token (scopes, claims and verify(), PoP and AuthData) and the `acemq token` CLI.
acemq_add_test(acemq_token_scope_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/scope/aif_test.cpp
  LIBS acemq::token)
# The allocation-free check needs its own binary: it replaces the global operator new.
acemq_add_test(acemq_token_scope_allocation_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/scope/aif_allocation_test.cpp
  LIBS acemq::token)
# Optimised builds inline gtest's delete of an object the replaced operator new allocated with
# malloc; g++ then reports a new/free mismatch that is not one (both are the replacements here).
target_compile_options(acemq_token_scope_allocation_tests PRIVATE -Wno-mismatched-new-delete)
acemq_add_test(acemq_token_pop_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pop/auth_data_test.cpp ${CMAKE_CURRENT_SOURCE_DIR}/pop/proof_test.cpp
  LIBS acemq::token)
acemq_add_test(acemq_token_verify_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/core/verify_test.cpp
  LIBS acemq::token)

# The `acemq token` CLI: keygen -> sign -> verify round trips, and a refused token exits
# non-zero with the reason (tests/token/core/cli_round_trip.cmake drives the binary).
if(TARGET acemq)
  foreach(format jwt cwt)
    add_test(NAME acemq_token_cli_${format}
      COMMAND ${CMAKE_COMMAND} -DACEMQ=$<TARGET_FILE:acemq> -DFORMAT=${format}
        -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/cli_${format}
        -P ${CMAKE_CURRENT_SOURCE_DIR}/core/cli_round_trip.cmake)
    set_tests_properties(acemq_token_cli_${format} PROPERTIES LABELS "cli")
  endforeach()
endif()
