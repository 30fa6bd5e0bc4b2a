#pragma once
// AS discovery (RFC 9431 2.4.1): the `ace_as_hint` User Property of a refusing CONNACK, with
// RFC 9200 5.3 "AS Request Creation Hints", and the bounded set of cnonces the broker issued
// (RFC 9200 5.3.1) that must come back inside tokens.

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "acemq/ace/ace_settings.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"

namespace acemq::ace {

/// RFC 9431 2.4.1: the name of the User Property.
inline constexpr std::string_view as_hint_property = "ace_as_hint";
/// Bytes of randomness in a cnonce.
inline constexpr std::size_t cnonce_size = 16;

/// Issued, not yet used cnonces. Bounded (the oldest is dropped when full) and expiring.
/// Thread-safe.
class cnonce_registry {
 public:
  cnonce_registry(std::size_t capacity, std::chrono::seconds lifetime, const clock& time,
                  random_source& random);
  /// A fresh cnonce from the CSPRNG, remembered until it is used or expires.
  byte_vector issue();
  /// True (and forgets it: single use) when `cnonce` was issued and has not expired.
  bool consume(byte_view cnonce);
  std::size_t size() const;

 private:
  void purge_locked(clock::time_point now);

  const std::size_t capacity_;
  const std::chrono::seconds lifetime_;
  const clock& clock_;
  random_source& random_;
  mutable std::mutex mutex_;
  std::deque<std::pair<std::string, clock::time_point>> order_;  // oldest first
  std::unordered_map<std::string, clock::time_point> live_;
};

/// The JSON value of `ace_as_hint`: {"AS": ..., "audience": ..., "scope"?: ..., "cnonce"?: ...}
/// with cnonce base64url (RFC 9200 5.3: a byte string, base64url in JSON).
std::string build_as_hint(const discovery_settings& settings, std::string_view broker_audience,
                          const std::optional<byte_vector>& cnonce);

}  // namespace acemq::ace
