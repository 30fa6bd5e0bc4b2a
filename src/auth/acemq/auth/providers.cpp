#include "acemq/auth/providers.hpp"

#include <exception>
#include <utility>

#include "acemq/common/log.hpp"

namespace acemq::auth {

std::vector<std::string> provider_set::reload() {
  std::vector<std::string> problems;
  if (acl && !acl->path().empty()) {
    if (auto reloaded = acl->reload(); !reloaded) {
      problems.push_back("ACL line " + std::to_string(reloaded.error().line) + ": " +
                         reloaded.error().message);
    }
  }
  if (password && !password_file.empty()) {
    auto users = password_file::load(password_file);
    if (users) {
      password->replace_users(std::make_shared<const auth::password_file>(std::move(*users)));
    } else {
      problems.push_back("password file line " + std::to_string(users.error().line) + ": " +
                         users.error().message);
    }
  }
  if (certificate) {
    if (auto reloaded = certificate->reload_crl(); !reloaded) problems.push_back(reloaded.error());
  }
  return problems;
}

result<provider_set, std::string> make_providers(const provider_settings& settings,
                                                 const clock& time, random_source& random,
                                                 executor offload) {
  provider_set out;
  if (settings.acl_file.empty()) {
    spdlog::warn(
        "auth: no ACL file; password, certificate and device identities may use every "
        "topic");
    out.acl = std::make_shared<acl_store>(acl::allow_all());
  } else {
    auto rules = load_acl_file(settings.acl_file);
    if (!rules) {
      return unexpected(settings.acl_file + ":" + std::to_string(rules.error().line) + ": " +
                        rules.error().message);
    }
    out.acl = std::make_shared<acl_store>(std::move(*rules), settings.acl_file);
  }

  if (!settings.device_registry.empty()) {
    if (settings.device_jwt.audience.empty()) {
      return unexpected(std::string("auth.device_jwt.audience must name this broker"));
    }
    auto registry = device_registry::open(settings.device_registry, settings.registry);
    if (!registry) return unexpected(registry.error().message);
    out.registry = std::shared_ptr<device_registry>(std::move(*registry));
    out.device_jwt = std::make_shared<device_jwt_provider>(out.registry, out.acl,
                                                           settings.device_jwt, time, random);
    out.providers.push_back(out.device_jwt);
  }
  if (settings.certificates) {
    try {
      out.certificate = std::make_shared<certificate_provider>(settings.certificate, out.acl);
    } catch (const std::exception& error) {
      return unexpected(std::string(error.what()));
    }
    out.providers.push_back(out.certificate);
  }
  if (!settings.password_file.empty()) {
    auto users = password_file::load(settings.password_file);
    if (!users) {
      return unexpected(settings.password_file + ":" + std::to_string(users.error().line) + ": " +
                        users.error().message);
    }
    out.password_file = settings.password_file;
    out.password = std::make_shared<password_provider>(
        std::make_shared<const password_file>(std::move(*users)), out.acl, time, settings.password,
        std::move(offload));
    out.providers.push_back(out.password);
  }
  return out;
}

}  // namespace acemq::auth
