#pragma once
// Client, resource-server and owner secrets are stored only as argon2id hashes (RFC 9106), in the
// self-describing PHC string form ($argon2id$v=19$m=...,t=...,p=...$salt$hash), so parameters can
// be raised later without invalidating stored hashes.

#include <cstdint>
#include <string>
#include <string_view>

#include "acemq/common/random.hpp"

namespace acemq::as {

/// argon2id cost parameters. The defaults follow RFC 9106 4's second recommended option scaled
/// for a server that verifies a secret on every token request.
struct secret_hash_parameters {
  std::uint32_t time_cost = 2;
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t parallelism = 1;
};

/// Longest secret accepted, in bytes; longer input is refused before hashing (no CPU burn).
inline constexpr std::size_t max_secret_size = 1024;

/// Hashes `secret` with a fresh 16-byte salt. Throws std::runtime_error only if libargon2 fails
/// (out of memory), which is a start-up/administration error, never a request path.
std::string hash_secret(std::string_view secret, random_source& random,
                        const secret_hash_parameters& parameters = {});

/// True when `secret` matches the encoded hash. False for malformed hashes and oversized secrets.
bool verify_secret(std::string_view secret, const std::string& encoded_hash) noexcept;

/// A hash of a random secret with the default parameters (the parameters `admin create` stores),
/// computed once: a secret presented for an unknown identity is checked against it, so the
/// answer takes as long as for a known identity and its timing does not tell which exist.
const std::string& dummy_secret_hash();

/// A random secret for `admin create` commands: 32 bytes as base64url (43 characters).
std::string generate_secret(random_source& random);

}  // namespace acemq::as
