# tests for acemq_broker_topics
acemq_add_test(acemq_broker_topics_tests
  SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/topics/topic_limits_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/topics/subscription_tree_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/topics/retained_store_test.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/topics/property_test.cpp
  LIBS acemq::broker_topics
  LABELS broker)
# Separate binary: it replaces the global allocation functions to prove match() does not allocate.
acemq_add_test(acemq_broker_topics_allocation_tests
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/topics/match_allocation_test.cpp
  LIBS acemq::broker_topics
  LABELS broker)
# Optimised builds inline gtest's delete of an object the replaced operator new allocated with
# malloc; g++ then reports a new/free mismatch that is not one (both are the replacements here).
target_compile_options(acemq_broker_topics_allocation_tests PRIVATE -Wno-mismatched-new-delete)
