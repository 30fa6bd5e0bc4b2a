#include "acemq/as/secret_hash.hpp"

#include <argon2.h>

#include <array>
#include <stdexcept>

#include "acemq/common/base64.hpp"

namespace acemq::as {

std::string hash_secret(std::string_view secret, random_source& random,
                        const secret_hash_parameters& parameters) {
  if (secret.size() > max_secret_size) throw std::invalid_argument("secret too long");
  std::array<std::uint8_t, 16> salt{};
  random.fill(salt);
  constexpr std::size_t hash_size = 32;
  const std::size_t encoded_size =
      argon2_encodedlen(parameters.time_cost, parameters.memory_kib, parameters.parallelism,
                        salt.size(), hash_size, Argon2_id);
  std::string encoded(encoded_size, '\0');
  const int rc = argon2id_hash_encoded(
      parameters.time_cost, parameters.memory_kib, parameters.parallelism, secret.data(),
      secret.size(), salt.data(), salt.size(), hash_size, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) throw std::runtime_error(argon2_error_message(rc));
  encoded.resize(std::char_traits<char>::length(encoded.c_str()));
  return encoded;
}

bool verify_secret(std::string_view secret, const std::string& encoded_hash) noexcept {
  if (secret.size() > max_secret_size || encoded_hash.rfind("$argon2id$", 0) != 0) return false;
  // argon2 compares the recomputed tag in constant time.
  return argon2id_verify(encoded_hash.c_str(), secret.data(), secret.size()) == ARGON2_OK;
}

const std::string& dummy_secret_hash() {
  static const std::string hash =
      hash_secret(generate_secret(system_random::instance()), system_random::instance());
  return hash;
}

std::string generate_secret(random_source& random) {
  return base64url_encode(random.bytes(32));
}

}  // namespace acemq::as
