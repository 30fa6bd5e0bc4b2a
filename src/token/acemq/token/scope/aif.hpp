#pragma once
// AIF-MQTT scopes (RFC 9431 2.3, RFC 9237): a list of (topic filter, permissions) pairs,
// precompiled once at parse time so that every authorization check on the data path walks
// pre-split levels with string_views and never allocates.

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/cbor/value.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::scope {

/// The AIF-MQTT permission bits. The wire form is the text "pub" / "sub" (RFC 9431 2.3).
enum class permission : std::uint8_t {
  publish = 0x01,
  subscribe = 0x02,
};

/// Limits applied while parsing untrusted scope values.
struct parse_options {
  /// Upper bound on the number of (filter, permissions) entries; more -> bad_scope.
  std::size_t max_entries = 256;
};

/// One granted (topic filter, permissions) pair, as parsed.
struct grant {
  std::string filter;
  bool publish = false;
  bool subscribe = false;
};

/// A parsed and precompiled AIF-MQTT scope. Copyable and immutable after parsing; the checks are
/// noexcept, allocation-free and safe to call concurrently.
class aif_scope {
 public:
  /// An empty scope: grants nothing.
  aif_scope() = default;

  /// Parses the JSON text of the AIF array, e.g. `[["a/+/c",["pub","sub"]]]`.
  static result<aif_scope, failure> from_json(std::string_view json_text,
                                              const parse_options& options = {});
  /// Parses an already-decoded JSON value that must be the AIF array.
  static result<aif_scope, failure> from_json_value(const boost::json::value& value,
                                                    const parse_options& options = {});
  /// Parses the JWT `scope` claim: one JSON string holding base64url (no padding) of the JSON
  /// AIF array (RFC 9431 2.3), or the plain JSON array itself (accepted for interoperability).
  static result<aif_scope, failure> from_jwt_claim(const boost::json::value& claim,
                                                   const parse_options& options = {});
  /// The same as from_jwt_claim() for the claim's text when it is a string.
  static result<aif_scope, failure> from_jwt_text(std::string_view claim_text,
                                                  const parse_options& options = {});
  /// Parses the CBOR form (CWT claim 9, RFC 9431 2.3): an array of [text filter, array of text
  /// permissions], already decoded.
  static result<aif_scope, failure> from_cbor_value(const cbor::value& value,
                                                    const parse_options& options = {});
  /// Decodes (strictly, bounded) and parses the CBOR encoding of the AIF array.
  static result<aif_scope, failure> from_cbor(byte_view cbor_bytes,
                                              const parse_options& options = {});
  /// Parses a CWT `scope` claim: the AIF array in CBOR, a byte string holding its CBOR encoding
  /// (RFC 9200 5.8.4.1 allows a byte-string scope), or a text string holding the JSON/JWT form.
  static result<aif_scope, failure> from_cwt_claim(const cbor::value& claim,
                                                   const parse_options& options = {});
  /// Builds a scope from grants (for the AS and tools); the same validation as parsing.
  static result<aif_scope, failure> from_grants(const std::vector<grant>& grants,
                                                const parse_options& options = {});

  /// PUBLISH of `topic_name` is allowed when a "pub" filter matches it.
  bool allows_publish(std::string_view topic_name) const noexcept;
  /// SUBSCRIBE to `topic_filter` is allowed when it equals or is a subset of a "sub" filter.
  /// For a shared subscription `$share/{group}/{filter}` the inner filter is checked.
  bool allows_subscribe(std::string_view topic_filter) const noexcept;
  /// Delivery of a message on `topic_name` is allowed when a "sub" filter matches it (the
  /// re-check on the delivery path, which catches a scope narrowed by reauthentication).
  bool allows_delivery(std::string_view topic_name) const noexcept;

  /// The grants in the order they were first seen (duplicate filters are merged).
  std::vector<grant> grants() const;
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }

  /// The JSON text of the AIF array (JSON AIF, RFC 9431 2.3).
  std::string to_json() const;
  /// The JWT claim form: base64url (no padding) of to_json().
  std::string to_jwt_text() const;
  /// The CBOR form of the AIF array (for CWT claim 9).
  cbor::value to_cbor_value() const;
  /// The deterministic CBOR encoding of to_cbor_value().
  byte_vector to_cbor() const;

 private:
  enum class level_kind : std::uint8_t { literal, single_wildcard, multi_wildcard };
  struct level {
    std::uint32_t offset = 0;  // into entry::filter
    std::uint32_t length = 0;
    level_kind kind = level_kind::literal;
  };
  struct entry {
    std::string filter;
    std::vector<level> levels;
    std::uint8_t permissions = 0;  // bitwise OR of `permission`
  };

  static bool covers(const entry& granted, std::string_view candidate) noexcept;
  bool any_covers(std::uint8_t required, std::string_view candidate) const noexcept;
  result<void, failure> add(std::string_view filter, std::uint8_t permissions,
                            const parse_options& options);

  std::vector<entry> entries_;
};

}  // namespace acemq::token::scope
