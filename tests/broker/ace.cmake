# broker core + ACE provider in one process, in virtual time; reuses the ACE test fixture.
acemq_add_test(broker_ace_flow_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/ace/authz_info_flow_test.cpp
  LIBS acemq::ace acemq::broker
  LABELS broker)
target_include_directories(broker_ace_flow_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/ace)
