#include "acemq/app/port_file.hpp"

#include <filesystem>
#include <fstream>
#include <system_error>

namespace acemq::app {

bool write_port_file(const std::string& path, const std::vector<net::bound_listener>& listeners) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return false;
    for (const auto& listener : listeners)
      out << listener.name << ' ' << listener.port << '\n';
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  return !ec;
}

}  // namespace acemq::app
