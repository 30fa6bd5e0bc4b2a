# Differential fuzzing of the subscription trie and retained store against acemq::topic::matches.
acemq_add_fuzzer(fuzz_broker_topics_match
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/broker_topics_match.cpp
  LIBS acemq::broker_topics)
