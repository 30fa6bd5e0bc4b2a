# Fuzz target for acemq_ace: the provider's handling of untrusted bytes (CONNECT/AUTH
# Authentication Data, the 3.1.1 username, re-authentication, authz-info payloads, TLS-PSK
# identities and AS revocation pages). Seed corpus: fuzz/corpus/ace_provider/.
if(TARGET acemq_ace)
  acemq_add_fuzzer(ace_provider
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ace_provider.cpp LIBS acemq::ace)
endif()
