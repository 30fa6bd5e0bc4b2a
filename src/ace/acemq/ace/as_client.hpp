#pragma once
// The broker's view of the authorization server (RFC 9200 5.9, RFC 9431 2.2.5): three HTTPS
// calls, asynchronous so that no connection thread ever waits for the network (conventions 5).
// The provider's logic is written against this interface; https_as_client implements it over
// Boost.Beast and tests use an in-memory fake.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"

namespace acemq::ace {

/// Why a call to the AS produced no usable body.
enum class as_error : std::uint8_t {
  unreachable = 0x01,  // connect, TLS or I/O failure
  timeout = 0x02,      // no complete answer within the configured time
  http_status = 0x03,  // a status other than 200
  too_large = 0x04,    // the body exceeded the bound
};

class as_client {
 public:
  /// Called exactly once per call, from any thread, with the response body (JSON).
  using completion = std::function<void(result<std::string, as_error>)>;
  virtual ~as_client() = default;
  /// GET the AS JWK Set (its /jwks).
  virtual void fetch_jwks(completion done) = 0;
  /// POST /introspect (RFC 7662, RFC 9200 5.9) for `token`, authenticated as this broker.
  virtual void introspect(byte_view token, completion done) = 0;
  /// GET /trl?cursor=N: the revocations after `cursor` for this broker's audience.
  virtual void fetch_revocations(std::int64_t cursor, completion done) = 0;
};

}  // namespace acemq::ace
