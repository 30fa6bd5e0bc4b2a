#pragma once
// First-run TLS material for development: a self-signed P-256 certificate for localhost,
// 127.0.0.1 and ::1, written with OpenSSL's C API. Never used when a certificate is configured.

#include <string>

namespace acemq::as {

struct dev_tls_files {
  std::string certificate;  // PEM; also the trust anchor clients pass as CA file
  std::string private_key;  // PEM, mode 0600
};

/// Returns the files in `directory`, creating them when absent (existing files are kept, so
/// clients that trust the certificate keep working). Throws std::runtime_error on failure.
dev_tls_files ensure_dev_tls(const std::string& directory);

}  // namespace acemq::as
