# TLS 1.3 handshake CPU time per side (full and resumed), in memory: the real per-connection
# limit that bench/compare sets beside the public-key limit from `openssl speed`.
add_executable(tls_handshake_bench ${CMAKE_CURRENT_SOURCE_DIR}/tls_handshake_bench.cpp)
target_link_libraries(tls_handshake_bench PRIVATE acemq::net OpenSSL::SSL CLI11::CLI11 fmt::fmt)
acemq_target_defaults(tls_handshake_bench)
