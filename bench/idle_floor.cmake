# The memory floor of an idle MQTT connection on Asio (acemq-broker's engine) and on a plain epoll
# loop: bench/compare sets it beside both brokers' bytes per idle connection.
add_executable(acemq-idle-floor ${CMAKE_CURRENT_SOURCE_DIR}/idle_floor.cpp)
target_link_libraries(acemq-idle-floor PRIVATE acemq::app CLI11::CLI11 fmt::fmt)
acemq_target_defaults(acemq-idle-floor)

if(ACEMQ_BUILD_TESTS AND TARGET acemq-bench)
  find_program(ACEMQ_FLOOR_MOSQUITTO_PUB mosquitto_pub)
  if(ACEMQ_FLOOR_MOSQUITTO_PUB)
    add_test(NAME bench.idle_floor
      COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/idle_floor_test.py
              --floor $<TARGET_FILE:acemq-idle-floor> --bench $<TARGET_FILE:acemq-bench>
              --mosquitto-pub ${ACEMQ_FLOOR_MOSQUITTO_PUB})
    set_tests_properties(bench.idle_floor PROPERTIES LABELS bench TIMEOUT 120)
  endif()
endif()
