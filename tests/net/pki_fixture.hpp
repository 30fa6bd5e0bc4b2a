#pragma once
// A development PKI generated once per test program with the repository's scripts/dev-pki.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace acemq::net::testing {

/// The directory holding ca.pem, server.pem/key and client.pem/key; generated on first use.
inline const std::string& dev_pki_dir() {
  static const std::string dir = [] {
    const std::filesystem::path path = std::filesystem::path(ACEMQ_TEST_SCRATCH_DIR) / "pki";
    const std::string command =
        std::string(ACEMQ_DEV_PKI_SCRIPT) + " '" + path.string() + "' > /dev/null";
    if (std::system(command.c_str()) != 0) ADD_FAILURE() << "dev-pki failed: " << command;
    return path.string();
  }();
  return dir;
}

inline std::string pki_file(const char* name) {
  return dev_pki_dir() + "/" + name;
}

}  // namespace acemq::net::testing
