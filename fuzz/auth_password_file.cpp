// Parses arbitrary bytes as a password file and each stored hash's PHC parameters. Verification
// itself (libargon2) is not run: its cost is bounded by argon2_bounds, checked here instead.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "acemq/auth/password_file.hpp"

using namespace acemq;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)auth::parse_phc_parameters(text);
  auto file = auth::password_file::parse(text);
  if (!file) return 0;
  for (const auto& [user, encoded] : file->entries()) {
    if (!auth::valid_user_name(user)) __builtin_trap();
    if (!auth::parse_phc_parameters(encoded)) __builtin_trap();
  }
  (void)file->serialize();
  return 0;
}
