#pragma once
// `acemq token ...`: key generation, token signing, inspection (without verification) and
// verification with the same verify() the broker runs.

#include <CLI/CLI.hpp>

namespace acemq::apps {

/// Registers the `token` subcommand group on `app`. The chosen command's exit status is written
/// to `exit_code` (0 on success; non-zero with a reason on stderr otherwise).
void add_token_command(CLI::App& app, int& exit_code);

}  // namespace acemq::apps
