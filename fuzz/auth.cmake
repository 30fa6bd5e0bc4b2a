# Fuzz targets for acemq_auth's parsers of untrusted text: the ACL file (with every check a
# principal makes), the password file (with PHC parameter parsing), and device JWT verification
# (claim checks and policies over an in-memory registry). Seed corpora: fuzz/corpus/<target>/.
acemq_add_fuzzer(auth_acl SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/auth_acl.cpp LIBS acemq::auth)
acemq_add_fuzzer(auth_password_file
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/auth_password_file.cpp LIBS acemq::auth)
acemq_add_fuzzer(auth_device_jwt
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/auth_device_jwt.cpp LIBS acemq::auth)
