# tests for acemq_broker: the protocol machine and engine driven in virtual time with a fake
# transport (no sockets, no sleeps).
acemq_add_test(broker_core_test
  SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/core/connect_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/publish_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/session_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/session_flow_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/subscribe_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/auth_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/engine_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/threaded_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/malformed_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/hooks_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/sys_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/flow_control_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/memory_bounds_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/completion_relay_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/memory_budget_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/message_home_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/core/route_batch_test.cpp
  LIBS acemq::broker
  LABELS broker)

# Persistence through the engine with the SQLite store (acemq_persist): restore after a restart.
acemq_add_test(broker_persistence_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/core/persistence_test.cpp
  LIBS acemq::broker acemq::persist
  LABELS broker)
