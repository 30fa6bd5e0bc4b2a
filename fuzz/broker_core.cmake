# Arbitrary bytes into the broker's connection protocol machine (both MQTT versions).
acemq_add_fuzzer(fuzz_broker_core_connection
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/broker_core_connection.cpp
  LIBS acemq::broker)
