// acemq: command-line front end. main() only wires the subcommand groups together; each group
// (token, token get, pub/sub/authz-info, demo) registers itself from its own file.

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "ace_commands.hpp"
#include "token_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"acemq: tools for the acemq MQTT broker and ACE (RFC 9431) tokens"};
  app.require_subcommand(1);
  int exit_code = EXIT_SUCCESS;
  acemq::apps::add_token_command(app, exit_code);
  acemq::apps::add_token_get_command(*app.get_subcommand("token"), exit_code);
  acemq::apps::add_mqtt_commands(app, exit_code);
  acemq::apps::add_demo_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    std::cerr << "acemq: " << error.what() << '\n';
    return EXIT_FAILURE;
  }
  return exit_code;
}
