# Fuzz targets for acemq_auth's parsers of untrusted text: the ACL file (with every check a
# principal makes), the password file (with PHC parameter parsing), and device JWT verification
# (claim checks and policies over an in-memory registry). Targets are named fuzz_* so
# scripts/fuzz-smoke runs them; seed corpora: fuzz/corpus/auth_*/.
acemq_add_fuzzer(fuzz_auth_acl SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/auth_acl.cpp LIBS acemq::auth)
acemq_add_fuzzer(fuzz_auth_password_file
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/auth_password_file.cpp LIBS acemq::auth)
acemq_add_fuzzer(fuzz_auth_device_jwt
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/auth_device_jwt.cpp LIBS acemq::auth)
