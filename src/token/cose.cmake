# acemq_token_cose: the CBOR wrapper (libcbor), COSE (RFC 9052/9053), COSE_Key and CWT (RFC 8392).
# Pure: bytes in, values out; keys and primitives come from acemq_token_crypto.
acemq_library(token_cose
  SOURCES acemq/token/cbor/value.cpp
          acemq/token/cbor/codec.cpp
          acemq/token/cose/cose_message.cpp
          acemq/token/cose/cose_key.cpp
          acemq/token/cose/cwt.cpp
  PUBLIC acemq::token_crypto PkgConfig::CBOR acemq::common)
