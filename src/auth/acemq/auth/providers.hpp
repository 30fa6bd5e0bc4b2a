#pragma once
// Assembles the non-ACE providers from configuration, for the broker program. The order in the
// chain is: device JWT (claims requests whose client id is a registered device), client
// certificate (claims requests with a verified certificate and no password), password.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/auth/acl.hpp"
#include "acemq/auth/certificate_provider.hpp"
#include "acemq/auth/device_jwt_provider.hpp"
#include "acemq/auth/device_registry.hpp"
#include "acemq/auth/password_provider.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"

namespace acemq::auth {

/// Every setting of the providers (TOML keys `auth.*` in the broker configuration; see
/// docs/authentication.md). An empty path disables the provider that needs it.
struct provider_settings {
  std::string acl_file;       ///< empty: authenticated identities may do everything
  std::string password_file;  ///< enables the password provider
  password_provider_settings password;
  bool certificates = false;  ///< enables the client-certificate provider
  certificate_provider_settings certificate;
  std::string device_registry;  ///< SQLite path; enables the device JWT provider
  device_jwt_settings device_jwt;
  registry_limits registry;
};

/// The assembled providers and the handles needed to reload them (SIGHUP).
struct provider_set {
  std::vector<std::shared_ptr<broker::authenticator>> providers;  ///< chain order
  std::shared_ptr<acl_store> acl;
  std::shared_ptr<password_provider> password;        ///< may be null
  std::shared_ptr<certificate_provider> certificate;  ///< may be null
  std::shared_ptr<device_jwt_provider> device_jwt;    ///< may be null
  std::shared_ptr<device_registry> registry;          ///< may be null
  std::string password_file;

  /// Re-reads the ACL, the password file and the CRL. Each part that fails to load keeps its
  /// previous state; the messages of the failures are returned (empty = all reloaded).
  std::vector<std::string> reload();
};

/// Applies one `auth.*` setting given as text (the TOML value without quotes), for the broker's
/// configuration loader and `--set auth.<key>=<value>`. Returns false for a key this library does
/// not own (e.g. `auth.allow_anonymous`), an error message for a bad value. Relative paths are
/// resolved against `base_directory` when it is not empty. Keys: see docs/authentication.md.
result<bool, std::string> apply_setting(provider_settings& settings, std::string_view key,
                                        std::string_view value,
                                        const std::string& base_directory = {});

/// Builds the providers; a configuration error (unreadable file, bad ACL, missing audience) is
/// returned as a message. `time` and `random` must outlive the providers.
result<provider_set, std::string> make_providers(const provider_settings& settings,
                                                 const clock& time, random_source& random,
                                                 executor offload = {});

}  // namespace acemq::auth
