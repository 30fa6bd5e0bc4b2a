#pragma once
// The device registry for device-signed JWTs: a SQLite database (WAL journal, schema version
// table, through the project's one SQLite layer acemq::sqlite, ADR 0006) holding each device's
// identifier, up to three public keys (so a key can be rotated without a gap), its replay policy,
// the last `ctr` seen per key and the `jti` values already used. Thread-safe: one connection behind
// a mutex.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/common/result.hpp"
#include "acemq/token/crypto/key.hpp"

namespace acemq::sqlite {
class database;
}  // namespace acemq::sqlite

namespace acemq::auth {

/// The "back to the future" defence a device's JWTs must satisfy (seed 004, section 6).
enum class replay_policy : std::uint8_t {
  legacy = 0x00,   ///< lifetime and clock skew only (residual risk documented)
  jti = 0x01,      ///< each `jti` usable once within its lifetime
  counter = 0x02,  ///< `ctr` must exceed the last value seen for the signing key
  nonce = 0x03,    ///< broker nonce (MQTT 5 AUTH) or TLS exporter binding (default)
};

std::string_view to_string(replay_policy policy) noexcept;
std::optional<replay_policy> parse_replay_policy(std::string_view text) noexcept;

/// One registered public key. `key_id` is its RFC 7638 thumbprint (base64url).
struct device_key {
  std::string key_id;
  token::crypto::key key;
  std::optional<std::int64_t> last_counter;
  std::int64_t added_at = 0;
};

struct device_record {
  std::string id;
  replay_policy policy = replay_policy::nonce;
  std::vector<device_key> keys;
  std::int64_t created_at = 0;
};

struct registry_limits {
  std::size_t max_keys_per_device = 3;
  std::size_t max_devices = 1'000'000;
  /// Unexpired `jti` values kept in total, and per device. When a bound is reached (after
  /// expired entries are purged) new tokens of the policy `jti` are refused (fail closed),
  /// never accepted without a replay check.
  std::size_t max_jti_entries = 1'000'000;
  std::size_t max_jti_per_device = 10'000;
};

struct registry_error {
  enum class kind : std::uint8_t {
    not_found = 0x01,
    already_exists = 0x02,
    too_many = 0x03,  ///< keys per device or devices
    bad_key = 0x04,
    bad_device_id = 0x05,
    storage = 0x06,
  };
  kind what = kind::storage;
  std::string message;
};

/// Outcome of recording a jti.
enum class jti_outcome : std::uint8_t {
  recorded = 0x00,  ///< first use
  replayed = 0x01,  ///< seen before and not yet expired
  full = 0x02,      ///< the store is at its bound
};

/// Whether `id` can be a device identifier: 1..256 bytes of UTF-8 without control characters.
bool valid_device_id(std::string_view id) noexcept;

/// Reads a public key given as a JWK (JSON object) or PEM (SubjectPublicKeyInfo); Ed25519, P-256
/// and RSA only, bound to EdDSA, ES256 or RS256 so the key decides the algorithm.
result<token::crypto::key, registry_error> parse_device_key(std::string_view text);

class device_registry {
 public:
  /// Opens (creating and migrating when needed) the database at `path` (":memory:" for tests).
  /// A file that is not a database, a database of another program (tables but no
  /// schema_version table) or one written by a newer acemq is refused and left untouched.
  static result<std::unique_ptr<device_registry>, registry_error> open(const std::string& path,
                                                                       registry_limits limits = {});
  ~device_registry();
  device_registry(const device_registry&) = delete;
  device_registry& operator=(const device_registry&) = delete;

  /// The schema version this code writes.
  static constexpr int schema_version = 1;

  result<void, registry_error> add_device(std::string_view id, replay_policy policy,
                                          std::int64_t now_unix);
  result<void, registry_error> remove_device(std::string_view id);
  result<void, registry_error> set_policy(std::string_view id, replay_policy policy);
  /// Adds a public key (JWK or PEM text); returns its key id (thumbprint).
  result<std::string, registry_error> add_key(std::string_view id, std::string_view key_text,
                                              std::int64_t now_unix);
  result<void, registry_error> remove_key(std::string_view id, std::string_view key_id);
  result<std::optional<device_record>, registry_error> find(std::string_view id) const;
  result<std::vector<device_record>, registry_error> list() const;

  /// Records a `jti` of `device` valid until `expires_at` (a JWT's exp plus the clock skew).
  result<jti_outcome, registry_error> record_jti(std::string_view device, std::string_view jti,
                                                 std::int64_t expires_at, std::int64_t now_unix);
  /// Stores `counter` for the key if it exceeds the last value seen; false when it does not.
  result<bool, registry_error> advance_counter(std::string_view device, std::string_view key_id,
                                               std::int64_t counter);
  /// Deletes jti entries that expired before `now_unix`; returns how many.
  result<std::size_t, registry_error> purge_expired(std::int64_t now_unix);

 private:
  device_registry(std::unique_ptr<sqlite::database> db, registry_limits limits);
  result<void, registry_error> migrate(const std::string& path);
  result<std::optional<device_record>, registry_error> find_locked(std::string_view id) const;

  std::unique_ptr<sqlite::database> db_;
  registry_limits limits_;
  mutable std::mutex mutex_;
};

}  // namespace acemq::auth
