#pragma once
// A small CBOR data model (RFC 8949 section 3): the values COSE, COSE_Key and CWT need, built and
// read by the rest of the token library. Decoding and deterministic encoding live in codec.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/common/bytes.hpp"

namespace acemq::token::cbor {

/// The major types of RFC 8949 section 3.1, with simple values and floats split apart.
enum class kind : std::uint8_t {
  unsigned_integer = 0x00,  // major type 0
  negative_integer = 0x01,  // major type 1: the value is -1 - argument
  byte_string = 0x02,
  text_string = 0x03,
  array = 0x04,
  map = 0x05,
  tag = 0x06,
  simple = 0x07,    // major type 7 simple values: false, true, null, undefined, others
  floating = 0x08,  // major type 7 half/single/double precision
};

/// Simple values with a name (RFC 8949 3.3).
enum class simple_value : std::uint8_t {
  false_value = 0x14,
  true_value = 0x15,
  null = 0x16,
  undefined = 0x17,
};

struct map_entry;

/// One CBOR data item. Maps keep their entries in the order they were built or decoded; the
/// encoder sorts them (RFC 8949 4.2.1), the decoder rejects duplicates.
class value {
 public:
  /// The integer 0.
  value() = default;

  static value unsigned_integer(std::uint64_t number);
  /// The negative integer -1 - `argument` (covers down to -2^64).
  static value negative_integer(std::uint64_t argument);
  static value integer(std::int64_t number);
  static value bytes(byte_view content);
  static value bytes(byte_vector content);
  static value text(std::string_view content);
  // Separate empty overloads rather than default arguments: a default argument would need the
  // complete map_entry inside this class (clang instantiates the vector destructor there).
  static value array();
  static value array(std::vector<value> items);
  static value map();
  static value map(std::vector<map_entry> entries);
  static value tag(std::uint64_t number, value content);
  static value boolean(bool flag);
  static value null();
  static value undefined();
  /// A simple value 0..19 or 32..255 (24..31 are not well-formed, RFC 8949 3.3).
  static value simple(std::uint8_t number);
  static value floating(double number);

  cbor::kind kind() const noexcept { return kind_; }
  bool is_integer() const noexcept {
    return kind_ == kind::unsigned_integer || kind_ == kind::negative_integer;
  }
  bool is_bytes() const noexcept { return kind_ == kind::byte_string; }
  bool is_text() const noexcept { return kind_ == kind::text_string; }
  bool is_array() const noexcept { return kind_ == kind::array; }
  bool is_map() const noexcept { return kind_ == kind::map; }
  bool is_tag() const noexcept { return kind_ == kind::tag; }
  bool is_null() const noexcept;
  bool is_bool() const noexcept;
  bool is_float() const noexcept { return kind_ == kind::floating; }

  /// The integer when it fits an int64_t.
  std::optional<std::int64_t> as_int64() const noexcept;
  /// The integer when it is non-negative.
  std::optional<std::uint64_t> as_uint64() const noexcept;
  std::optional<bool> as_bool() const noexcept;
  std::optional<double> as_double() const noexcept;
  /// The raw argument: integer argument, tag number or simple value number.
  std::uint64_t argument() const noexcept { return number_; }

  /// Content of a byte string (empty for other kinds; check is_bytes()).
  const byte_vector& byte_content() const noexcept { return bytes_; }
  /// Content of a text string, valid UTF-8 (empty for other kinds; check is_text()).
  const std::string& text_content() const noexcept { return text_; }
  /// Items of an array, or the single tagged item of a tag.
  const std::vector<value>& items() const noexcept { return items_; }
  std::vector<value>& items() noexcept { return items_; }
  const std::vector<map_entry>& entries() const noexcept { return entries_; }
  std::vector<map_entry>& entries() noexcept { return entries_; }
  /// The tagged item of a tag (only valid when is_tag()).
  const value& tagged() const noexcept { return items_.front(); }
  std::uint64_t tag_number() const noexcept { return number_; }

  /// Map lookups (nullptr when absent or when this is not a map).
  const value* find(std::int64_t key) const noexcept;
  const value* find(std::string_view key) const noexcept;
  const value* find(const value& key) const noexcept;

  /// Appends to a map (no duplicate check; the encoder and decoder enforce uniqueness).
  value& insert(value key, value item);
  value& insert(std::int64_t key, value item);
  value& insert(std::string_view key, value item);
  /// Appends to an array.
  value& push_back(value item);

  friend bool operator==(const value& a, const value& b) noexcept;

 private:
  cbor::kind kind_ = kind::unsigned_integer;
  std::uint64_t number_ = 0;
  double float_ = 0.0;
  byte_vector bytes_;
  std::string text_;
  std::vector<value> items_;
  std::vector<map_entry> entries_;
};

struct map_entry {
  value key;
  value item;
  friend bool operator==(const map_entry& a, const map_entry& b) noexcept {
    return a.key == b.key && a.item == b.item;
  }
};

}  // namespace acemq::token::cbor
