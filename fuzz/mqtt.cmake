# MQTT codec fuzz target: framing, CONNECT and every packet type in both versions, with an
# encode/decode round trip of whatever decodes. Seed corpus: fuzz/corpus/mqtt_decode/.
acemq_add_fuzzer(fuzz_mqtt_decode SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/mqtt_decode.cpp LIBS acemq::mqtt)
