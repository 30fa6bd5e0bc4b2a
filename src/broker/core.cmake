# acemq_broker: sessions, routing, the per-connection MQTT protocol machine and the
# authentication provider interfaces (namespace acemq::broker). The engine (`broker`) is split by
# role across broker*.cpp, sharing broker_internal.hpp. The protocol machine (`connection`)
# is one class split by packet: connection_*.cpp for framing, delivery and timers, handle_*.cpp
# for each packet, sharing connection_internal.hpp.
add_library(acemq_broker
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/auth.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/session.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/broker.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/broker_sessions.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/broker_routing.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/broker_tick.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/broker_restore.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/connection.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/connection_framer.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/handle_connect.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/handle_auth.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/handle_publish.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/handle_acks.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/handle_subscribe.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/handle_disconnect.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/connection_delivery.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/connection_timers.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/acemq/broker/reply_reason_codes.cpp)
add_library(acemq::broker ALIAS acemq_broker)
target_include_directories(acemq_broker PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(acemq_broker PUBLIC acemq::mqtt acemq::broker_topics acemq::common)
acemq_target_defaults(acemq_broker)
