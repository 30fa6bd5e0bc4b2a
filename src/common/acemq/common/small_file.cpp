#include "acemq/common/small_file.hpp"

#include <filesystem>
#include <fstream>

namespace acemq {

result<std::string, small_file_error> read_small_stream(std::istream& in, std::size_t limit) {
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) return unexpected(small_file_error::too_large);
  }
  if (in.bad()) return unexpected(small_file_error::read_failed);
  return text;
}

result<std::string, small_file_error> read_small_file(const std::string& path, std::size_t limit) {
  // An ifstream opens a directory and then reads nothing: refuse it as unopenable instead.
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored))
    return unexpected(small_file_error::cannot_open);
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected(small_file_error::cannot_open);
  return read_small_stream(in, limit);
}

}  // namespace acemq
