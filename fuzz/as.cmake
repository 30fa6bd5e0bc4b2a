# acemq-as: the request body parsers (form, JSON, CBOR) and the Basic credentials parser.
acemq_add_fuzzer(fuzz_as_request SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/as_request.cpp LIBS acemq::as)
