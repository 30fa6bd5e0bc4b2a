# acemq-bench: the MQTT benchmark program (any broker; ACE connections against acemq), its
# histogram test and a smoke test that runs it against a mosquitto started by the test (asserting
# only that messages flowed and connections succeeded, never a speed).
if(NOT TARGET acemq::client OR NOT TARGET acemq::ace_client)
  return()
endif()
set(acemq_bench_dir ${CMAKE_CURRENT_SOURCE_DIR}/acemq-bench)
add_executable(acemq-bench
  ${acemq_bench_dir}/main.cpp
  ${acemq_bench_dir}/ace_tokens.cpp
  ${acemq_bench_dir}/histogram.cpp
  ${acemq_bench_dir}/report.cpp
  ${acemq_bench_dir}/scenarios.cpp)
target_link_libraries(acemq-bench PRIVATE acemq::client acemq::ace_client Boost::headers CLI11::CLI11 Threads::Threads)
acemq_target_defaults(acemq-bench)

if(ACEMQ_BUILD_TESTS)
  # Not acemq_add_test: that labels by the folder under tests/, and this lives under bench/.
  add_executable(acemq_bench_histogram_test
    ${acemq_bench_dir}/histogram_test.cpp ${acemq_bench_dir}/histogram.cpp)
  acemq_target_defaults(acemq_bench_histogram_test)
  target_link_libraries(acemq_bench_histogram_test PRIVATE GTest::gtest GTest::gtest_main)
  include(GoogleTest)
  gtest_discover_tests(acemq_bench_histogram_test DISCOVERY_TIMEOUT 60 TEST_PREFIX "bench."
                       PROPERTIES LABELS bench)
  find_program(ACEMQ_BENCH_MOSQUITTO mosquitto PATHS /usr/sbin /usr/local/sbin)
  if(ACEMQ_BENCH_MOSQUITTO)
    add_test(NAME bench.acemq_bench_smoke
      COMMAND /usr/bin/python3 ${acemq_bench_dir}/smoke_test.py
              --bench $<TARGET_FILE:acemq-bench> --mosquitto ${ACEMQ_BENCH_MOSQUITTO}
              --compare ${CMAKE_CURRENT_SOURCE_DIR}/compare)
    set_tests_properties(bench.acemq_bench_smoke PROPERTIES LABELS bench TIMEOUT 120)
  endif()
endif()
