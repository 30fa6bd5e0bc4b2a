#pragma once
// The password file: one `user:<PHC string>` line per user, where the PHC string is an argon2id
// hash such as `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` (libargon2's encoding). Lines
// starting with '#' and blank lines are ignored. The file is written with mode 0600 and replaced
// atomically (write to a temporary file, then rename).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"

namespace acemq::auth {

/// argon2id cost parameters for new hashes. The defaults are OWASP's minimum recommendation for
/// argon2id (19 MiB, 2 passes, 1 lane): about 20-40 ms per check on a server core, small enough
/// that a burst of CONNECTs does not exhaust memory.
struct argon2_parameters {
  std::uint32_t time_cost = 2;
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t parallelism = 1;
  std::size_t salt_size = 16;
  std::size_t hash_size = 32;
};

/// Upper bounds on the parameters of a stored hash: a hash asking for more is refused rather than
/// verified, so a tampered file cannot make each CONNECT allocate gigabytes.
struct argon2_bounds {
  std::uint32_t max_time_cost = 16;
  std::uint32_t max_memory_kib = 256 * 1024;
  std::uint32_t max_parallelism = 8;
};

/// Bounds on the password file itself.
struct password_file_limits {
  std::size_t max_size = 16 * 1024 * 1024;
  std::size_t max_users = 100'000;
  std::size_t max_line = 1024;
};

struct password_error {
  std::size_t line = 0;  ///< 0 when not tied to a line
  std::string message;
};

/// Whether `user` can be stored: 1..256 bytes of UTF-8 without ':' or control characters.
bool valid_user_name(std::string_view user) noexcept;

/// Hashes a password with argon2id and a fresh salt from `random`; returns the PHC string.
result<std::string, password_error> hash_password(std::string_view password, random_source& random,
                                                  const argon2_parameters& parameters = {});

enum class password_check : std::uint8_t {
  match = 0x00,
  mismatch = 0x01,
  bad_hash = 0x02,  ///< not an argon2id PHC string, or parameters above the bounds
};

/// Checks `password` against a stored PHC string with argon2's own verification (which compares
/// in constant time).
password_check verify_password(std::string_view encoded, std::string_view password,
                               const argon2_bounds& bounds = {});

/// The parameters of a stored argon2id PHC string, when it is one.
std::optional<argon2_parameters> parse_phc_parameters(std::string_view encoded);

/// An in-memory password file.
class password_file {
 public:
  static result<password_file, password_error> parse(std::string_view text,
                                                     const password_file_limits& bounds = {});
  /// Reads a file; a missing file is an error.
  static result<password_file, password_error> load(const std::string& path,
                                                    const password_file_limits& bounds = {});

  /// The PHC string of `user`, or nullptr.
  const std::string* find(std::string_view user) const;
  /// Adds or replaces a user.
  result<void, password_error> set(std::string_view user, std::string encoded);
  /// Removes a user; false when absent.
  bool remove(std::string_view user);

  /// User name -> PHC string, in user name order.
  const std::map<std::string, std::string, std::less<>>& entries() const noexcept {
    return entries_;
  }
  std::string serialize() const;
  /// Writes the file atomically with mode 0600.
  result<void, password_error> save(const std::string& path) const;

 private:
  std::map<std::string, std::string, std::less<>> entries_;
  password_file_limits bounds_;
};

}  // namespace acemq::auth
