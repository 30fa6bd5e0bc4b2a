#include "acemq/auth/providers.hpp"

#include <charconv>
#include <exception>
#include <filesystem>
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

namespace {

result<bool, std::string> parse_flag(std::string_view key, std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return unexpected(std::string(key) + ": expected true or false");
}

result<std::int64_t, std::string> parse_count(std::string_view key, std::string_view value,
                                              std::int64_t low, std::int64_t high) {
  std::int64_t out = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (error != std::errc{} || end != value.data() + value.size() || out < low || out > high) {
    return unexpected(std::string(key) + ": expected an integer in " + std::to_string(low) + ".." +
                      std::to_string(high));
  }
  return out;
}

result<double, std::string> parse_rate(std::string_view key, std::string_view value) {
  double out = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (error != std::errc{} || end != value.data() + value.size() || !(out > 0) || out > 1e6) {
    return unexpected(std::string(key) + ": expected a positive number");
  }
  return out;
}

}  // namespace

result<bool, std::string> apply_setting(provider_settings& settings, std::string_view key,
                                        std::string_view value, const std::string& base_directory) {
  const auto path = [&](std::string& out) -> result<bool, std::string> {
    std::filesystem::path given{std::string(value)};
    if (!value.empty() && given.is_relative() && !base_directory.empty()) {
      given = std::filesystem::path(base_directory) / given;
    }
    out = value.empty() ? std::string{} : given.lexically_normal().string();
    return true;
  };
  const auto flag = [&](bool& out) -> result<bool, std::string> {
    auto parsed = parse_flag(key, value);
    if (!parsed) return unexpected(parsed.error());
    out = *parsed;
    return true;
  };
  const auto seconds = [&](std::chrono::seconds& out,
                           std::int64_t high) -> result<bool, std::string> {
    auto parsed = parse_count(key, value, 0, high);
    if (!parsed) return unexpected(parsed.error());
    out = std::chrono::seconds(*parsed);
    return true;
  };
  const auto rate = [&](double& out) -> result<bool, std::string> {
    auto parsed = parse_rate(key, value);
    if (!parsed) return unexpected(parsed.error());
    out = *parsed;
    return true;
  };
  if (key == "auth.acl_file") return path(settings.acl_file);
  if (key == "auth.password_file") return path(settings.password_file);
  if (key == "auth.password.pass_unknown_users") return flag(settings.password.pass_unknown_users);
  if (key == "auth.password.user_burst") return rate(settings.password.per_user.burst);
  if (key == "auth.password.user_refill_per_second")
    return rate(settings.password.per_user.refill_per_second);
  if (key == "auth.password.address_burst") return rate(settings.password.per_address.burst);
  if (key == "auth.password.address_refill_per_second")
    return rate(settings.password.per_address.refill_per_second);
  if (key == "auth.certificates") return flag(settings.certificates);
  if (key == "auth.certificate.identity") {
    auto source = parse_identity_source(value);
    if (!source) {
      return unexpected(std::string(key) + ": expected cn, san_dns, san_uri or san_email");
    }
    settings.certificate.identity = *source;
    return true;
  }
  if (key == "auth.certificate.crl_file") return path(settings.certificate.crl_file);
  if (key == "auth.certificate.crl_issuer_file") return path(settings.certificate.crl_issuer_file);
  if (key == "auth.certificate.require_tls13") return flag(settings.certificate.require_tls13);
  if (key == "auth.device_registry") return path(settings.device_registry);
  if (key == "auth.device_jwt.audience") {
    settings.device_jwt.audience = std::string(value);
    return true;
  }
  if (key == "auth.device_jwt.clock_skew") return seconds(settings.device_jwt.clock_skew, 3600);
  if (key == "auth.device_jwt.max_lifetime")
    return seconds(settings.device_jwt.max_lifetime, 7 * 24 * 3600);
  if (key == "auth.device_jwt.challenge_timeout")
    return seconds(settings.device_jwt.challenge_timeout, 600);
  if (key == "auth.device_jwt.max_pending_challenges") {
    auto parsed = parse_count(key, value, 1, 10'000'000);
    if (!parsed) return unexpected(parsed.error());
    settings.device_jwt.max_pending_challenges = static_cast<std::size_t>(*parsed);
    return true;
  }
  if (key == "auth.device_jwt.max_pending_challenges_per_address") {
    auto parsed = parse_count(key, value, 1, 10'000'000);
    if (!parsed) return unexpected(parsed.error());
    settings.device_jwt.max_pending_challenges_per_address = static_cast<std::size_t>(*parsed);
    return true;
  }
  return false;
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
