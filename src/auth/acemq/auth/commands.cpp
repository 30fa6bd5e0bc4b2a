#include "acemq/auth/commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "acemq/auth/device_registry.hpp"
#include "acemq/common/small_file.hpp"

namespace acemq::auth {

namespace {

constexpr int exit_ok = 0;
constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr std::size_t max_password_line = 65535;
constexpr std::size_t max_key_file = 16 * 1024;

/// Switches terminal echo off for its lifetime.
class echo_off {
 public:
  echo_off() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~echo_off() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  echo_off(const echo_off&) = delete;
  echo_off& operator=(const echo_off&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

bool interactive(std::istream& in) {
  return &in == &std::cin && isatty(STDIN_FILENO) == 1;
}

std::optional<std::string> read_secret(std::istream& in, std::ostream& err,
                                       std::string_view prompt) {
  std::string line;
  if (interactive(in)) {
    err << prompt << std::flush;
    echo_off quiet;
    std::getline(in, line);
    err << '\n';
  } else {
    std::getline(in, line);
  }
  if (!in && line.empty()) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > max_password_line) return std::nullopt;
  return line;
}

void wipe(std::string& secret) {
  std::fill(secret.begin(), secret.end(), '\0');
  secret.clear();
}

}  // namespace

std::string passwd_usage() {
  return "usage: passwd <file> add|delete|verify <user>\n"
         "  the password is read from standard input (prompted without echo on a terminal)\n";
}

std::string device_usage() {
  return "usage: device <registry.db> add <id> [legacy|jti|counter|nonce]\n"
         "       device <registry.db> remove <id>\n"
         "       device <registry.db> add-key <id> <public-key-file|->   (JWK or PEM)\n"
         "       device <registry.db> remove-key <id> <key-id>\n"
         "       device <registry.db> set-policy <id> <policy>\n"
         "       device <registry.db> list\n";
}

int run_passwd_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err, random_source& random,
                       const argon2_parameters& parameters) {
  if (args.size() != 3) {
    err << passwd_usage();
    return exit_usage;
  }
  const std::string& path = args[0];
  const std::string& verb = args[1];
  const std::string& user = args[2];
  if (!valid_user_name(user)) {
    err << "passwd: invalid user name\n";
    return exit_usage;
  }
  std::optional<password_file> file;
  std::error_code ec;
  if (verb == "add" && !std::filesystem::exists(path, ec)) {
    file = password_file{};
  } else {
    auto loaded = password_file::load(path);
    if (!loaded) {
      err << "passwd: " << path << ':' << loaded.error().line << ": " << loaded.error().message
          << '\n';
      return exit_usage;
    }
    file = std::move(*loaded);
  }

  if (verb == "add") {
    auto password = read_secret(in, err, "Password: ");
    if (!password || password->empty()) {
      err << "passwd: no password given\n";
      return exit_usage;
    }
    if (interactive(in)) {
      auto again = read_secret(in, err, "Again: ");
      const bool same = again && *again == *password;
      if (again) wipe(*again);
      if (!same) {
        wipe(*password);
        err << "passwd: the passwords differ\n";
        return exit_refused;
      }
    }
    auto hashed = hash_password(*password, random, parameters);
    wipe(*password);
    if (!hashed) {
      err << "passwd: " << hashed.error().message << '\n';
      return exit_usage;
    }
    if (auto stored = file->set(user, std::move(*hashed)); !stored) {
      err << "passwd: " << stored.error().message << '\n';
      return exit_usage;
    }
    if (auto saved = file->save(path); !saved) {
      err << "passwd: " << saved.error().message << '\n';
      return exit_usage;
    }
    out << "passwd: user " << user << " stored\n";
    return exit_ok;
  }
  if (verb == "delete") {
    if (!file->remove(user)) {
      err << "passwd: no user " << user << '\n';
      return exit_refused;
    }
    if (auto saved = file->save(path); !saved) {
      err << "passwd: " << saved.error().message << '\n';
      return exit_usage;
    }
    out << "passwd: user " << user << " deleted\n";
    return exit_ok;
  }
  if (verb == "verify") {
    const std::string* stored = file->find(user);
    auto password = read_secret(in, err, "Password: ");
    if (!password) {
      err << "passwd: no password given\n";
      return exit_usage;
    }
    const auto check = stored ? verify_password(*stored, *password) : password_check::mismatch;
    wipe(*password);
    if (check == password_check::match) {
      out << "passwd: password of " << user << " verified\n";
      return exit_ok;
    }
    if (check == password_check::bad_hash) {
      err << "passwd: the stored hash of " << user << " is unusable\n";
      return exit_usage;
    }
    // The same message whether the user exists or not.
    err << "passwd: wrong user name or password\n";
    return exit_refused;
  }
  err << passwd_usage();
  return exit_usage;
}

int run_device_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err, const clock& time) {
  if (args.size() < 2) {
    err << device_usage();
    return exit_usage;
  }
  const std::string& verb = args[1];
  const auto arity_ok = [&]() {
    if (verb == "list") return args.size() == 2;
    if (verb == "add") return args.size() == 3 || args.size() == 4;
    if (verb == "remove") return args.size() == 3;
    if (verb == "add-key" || verb == "remove-key" || verb == "set-policy") return args.size() == 4;
    return false;
  };
  if (!arity_ok()) {
    err << device_usage();
    return exit_usage;
  }
  auto opened = device_registry::open(args[0]);
  if (!opened) {
    err << "device: " << opened.error().message << '\n';
    return exit_usage;
  }
  device_registry& registry = **opened;
  const auto report = [&](const registry_error& error) {
    err << "device: " << error.message << '\n';
    return error.what == registry_error::kind::storage ? exit_usage : exit_refused;
  };

  if (verb == "list") {
    auto devices = registry.list();
    if (!devices) return report(devices.error());
    for (const auto& device : *devices) {
      out << device.id << " policy=" << to_string(device.policy) << " keys=" << device.keys.size()
          << '\n';
      for (const auto& key : device.keys) {
        out << "  key " << key.key_id;
        if (key.last_counter) out << " ctr=" << *key.last_counter;
        out << '\n';
      }
    }
    return exit_ok;
  }
  const std::string& id = args[2];
  if (verb == "add") {
    replay_policy policy = replay_policy::nonce;
    if (args.size() == 4) {
      auto parsed = parse_replay_policy(args[3]);
      if (!parsed) {
        err << "device: unknown policy " << args[3] << '\n';
        return exit_usage;
      }
      policy = *parsed;
    }
    if (auto added = registry.add_device(id, policy, time.unix_seconds()); !added)
      return report(added.error());
    out << "device: " << id << " added (policy " << to_string(policy) << ")\n";
    return exit_ok;
  }
  if (verb == "remove") {
    if (auto removed = registry.remove_device(id); !removed) return report(removed.error());
    out << "device: " << id << " removed\n";
    return exit_ok;
  }
  if (verb == "set-policy") {
    auto policy = parse_replay_policy(args[3]);
    if (!policy) {
      err << "device: unknown policy " << args[3] << '\n';
      return exit_usage;
    }
    if (auto set = registry.set_policy(id, *policy); !set) return report(set.error());
    out << "device: " << id << " policy " << to_string(*policy) << '\n';
    return exit_ok;
  }
  if (verb == "remove-key") {
    if (auto removed = registry.remove_key(id, args[3]); !removed) return report(removed.error());
    out << "device: key " << args[3] << " removed from " << id << '\n';
    return exit_ok;
  }
  // add-key
  auto key_text =
      args[3] == "-" ? read_small_stream(in, max_key_file) : read_small_file(args[3], max_key_file);
  if (!key_text) {
    if (key_text.error() == small_file_error::too_large) {
      err << "device: key file too large\n";
    } else {
      err << "device: cannot read " << args[3] << '\n';
    }
    return exit_usage;
  }
  auto added = registry.add_key(id, *key_text, time.unix_seconds());
  if (!added) return report(added.error());
  out << "device: key " << *added << " added to " << id << '\n';
  return exit_ok;
}

}  // namespace acemq::auth
