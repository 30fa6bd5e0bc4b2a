# Token library benchmarks: JWS and COSE sign/verify per algorithm, AIF checks, the full verify()
# path, and the raw primitives that bench/token-vs-openssl compares with `openssl speed`.
add_executable(token_bench ${CMAKE_CURRENT_SOURCE_DIR}/token_bench.cpp)
target_link_libraries(token_bench PRIVATE acemq::token benchmark::benchmark)
acemq_target_defaults(token_bench)
