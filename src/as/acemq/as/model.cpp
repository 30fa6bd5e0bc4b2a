#include "acemq/as/model.hpp"

namespace acemq::as {

std::string_view to_string(token_format format) noexcept {
  switch (format) {
    case token_format::jwt:
      return "jwt";
    case token_format::cwt:
      return "cwt";
    case token_format::reference:
      return "reference";
  }
  return "jwt";
}

std::optional<token_format> token_format_from_string(std::string_view text) noexcept {
  if (text == "jwt") return token_format::jwt;
  if (text == "cwt") return token_format::cwt;
  if (text == "reference") return token_format::reference;
  return std::nullopt;
}

std::string_view to_string(refresh_mode mode) noexcept {
  switch (mode) {
    case refresh_mode::none:
      return "none";
    case refresh_mode::constant:
      return "constant";
    case refresh_mode::rotating:
      return "rotating";
  }
  return "none";
}

std::optional<refresh_mode> refresh_mode_from_string(std::string_view text) noexcept {
  if (text == "none") return refresh_mode::none;
  if (text == "constant") return refresh_mode::constant;
  if (text == "rotating") return refresh_mode::rotating;
  return std::nullopt;
}

}  // namespace acemq::as
