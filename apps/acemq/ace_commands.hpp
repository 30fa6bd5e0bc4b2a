#pragma once
// The ACE client commands of `acemq` (RFC 9431): `token get` (a token from the AS), `pub`, `sub`
// and `authz-info` (MQTT with ACE authentication), and `demo` (the whole story against the
// services `make run` starts). Built on acemq_ace_client and acemq_client.

#include <CLI/CLI.hpp>

namespace acemq::apps {

/// Registers `get` under the existing `token` subcommand group (add_token_command first).
void add_token_get_command(CLI::App& token_app, int& exit_code);
/// Registers `pub`, `sub` and `authz-info` on `app`.
void add_mqtt_commands(CLI::App& app, int& exit_code);
/// Registers `demo` on `app`.
void add_demo_command(CLI::App& app, int& exit_code);

}  // namespace acemq::apps
