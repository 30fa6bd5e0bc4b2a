# acemq-as: tokens issued and introspections per second over keep-alive HTTPS, against the same
# requests each on a fresh TLS connection (the peer run printed alongside).
add_executable(as_bench ${CMAKE_CURRENT_SOURCE_DIR}/as_bench.cpp)
target_link_libraries(as_bench PRIVATE acemq::as acemq::as_server OpenSSL::SSL Threads::Threads)
acemq_target_defaults(as_bench)
