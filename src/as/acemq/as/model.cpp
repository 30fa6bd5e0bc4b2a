#include "acemq/as/model.hpp"

#include "acemq/common/enum_names.hpp"

namespace acemq::as {

constexpr enum_name<token_format> token_format_names[] = {
    {token_format::jwt, "jwt"}, {token_format::cwt, "cwt"}, {token_format::reference, "reference"}};

std::string_view to_string(token_format format) noexcept {
  return name_in(token_format_names, format, "jwt");
}

std::optional<token_format> token_format_from_string(std::string_view text) noexcept {
  return value_in(token_format_names, text);
}

constexpr enum_name<refresh_mode> refresh_mode_names[] = {{refresh_mode::none, "none"},
                                                          {refresh_mode::constant, "constant"},
                                                          {refresh_mode::rotating, "rotating"}};

std::string_view to_string(refresh_mode mode) noexcept {
  return name_in(refresh_mode_names, mode, "none");
}

std::optional<refresh_mode> refresh_mode_from_string(std::string_view text) noexcept {
  return value_in(refresh_mode_names, text);
}

}  // namespace acemq::as
