# acemq_broker: sessions, routing, the per-connection MQTT protocol machine and the
# authentication provider interfaces (namespace acemq::broker).
add_library(acemq_broker
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/auth.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/session.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/broker.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/connection.cpp)
add_library(acemq::broker ALIAS acemq_broker)
target_include_directories(acemq_broker PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(acemq_broker PUBLIC acemq::mqtt acemq::broker_topics acemq::common)
acemq_target_defaults(acemq_broker)
