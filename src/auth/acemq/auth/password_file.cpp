#include "acemq/auth/password_file.hpp"

#include <argon2.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "acemq/common/small_file.hpp"
#include "acemq/common/text.hpp"
#include "acemq/common/utf8.hpp"

namespace acemq::auth {

namespace {

constexpr std::size_t max_user_name = 256;
constexpr std::size_t max_password = 65535;  // MQTT Password is a two-byte-length field

bool parse_u32(std::string_view text, std::uint32_t& out) {
  if (text.empty() || text.size() > 10) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc{} && end == text.data() + text.size();
}

}  // namespace

bool valid_user_name(std::string_view user) noexcept {
  if (user.empty() || user.size() > max_user_name || !is_valid_utf8(user)) return false;
  for (char c : user) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ':' || byte < 0x20 || byte == 0x7F) return false;
  }
  return true;
}

std::optional<argon2_parameters> parse_phc_parameters(std::string_view encoded) {
  // $argon2id$v=19$m=<kib>,t=<passes>,p=<lanes>$<salt>$<hash>
  constexpr std::string_view prefix = "$argon2id$v=19$";
  if (encoded.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = encoded.substr(prefix.size());
  const std::size_t end = rest.find('$');
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view params = rest.substr(0, end);
  argon2_parameters out;
  bool seen_m = false, seen_t = false, seen_p = false;
  while (!params.empty()) {
    const std::size_t comma = params.find(',');
    const std::string_view item = params.substr(0, comma);
    params = comma == std::string_view::npos ? std::string_view{} : params.substr(comma + 1);
    if (item.size() < 3 || item[1] != '=') return std::nullopt;
    std::uint32_t value = 0;
    if (!parse_u32(item.substr(2), value)) return std::nullopt;
    switch (item[0]) {
      case 'm':
        out.memory_kib = value;
        seen_m = true;
        break;
      case 't':
        out.time_cost = value;
        seen_t = true;
        break;
      case 'p':
        out.parallelism = value;
        seen_p = true;
        break;
      default:
        return std::nullopt;
    }
  }
  if (!seen_m || !seen_t || !seen_p) return std::nullopt;
  return out;
}

result<std::string, password_error> hash_password(std::string_view password, random_source& random,
                                                  const argon2_parameters& parameters) {
  if (password.size() > max_password) return unexpected(password_error{0, "password too long"});
  if (parameters.salt_size < 16 || parameters.salt_size > 64 || parameters.hash_size < 16 ||
      parameters.hash_size > 64) {
    return unexpected(password_error{0, "argon2 salt and hash sizes must be 16..64 bytes"});
  }
  const byte_vector salt = random.bytes(parameters.salt_size);
  const std::size_t length =
      argon2_encodedlen(parameters.time_cost, parameters.memory_kib, parameters.parallelism,
                        static_cast<std::uint32_t>(salt.size()),
                        static_cast<std::uint32_t>(parameters.hash_size), Argon2_id);
  std::string encoded(length, '\0');
  const int rc =
      argon2id_hash_encoded(parameters.time_cost, parameters.memory_kib, parameters.parallelism,
                            password.data(), password.size(), salt.data(), salt.size(),
                            parameters.hash_size, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return unexpected(password_error{0, std::string("argon2: ") + argon2_error_message(rc)});
  }
  encoded.resize(encoded.find('\0'));
  return encoded;
}

password_check verify_password(std::string_view encoded, std::string_view password,
                               const argon2_bounds& bounds) {
  const auto parameters = parse_phc_parameters(encoded);
  if (!parameters || parameters->time_cost > bounds.max_time_cost ||
      parameters->memory_kib > bounds.max_memory_kib ||
      parameters->parallelism > bounds.max_parallelism || password.size() > max_password) {
    return password_check::bad_hash;
  }
  const std::string terminated(encoded);  // argon2 needs a NUL-terminated string
  // argon2id_verify recomputes the hash and compares with a constant-time comparison.
  const int rc = argon2id_verify(terminated.c_str(), password.data(), password.size());
  if (rc == ARGON2_OK) return password_check::match;
  if (rc == ARGON2_VERIFY_MISMATCH) return password_check::mismatch;
  return password_check::bad_hash;
}

result<password_file, password_error> password_file::parse(std::string_view text,
                                                           const password_file_limits& bounds) {
  if (text.size() > bounds.max_size) return unexpected(password_error{0, "file too large"});
  password_file out;
  out.bounds_ = bounds;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    std::string_view line = take_line(text);
    if (line.size() > bounds.max_line) {
      return unexpected(password_error{line_number, "line too long"});
    }
    line = trim_blanks(line);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return unexpected(password_error{line_number, "expected user:hash"});
    }
    const std::string_view user = line.substr(0, colon);
    const std::string_view encoded = line.substr(colon + 1);
    if (!valid_user_name(user)) return unexpected(password_error{line_number, "invalid user name"});
    if (!parse_phc_parameters(encoded)) {
      return unexpected(password_error{line_number, "not an argon2id hash"});
    }
    if (out.entries_.size() >= bounds.max_users) {
      return unexpected(password_error{line_number, "too many users"});
    }
    if (!out.entries_.emplace(std::string(user), std::string(encoded)).second) {
      return unexpected(password_error{line_number, "duplicate user"});
    }
  }
  return out;
}

result<password_file, password_error> password_file::load(const std::string& path,
                                                          const password_file_limits& bounds) {
  auto text = read_small_file(path, bounds.max_size);
  if (!text) {
    if (text.error() == small_file_error::too_large) {
      return unexpected(password_error{0, "file too large"});
    }
    return unexpected(password_error{0, "cannot read password file " + path});
  }
  return parse(*text, bounds);
}

const std::string* password_file::find(std::string_view user) const {
  const auto it = entries_.find(user);
  return it == entries_.end() ? nullptr : &it->second;
}

result<void, password_error> password_file::set(std::string_view user, std::string encoded) {
  if (!valid_user_name(user)) return unexpected(password_error{0, "invalid user name"});
  if (!parse_phc_parameters(encoded)) return unexpected(password_error{0, "not an argon2id hash"});
  const auto it = entries_.find(user);
  if (it != entries_.end()) {
    it->second = std::move(encoded);
    return {};
  }
  if (entries_.size() >= bounds_.max_users) return unexpected(password_error{0, "too many users"});
  entries_.emplace(std::string(user), std::move(encoded));
  return {};
}

bool password_file::remove(std::string_view user) {
  const auto it = entries_.find(user);
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

std::string password_file::serialize() const {
  std::string out;
  for (const auto& [user, encoded] : entries_) {
    out += user;
    out += ':';
    out += encoded;
    out += '\n';
  }
  return out;
}

result<void, password_error> password_file::save(const std::string& path) const {
  const std::string temporary = path + ".tmp";
  // Mode 0600 from creation: the hashes are offline-attackable and must not be world-readable.
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return unexpected(password_error{0, "cannot write " + temporary});
  const std::string text = serialize();
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n <= 0) {
      ::close(fd);
      ::unlink(temporary.c_str());
      return unexpected(password_error{0, "cannot write " + temporary});
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return unexpected(password_error{0, "cannot replace " + path});
  }
  return {};
}

}  // namespace acemq::auth
