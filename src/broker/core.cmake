# acemq_broker: sessions, routing, the per-connection MQTT protocol machine and the
# authentication provider interfaces (namespace acemq::broker). The engine (`broker`) is split by
# role across broker*.cpp, sharing broker_internal.hpp. The protocol machine (`connection`)
# is one class split by packet: connection_*.cpp for framing, delivery and timers, handle_*.cpp
# for each packet, sharing connection_internal.hpp.
acemq_library(broker
  SOURCES acemq/broker/auth_provider.cpp
          acemq/broker/session.cpp
          acemq/broker/message_home.cpp
          acemq/broker/session_flow.cpp
          acemq/broker/broker.cpp
          acemq/broker/broker_sessions.cpp
          acemq/broker/broker_routing.cpp
          acemq/broker/broker_tick.cpp
          acemq/broker/broker_restore.cpp
          acemq/broker/connection.cpp
          acemq/broker/connection_framer.cpp
          acemq/broker/handle_connect.cpp
          acemq/broker/handle_auth.cpp
          acemq/broker/handle_publish.cpp
          acemq/broker/handle_acks.cpp
          acemq/broker/handle_subscribe.cpp
          acemq/broker/handle_disconnect.cpp
          acemq/broker/connection_delivery.cpp
          acemq/broker/connection_timers.cpp
  PUBLIC acemq::mqtt acemq::broker_topics acemq::common)
