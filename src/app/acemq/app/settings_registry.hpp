#pragma once
// Internal to the configuration loader (not a public header): the settings registry. Every
// scalar setting is one entry (key, help text, how to show and how to assign its value from a
// TOML node), so the file format, the --set overrides and --help cannot drift apart. The entry
// builders live here; the registries are in settings_registry.cpp, the TOML and override
// parsing in config_toml.cpp.

#include <toml++/toml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/app/app_config.hpp"

namespace acemq::app::detail {

/// Why a value was refused; the caller adds where (file:line, key).
using assign_error = std::optional<std::string>;

/// One registry entry over a target type (app_config or listener_config).
template <typename Target>
struct entry {
  std::string key;
  std::string description;
  std::function<std::string(Target&)> show;
  std::function<assign_error(Target&, const toml::node&)> assign;
};

template <typename Target, typename Integer>
entry<Target> integer(std::string key, std::string description, Integer& (*field)(Target&),
                      std::int64_t minimum, std::int64_t maximum) {
  return {std::move(key), std::move(description),
          [field](Target& target) { return std::to_string(field(target)); },
          [field, minimum, maximum](Target& target, const toml::node& node) -> assign_error {
            const auto* value = node.as_integer();
            if (value == nullptr) return "expected an integer";
            const std::int64_t number = value->get();
            if (number < minimum || number > maximum) {
              return "must be between " + std::to_string(minimum) + " and " +
                     std::to_string(maximum);
            }
            field(target) = static_cast<Integer>(number);
            return std::nullopt;
          }};
}

template <typename Target>
entry<Target> seconds(std::string key, std::string description,
                      std::chrono::seconds& (*field)(Target&), std::int64_t minimum,
                      std::int64_t maximum) {
  return {std::move(key), std::move(description),
          [field](Target& target) { return std::to_string(field(target).count()); },
          [field, minimum, maximum](Target& target, const toml::node& node) -> assign_error {
            const auto* value = node.as_integer();
            if (value == nullptr) return "expected an integer number of seconds";
            const std::int64_t number = value->get();
            if (number < minimum || number > maximum) {
              return "must be between " + std::to_string(minimum) + " and " +
                     std::to_string(maximum) + " seconds";
            }
            field(target) = std::chrono::seconds(number);
            return std::nullopt;
          }};
}

template <typename Target>
entry<Target> boolean(std::string key, std::string description, bool& (*field)(Target&)) {
  return {std::move(key), std::move(description),
          [field](Target& target) { return std::string(field(target) ? "true" : "false"); },
          [field](Target& target, const toml::node& node) -> assign_error {
            const auto* value = node.as_boolean();
            if (value == nullptr) return "expected true or false";
            field(target) = value->get();
            return std::nullopt;
          }};
}

template <typename Target>
entry<Target> text(std::string key, std::string description, std::string& (*field)(Target&),
                   std::function<assign_error(const std::string&)> check = {}) {
  return {std::move(key), std::move(description),
          [field](Target& target) { return "\"" + field(target) + "\""; },
          [field, check](Target& target, const toml::node& node) -> assign_error {
            const auto* value = node.as_string();
            if (value == nullptr) return "expected a string";
            if (check) {
              if (auto problem = check(value->get())) return problem;
            }
            field(target) = value->get();
            return std::nullopt;
          }};
}

template <typename Target>
entry<Target> real(std::string key, std::string description, double& (*field)(Target&),
                   double minimum, double maximum) {
  return {std::move(key), std::move(description),
          [field](Target& target) {
            std::ostringstream out;
            out << field(target);
            return out.str();
          },
          [field, minimum, maximum](Target& target, const toml::node& node) -> assign_error {
            double number = 0;
            if (const auto* floating = node.as_floating_point()) {
              number = floating->get();
            } else if (const auto* whole = node.as_integer()) {
              number = static_cast<double>(whole->get());
            } else {
              return "expected a number";
            }
            // Written as !(a <= b) so NaN is refused too.
            if (!(number >= minimum && number <= maximum)) {
              std::ostringstream why;
              why << "must be between " << minimum << " and " << maximum;
              return why.str();
            }
            field(target) = number;
            return std::nullopt;
          }};
}

template <typename Target>
entry<Target> milliseconds(std::string key, std::string description,
                           std::chrono::milliseconds& (*field)(Target&), std::int64_t minimum,
                           std::int64_t maximum) {
  return {std::move(key), std::move(description),
          [field](Target& target) { return std::to_string(field(target).count()); },
          [field, minimum, maximum](Target& target, const toml::node& node) -> assign_error {
            const auto* value = node.as_integer();
            if (value == nullptr) return "expected an integer number of milliseconds";
            const std::int64_t number = value->get();
            if (number < minimum || number > maximum) {
              return "must be between " + std::to_string(minimum) + " and " +
                     std::to_string(maximum) + " milliseconds";
            }
            field(target) = std::chrono::milliseconds(number);
            return std::nullopt;
          }};
}

/// A list of strings, each checked.
template <typename Target>
entry<Target> text_list(std::string key, std::string description,
                        std::vector<std::string>& (*field)(Target&),
                        std::function<assign_error(const std::string&)> check,
                        std::size_t max_items) {
  return {std::move(key), std::move(description),
          [field](Target& target) {
            std::string out = "[";
            for (const auto& item : field(target))
              out += (out.size() > 1 ? ", \"" : "\"") + item + "\"";
            return out + "]";
          },
          [field, check, max_items](Target& target, const toml::node& node) -> assign_error {
            const auto* array = node.as_array();
            if (array == nullptr) return "expected an array of strings";
            if (array->size() > max_items) return "at most " + std::to_string(max_items) + " items";
            std::vector<std::string> items;
            for (const auto& element : *array) {
              const auto* value = element.as_string();
              if (value == nullptr) return "expected an array of strings";
              if (auto problem = check(value->get())) return problem;
              if (std::find(items.begin(), items.end(), value->get()) != items.end()) {
                return "\"" + value->get() + "\" is listed twice";
              }
              items.push_back(value->get());
            }
            field(target) = std::move(items);
            return std::nullopt;
          }};
}

inline constexpr enum_name<broker::v311_denied_publish_policy> v311_denied_publish_names[] = {
    {broker::v311_denied_publish_policy::drop, "drop"},
    {broker::v311_denied_publish_policy::disconnect, "disconnect"}};

/// A string setting that selects one of a closed set of enum values: the names in `names`.
template <typename Target, typename Enum, std::size_t N>
entry<Target> choice(std::string key, std::string description, Enum& (*field)(Target&),
                     const enum_name<Enum> (&names)[N]) {
  return {std::move(key), std::move(description),
          [field, &names](Target& target) {
            return "\"" + std::string(name_in(names, field(target), "")) + "\"";
          },
          [field, &names](Target& target, const toml::node& node) -> assign_error {
            const auto* text = node.as_string();
            const std::optional<Enum> value =
                text != nullptr ? value_in(names, text->get()) : std::nullopt;
            if (value) {
              field(target) = *value;
              return std::nullopt;
            }
            std::string allowed;
            for (const enum_name<Enum>& each : names) {
              allowed += (allowed.empty() ? "" : ", ") + std::string(each.name);
            }
            return "expected one of: " + allowed;
          }};
}

inline constexpr std::int64_t max_u32 = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::int64_t max_u16 = std::numeric_limits<std::uint16_t>::max();
// [MQTT-2.2.3] the Remaining Length is at most 268,435,455; a packet adds at most 5 header bytes.
inline constexpr std::int64_t max_packet_bytes = 268'435'455 + 5;

/// Every setting of the program (app_config) and of one listener (listener_config).
const std::vector<entry<app_config>>& app_registry();
const std::vector<entry<listener_config>>& listener_registry();

template <typename Target>
const entry<Target>* find_entry(const std::vector<entry<Target>>& registry, std::string_view key) {
  for (const auto& item : registry) {
    if (item.key == key) return &item;
  }
  return nullptr;
}

}  // namespace acemq::app::detail
