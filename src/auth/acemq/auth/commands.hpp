#pragma once
// Management commands, as functions so the broker program can expose them as subcommands
// (`acemq-broker passwd ...`, `acemq-broker device ...`) and tests can drive them with streams.
// Exit codes: 0 success, 1 refused (wrong password, unknown user or device, ...), 2 usage or
// file error.

#include <iosfwd>
#include <string>
#include <vector>

#include "acemq/auth/password_file.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"

namespace acemq::auth {

/// `passwd <file> add <user>` (creates the file when missing; replaces an existing user),
/// `passwd <file> delete <user>`, `passwd <file> verify <user>`.
/// The password is read from `in`: one line, without its line ending. When `in` is the standard
/// input and a terminal, the prompt goes to `err` and echo is switched off (twice for add, which
/// must match). Secrets are never written to `out` or `err`.
int run_passwd_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err, random_source& random,
                       const argon2_parameters& parameters = {});

/// `device <registry> add <id> [legacy|jti|counter|nonce]` (default nonce),
/// `device <registry> remove <id>`,
/// `device <registry> add-key <id> <file>` (a public key as JWK or PEM; `-` reads `in`),
/// `device <registry> remove-key <id> <key-id>`,
/// `device <registry> set-policy <id> <policy>`,
/// `device <registry> list`.
int run_device_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err, const clock& time);

/// Usage text of both commands.
std::string passwd_usage();
std::string device_usage();

}  // namespace acemq::auth
