// Reading the configuration: TOML documents and files, `--set key=value` overrides, and the
// settings as listed by --help, all through the settings registry.

#include <sstream>
#include "acemq/common/small_file.hpp"

#include "acemq/app/settings_registry.hpp"

namespace acemq::app {
namespace {

using detail::app_registry;
using detail::find_entry;
using detail::listener_registry;

std::string where(std::string_view source, const toml::node& node) {
  std::string out(source);
  if (node.source().begin.line > 0) out += ":" + std::to_string(node.source().begin.line);
  return out;
}

config_error error_at(std::string_view source, const toml::node& node, std::string_view key,
                      std::string_view why) {
  return {where(source, node) + ": " + std::string(key) + ": " + std::string(why)};
}

listener_config* find_listener(app_config& config, std::string_view name) {
  for (auto& listener : config.server.listeners) {
    if (listener.name == name) return &listener;
  }
  return nullptr;
}

/// A scalar TOML value as the text acemq::auth::apply_setting reads (strings unquoted).
std::optional<std::string> scalar_text(const toml::node& node) {
  if (const auto* value = node.as_string()) return value->get();
  if (const auto* value = node.as_integer()) return std::to_string(value->get());
  if (const auto* value = node.as_boolean()) return std::string(value->get() ? "true" : "false");
  if (const auto* value = node.as_floating_point()) {
    std::ostringstream out;
    out.precision(17);
    out << value->get();
    return out.str();
  }
  return std::nullopt;
}

/// The auth.* keys of the non-ACE providers belong to acemq::auth: its apply_setting parses them
/// (one parser for every front end). false = not a key it knows. Relative paths are resolved
/// against data_dir by finalize(), because --data-dir may come after the file.
result<bool, std::string> apply_provider_setting(app_config& config, const std::string& key,
                                                 const toml::node& node) {
  if (key.rfind("auth.", 0) != 0) return false;
  const auto text_value = scalar_text(node);
  if (!text_value) return unexpected(std::string("expected a string, number or boolean"));
  auto claimed = auth::apply_setting(config.auth, key, *text_value);
  if (!claimed) return unexpected(claimed.error());
  return *claimed;
}

result<void, config_error> apply_listener_table(listener_config& listener, const toml::table& table,
                                                std::string_view source, std::string_view prefix) {
  for (const auto& [raw_key, node] : table) {
    const std::string key(raw_key.str());
    if (key == "name") continue;  // handled by the caller
    const auto* item = find_entry(listener_registry(), key);
    const std::string full_key = std::string(prefix) + key;
    if (item == nullptr) return unexpected(error_at(source, node, full_key, "unknown setting"));
    if (auto problem = item->assign(listener, node)) {
      return unexpected(error_at(source, node, full_key, *problem));
    }
  }
  return {};
}

result<void, config_error> apply_listeners(app_config& config, const toml::node& node,
                                           std::string_view source) {
  const auto* array = node.as_array();
  if (array == nullptr) {
    return unexpected(error_at(source, node, "listener", "expected [[listener]] tables"));
  }
  // A file that declares listeners replaces the embedded defaults.
  config.server.listeners.clear();
  for (const auto& element : *array) {
    const auto* table = element.as_table();
    if (table == nullptr) {
      return unexpected(error_at(source, element, "listener", "expected a table"));
    }
    listener_config listener;
    const auto* name = table->get("name");
    if (name == nullptr || !name->is_string() || name->as_string()->get().empty()) {
      return unexpected(error_at(source, element, "listener", "needs a non-empty name"));
    }
    listener.name = name->as_string()->get();
    if (find_listener(config, listener.name) != nullptr) {
      return unexpected(error_at(source, *name, "listener." + listener.name, "duplicate name"));
    }
    auto applied =
        apply_listener_table(listener, *table, source, "listener." + listener.name + ".");
    if (!applied) return applied;
    config.server.listeners.push_back(std::move(listener));
  }
  return {};
}

result<void, config_error> apply_table(app_config& config, const toml::table& table,
                                       std::string_view source, const std::string& prefix) {
  for (const auto& [raw_key, node] : table) {
    const std::string key = prefix + std::string(raw_key.str());
    if (key == "listener") {
      auto applied = apply_listeners(config, node, source);
      if (!applied) return applied;
      continue;
    }
    if (const auto* nested = node.as_table()) {
      auto applied = apply_table(config, *nested, source, key + ".");
      if (!applied) return applied;
      continue;
    }
    const auto* item = find_entry(app_registry(), key);
    if (item == nullptr) {
      auto claimed = apply_provider_setting(config, key, node);
      if (!claimed) return unexpected(error_at(source, node, key, claimed.error()));
      if (!*claimed) return unexpected(error_at(source, node, key, "unknown setting"));
      continue;
    }
    if (auto problem = item->assign(config, node)) {
      return unexpected(error_at(source, node, key, *problem));
    }
  }
  return {};
}

/// Reads an override value as TOML when it is one, else as a bare string.
toml::table parse_override_value(std::string_view value) {
  try {
    toml::table parsed = toml::parse("v = " + std::string(value));
    if (parsed.size() == 1 && parsed.contains("v")) return parsed;
  } catch (const toml::parse_error&) {
    // Not a TOML literal: fall through to a plain string.
  }
  toml::table plain;
  plain.insert("v", std::string(value));
  return plain;
}

}  // namespace

std::vector<setting_help> describe_settings() {
  return describe_settings(default_config());
}

std::vector<setting_help> describe_settings(app_config config) {
  std::vector<setting_help> out;
  for (const auto& item : app_registry()) {
    out.push_back({item.key, item.show(config), item.description});
  }
  out.push_back({"auth.<key>", "",
                 "password file, ACL, client certificates, device JWTs: see "
                 "docs/authentication.md"});
  listener_config listener_defaults;
  out.push_back({"listener.<name>.name", "", "listener name ([[listener]] tables in a file)"});
  for (const auto& item : listener_registry()) {
    out.push_back({"listener.<name>." + item.key, item.show(listener_defaults), item.description});
  }
  return out;
}

result<void, config_error> apply_toml(app_config& config, std::string_view toml_text,
                                      std::string_view source_name) {
  toml::table document;
  try {
    document = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    std::ostringstream message;
    message << source_name << ":" << error.source().begin.line << ":" << error.source().begin.column
            << ": " << error.description();
    return unexpected(config_error{message.str()});
  }
  return apply_table(config, document, source_name, "");
}

result<void, config_error> apply_toml_file(app_config& config, const std::string& path) {
  // A configuration file is small; refuse anything absurd rather than reading it whole.
  constexpr std::size_t max_config_bytes = 4 * 1024 * 1024;
  auto text = read_small_file(path, max_config_bytes);
  if (!text) {
    return unexpected(
        config_error{path + (text.error() == small_file_error::too_large ? ": larger than 4 MiB"
                                                                         : ": cannot be read")});
  }
  return apply_toml(config, *text, path);
}

result<void, config_error> apply_override(app_config& config, std::string_view assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return unexpected(config_error{"--set " + std::string(assignment) + ": expected key=value"});
  }
  const std::string key(assignment.substr(0, equals));
  const toml::table value = parse_override_value(assignment.substr(equals + 1));
  const toml::node& node = *value.get("v");
  const std::string source = "--set " + key;

  constexpr std::string_view listener_prefix = "listener.";
  if (key.rfind(listener_prefix, 0) == 0) {
    const std::string rest = key.substr(listener_prefix.size());
    const auto dot = rest.rfind('.');
    if (dot == std::string::npos || dot == 0) {
      return unexpected(config_error{source + ": expected listener.<name>.<field>"});
    }
    const std::string name = rest.substr(0, dot);
    const std::string field = rest.substr(dot + 1);
    const auto* item = find_entry(listener_registry(), field);
    if (item == nullptr) return unexpected(config_error{source + ": unknown listener setting"});
    listener_config* listener = find_listener(config, name);
    if (listener == nullptr) {
      listener_config created;
      created.name = name;
      config.server.listeners.push_back(created);
      listener = &config.server.listeners.back();
    }
    if (auto problem = item->assign(*listener, node)) {
      return unexpected(config_error{source + ": " + *problem});
    }
    return {};
  }
  const auto* item = find_entry(app_registry(), key);
  if (item == nullptr) {
    auto claimed = apply_provider_setting(config, key, node);
    if (!claimed) return unexpected(config_error{source + ": " + claimed.error()});
    if (!*claimed) return unexpected(config_error{source + ": unknown setting"});
    return {};
  }
  if (auto problem = item->assign(config, node)) {
    return unexpected(config_error{source + ": " + *problem});
  }
  return {};
}

}  // namespace acemq::app
