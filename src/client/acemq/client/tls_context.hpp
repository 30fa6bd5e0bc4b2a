#pragma once
// TLS settings for client connections, loaded once and shared by many connections (loading a CA
// file per connection would dominate a connection-rate measurement).

#include <acemq/common/bytes.hpp>
#include <acemq/common/result.hpp>

#include <functional>
#include <memory>
#include <string>

namespace acemq::client {

/// Oldest TLS version offered.
enum class tls_version : std::uint8_t {
  tls1_2 = 0x12,
  tls1_3 = 0x13,
};

/// How to verify the server and who the client is.
struct tls_options {
  /// PEM trust anchors; empty uses OpenSSL's default verify paths.
  std::string ca_file;
  /// Client certificate chain and key (PEM) for certificate authentication; both or neither.
  std::string certificate_file;
  std::string private_key_file;
  /// Verify the server's chain and name (the name is the connection's server_name or host).
  bool verify_peer = true;
  tls_version minimum_version = tls_version::tls1_2;
  /// Optional pinning: called after verification with the server's leaf certificate (DER);
  /// returning false aborts the connection with tls_error.
  std::function<bool(byte_view leaf_certificate_der)> pin;
};

/// An OpenSSL client context built from tls_options; immutable once created, thread-safe to share.
class tls_context {
 public:
  /// Loads the files; the error text names the file or setting that failed.
  static result<std::shared_ptr<const tls_context>, std::string> create(tls_options options);

  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  const tls_options& options() const noexcept;

  struct impl;
  /// For the connection driver only.
  impl& implementation() const noexcept { return *impl_; }

 private:
  explicit tls_context(std::unique_ptr<impl> implementation);
  std::unique_ptr<impl> impl_;
};

}  // namespace acemq::client
