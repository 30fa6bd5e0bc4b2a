#pragma once
// Small text helpers shared by the file parsers (ACL, password file) and the HTTP header readers.

#include <cstddef>
#include <string_view>

namespace acemq {

/// `text` without the spaces, tabs and carriage returns at either end (HTTP's optional
/// whitespace, RFC 9110 5.6.3, and a CRLF file's line ends).
constexpr std::string_view trim_blanks(std::string_view text) noexcept {
  constexpr std::string_view blanks = " \t\r";
  const std::size_t first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

/// Takes the first line off `text` and returns it, without its '\n' (a last line without one
/// is a line too).
constexpr std::string_view take_line(std::string_view& text) noexcept {
  const std::size_t newline = text.find('\n');
  const std::string_view line = text.substr(0, newline);
  text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
  return line;
}

}  // namespace acemq
