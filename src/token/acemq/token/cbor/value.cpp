#include "acemq/token/cbor/value.hpp"

#include <bit>
#include <limits>
#include <utility>

namespace acemq::token::cbor {

value value::unsigned_integer(std::uint64_t number) {
  value v;
  v.kind_ = kind::unsigned_integer;
  v.number_ = number;
  return v;
}

value value::negative_integer(std::uint64_t argument) {
  value v;
  v.kind_ = kind::negative_integer;
  v.number_ = argument;
  return v;
}

value value::integer(std::int64_t number) {
  if (number >= 0) return unsigned_integer(static_cast<std::uint64_t>(number));
  // -1 - n == number  =>  n == -(number + 1), which cannot overflow for number < 0.
  return negative_integer(static_cast<std::uint64_t>(-(number + 1)));
}

value value::bytes(byte_view content) {
  return bytes(byte_vector(content.begin(), content.end()));
}

value value::bytes(byte_vector content) {
  value v;
  v.kind_ = kind::byte_string;
  v.bytes_ = std::move(content);
  return v;
}

value value::text(std::string_view content) {
  value v;
  v.kind_ = kind::text_string;
  v.text_ = std::string(content);
  return v;
}

value value::array() {
  return array(std::vector<value>{});
}

value value::map() {
  return map(std::vector<map_entry>{});
}

value value::array(std::vector<value> items) {
  value v;
  v.kind_ = kind::array;
  v.items_ = std::move(items);
  return v;
}

value value::map(std::vector<map_entry> entries) {
  value v;
  v.kind_ = kind::map;
  v.entries_ = std::move(entries);
  return v;
}

value value::tag(std::uint64_t number, value content) {
  value v;
  v.kind_ = kind::tag;
  v.number_ = number;
  v.items_.push_back(std::move(content));
  return v;
}

value value::boolean(bool flag) {
  return simple(
      static_cast<std::uint8_t>(flag ? simple_value::true_value : simple_value::false_value));
}

value value::null() {
  return simple(static_cast<std::uint8_t>(simple_value::null));
}

value value::undefined() {
  return simple(static_cast<std::uint8_t>(simple_value::undefined));
}

value value::simple(std::uint8_t number) {
  value v;
  v.kind_ = kind::simple;
  v.number_ = number;
  return v;
}

value value::floating(double number) {
  value v;
  v.kind_ = kind::floating;
  v.float_ = number;
  return v;
}

bool value::is_null() const noexcept {
  return kind_ == kind::simple && number_ == static_cast<std::uint8_t>(simple_value::null);
}

bool value::is_bool() const noexcept {
  return as_bool().has_value();
}

std::optional<std::int64_t> value::as_int64() const noexcept {
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (kind_ == kind::unsigned_integer && number_ <= max) return static_cast<std::int64_t>(number_);
  if (kind_ == kind::negative_integer && number_ <= max) {
    return -1 - static_cast<std::int64_t>(number_);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> value::as_uint64() const noexcept {
  if (kind_ == kind::unsigned_integer) return number_;
  return std::nullopt;
}

std::optional<bool> value::as_bool() const noexcept {
  if (kind_ != kind::simple) return std::nullopt;
  if (number_ == static_cast<std::uint8_t>(simple_value::true_value)) return true;
  if (number_ == static_cast<std::uint8_t>(simple_value::false_value)) return false;
  return std::nullopt;
}

std::optional<double> value::as_double() const noexcept {
  if (kind_ == kind::floating) return float_;
  return std::nullopt;
}

const value* value::find(const value& key) const noexcept {
  if (kind_ != kind::map) return nullptr;
  for (const auto& entry : entries_) {
    if (entry.key == key) return &entry.item;
  }
  return nullptr;
}

const value* value::find(std::int64_t key) const noexcept {
  if (kind_ != kind::map) return nullptr;
  for (const auto& entry : entries_) {
    if (entry.key.as_int64() == key) return &entry.item;
  }
  return nullptr;
}

const value* value::find(std::string_view key) const noexcept {
  if (kind_ != kind::map) return nullptr;
  for (const auto& entry : entries_) {
    if (entry.key.is_text() && entry.key.text_content() == key) return &entry.item;
  }
  return nullptr;
}

value& value::insert(value key, value item) {
  entries_.push_back(map_entry{std::move(key), std::move(item)});
  return *this;
}

value& value::insert(std::int64_t key, value item) {
  return insert(value::integer(key), std::move(item));
}

value& value::insert(std::string_view key, value item) {
  return insert(value::text(key), std::move(item));
}

value& value::push_back(value item) {
  items_.push_back(std::move(item));
  return *this;
}

bool operator==(const value& a, const value& b) noexcept {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case kind::unsigned_integer:
    case kind::negative_integer:
    case kind::simple:
      return a.number_ == b.number_;
    // Bitwise, so that a NaN equals itself and -0.0 differs from 0.0 (they encode differently).
    case kind::floating:
      return std::bit_cast<std::uint64_t>(a.float_) == std::bit_cast<std::uint64_t>(b.float_);
    case kind::byte_string:
      return a.bytes_ == b.bytes_;
    case kind::text_string:
      return a.text_ == b.text_;
    case kind::array:
      return a.items_ == b.items_;
    case kind::map:
      return a.entries_ == b.entries_;
    case kind::tag:
      return a.number_ == b.number_ && a.items_ == b.items_;
  }
  return false;
}

}  // namespace acemq::token::cbor
