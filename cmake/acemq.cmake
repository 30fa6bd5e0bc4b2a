# Project-wide compiler settings, applied to every acemq target through acemq_target_defaults().

set(ACEMQ_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)

if(ACEMQ_SANITIZE)
  add_compile_options(-fsanitize=${ACEMQ_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${ACEMQ_SANITIZE})
  if(ACEMQ_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()

if(ACEMQ_FUZZ)
  # libFuzzer instrumentation for every library so coverage reaches the decoders.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Boost.Asio: no deprecated interfaces; Boost.JSON/URL used as compiled libraries.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_ALLOW_DEPRECATED_HEADERS)

function(acemq_target_defaults target)
  target_compile_options(${target} PRIVATE ${ACEMQ_WARNINGS})
  if(ACEMQ_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# acemq_library(name SOURCES ... [PUBLIC ...] [PRIVATE ...]): one module's library, acemq_<name>
# with the alias acemq::<name>, its headers found from the calling folder (`#include
# "acemq/<module>/..."`), the dependencies it passes on (PUBLIC) and keeps (PRIVATE), and the
# project's warnings. Sources are relative to the calling folder.
function(acemq_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(acemq_${name} ${ARG_SOURCES})
  add_library(acemq::${name} ALIAS acemq_${name})
  target_include_directories(acemq_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(acemq_${name} PUBLIC ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
  acemq_target_defaults(acemq_${name})
endfunction()

# acemq_add_test(name SOURCES ... LIBS ...): one GoogleTest executable registered with CTest.
function(acemq_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  acemq_target_defaults(${name})
  # A suite's files are compiled together, up to 16 in one unit: each file alone spends most of its
  # time instantiating and sanitizer-instrumenting the same GoogleTest, Boost and project templates
  # (broker_core_test: 169 s of compile time as 16 units, 41 s as one, in the dev build).
  set_target_properties(${name} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 16)
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  # Every test is labelled with its module folder under tests/ (tests/broker/... -> "broker") and
  # its name is prefixed with it, so `ctest -L broker` or `ctest -R '^broker\.'` select a module.
  # (LABELS is accepted for readability; gtest_discover_tests cannot carry a list of labels.)
  file(RELATIVE_PATH relative ${PROJECT_SOURCE_DIR}/tests ${CMAKE_CURRENT_SOURCE_DIR})
  string(REGEX REPLACE "/.*" "" module "${relative}")
  include(GoogleTest)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${module}."
                       PROPERTIES LABELS "${module}")
endfunction()
