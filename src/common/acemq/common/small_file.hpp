#pragma once
// Reading a whole file that must be small (keys, certificates, password, ACL and device key
// files, secrets, configuration): the read stops at a bound, so a wrong path (a device, a log,
// /dev/zero) costs at most `limit` bytes of memory. The one file reader of the project.

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>

#include "acemq/common/result.hpp"

namespace acemq {

/// Why a small file could not be read.
enum class small_file_error : std::uint8_t {
  cannot_open,  ///< missing, unreadable or a directory
  too_large,    ///< more than the limit
  read_failed,  ///< an I/O error part-way
};

/// The whole of `path`, or an error when it cannot be opened, holds more than `limit` bytes, or
/// fails part-way.
result<std::string, small_file_error> read_small_file(const std::string& path, std::size_t limit);

/// The rest of `in` (a file, standard input), bounded the same way.
result<std::string, small_file_error> read_small_stream(std::istream& in, std::size_t limit);

}  // namespace acemq
