# acemq_token_crypto: OpenSSL primitives and keys (crypto/) and JOSE (jose/): the lowest token
# library, also home of the shared failure names.
acemq_library(token_crypto
  SOURCES acemq/token/failure.cpp
          acemq/token/crypto/algorithm.cpp
          acemq/token/crypto/key.cpp
          acemq/token/crypto/context_cache.cpp
          acemq/token/crypto/sign.cpp
          acemq/token/crypto/aead.cpp
          acemq/token/jose/json.cpp
          acemq/token/jose/jwk.cpp
          acemq/token/jose/jws.cpp
          acemq/token/jose/jwe.cpp
          acemq/token/jose/jwt.cpp
  PUBLIC acemq::common OpenSSL::Crypto Boost::json)
