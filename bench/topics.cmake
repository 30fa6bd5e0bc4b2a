# Benchmark of acemq_broker_topics: trie matching and retained lookups against a linear scan peer.
if(NOT TARGET benchmark::benchmark)
  find_package(benchmark REQUIRED)
endif()
add_executable(acemq_topics_bench ${CMAKE_CURRENT_SOURCE_DIR}/topics_bench.cpp)
target_link_libraries(acemq_topics_bench PRIVATE acemq::broker_topics benchmark::benchmark)
acemq_target_defaults(acemq_topics_bench)
