// acemq-as: the authorization server program. `serve` runs HTTPS; `admin ...` manages clients,
// resource servers, owners, grants and signing keys in the data directory.

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>
#include <optional>

#include "acemq/as/audit.hpp"
#include "acemq/as/config.hpp"
#include "acemq/as/dev_tls.hpp"
#include "acemq/as/https_front.hpp"
#include "acemq/as/key_ring.hpp"
#include "acemq/as/secret_hash.hpp"
#include "acemq/as/service.hpp"
#include "acemq/as/sqlite_storage.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/log.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/crypto/algorithm.hpp"

namespace {

using namespace acemq::as;
namespace fs = std::filesystem;

/// Everything a command needs: configuration, storage, keys and the service.
struct context {
  server_config config;
  std::unique_ptr<sqlite_storage> store;
  std::optional<key_ring> keys;
  std::unique_ptr<audit_sink> audit;
  std::optional<authorization_service> service;

  void open() {
    fs::create_directories(config.data_dir);
    fs::permissions(config.data_dir, fs::perms::owner_all, fs::perm_options::replace);
    auto opened = sqlite_storage::open((fs::path(config.data_dir) / "acemq-as.db").string());
    if (!opened) throw std::runtime_error(opened.error().message);
    store = std::move(*opened);
    const auto algorithm = acemq::token::crypto::algorithm_from_jose_name(config.signing_algorithm)
                               .value_or(acemq::token::crypto::algorithm::eddsa);
    keys.emplace(key_ring::load(*store, algorithm, acemq::system_clock::instance().unix_seconds()));
    const fs::path audit_path = fs::path(config.audit_log).is_absolute()
                                    ? fs::path(config.audit_log)
                                    : fs::path(config.data_dir) / config.audit_log;
    audit = std::make_unique<file_audit_sink>(audit_path.string());
    service.emplace(config.service, *store, *keys, acemq::system_clock::instance(),
                    acemq::system_random::instance(), *audit);
  }
};

std::string secret_or_generated(const std::string& given, bool& generated) {
  generated = given.empty();
  return generated ? generate_secret(acemq::system_random::instance()) : given;
}

std::uint8_t parse_permissions(const std::string& text) {
  std::uint8_t bits = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item == "pub") {
      bits |= 0x01;
    } else if (item == "sub") {
      bits |= 0x02;
    } else {
      throw std::runtime_error("permissions are pub, sub or pub,sub");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return bits;
}

template <typename T>
T check(acemq::as::storage_result<T> outcome) {
  if (!outcome) throw std::runtime_error(outcome.error().message);
  return std::move(*outcome);
}
void check(acemq::as::storage_result<void> outcome) {
  if (!outcome) throw std::runtime_error(outcome.error().message);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"acemq-as: OAuth 2.0 / ACE authorization server for acemq (RFC 9200, RFC 9431)"};
  app.require_subcommand(1);
  std::string config_file;
  std::string data_dir;
  app.add_option("-c,--config", config_file, "TOML configuration file");
  app.add_option("-d,--data-dir", data_dir, "data directory (database, keys, dev TLS, audit log)");

  auto* serve = app.add_subcommand("serve", "run the HTTPS server");
  std::string listen_address;
  int port = -1;
  std::string issuer;
  serve->add_option("--listen", listen_address, "address to listen on");
  serve->add_option("--port", port, "TCP port (0 = any free port)");
  serve->add_option("--issuer", issuer, "issuer URL (iss claim, metadata)");

  auto* admin =
      app.add_subcommand("admin", "manage clients, resource servers, owners, grants, keys");
  admin->require_subcommand(1);

  auto* client = admin->add_subcommand("client", "clients of the token endpoint");
  client->require_subcommand(1);
  auto* client_create = client->add_subcommand("create", "register a client");
  std::string client_id, secret, thumbprint, refresh = "none";
  bool no_client_credentials = false;
  std::int64_t refresh_lifetime = 30 * 24 * 3600;
  client_create->add_option("client_id", client_id)->required();
  client_create->add_option("--secret", secret, "client secret (generated when omitted)");
  client_create->add_option("--cert-thumbprint", thumbprint,
                            "base64url SHA-256 of the client's DER certificate (tls_client_auth)");
  client_create->add_option("--refresh", refresh, "refresh tokens: none, constant or rotating");
  client_create->add_option("--refresh-lifetime", refresh_lifetime, "refresh token lifetime (s)");
  client_create->add_flag("--no-client-credentials", no_client_credentials,
                          "refuse the client_credentials grant");
  auto* client_list = client->add_subcommand("list", "list clients");

  auto* rs = admin->add_subcommand("rs", "resource servers (audiences)");
  rs->require_subcommand(1);
  auto* rs_create = rs->add_subcommand("create", "register a resource server");
  std::string audience, format = "jwt", rs_cnf, encryption_key;
  std::int64_t lifetime = 3600;
  bool use_exi = false;
  rs_create->add_option("audience", audience)->required();
  rs_create->add_option("--secret", secret, "introspection secret (generated when omitted)");
  rs_create->add_option("--format", format, "token format: jwt, cwt or reference");
  rs_create->add_option("--lifetime", lifetime, "access token lifetime (s)");
  rs_create->add_flag("--exi", use_exi, "add exi (RFC 9200 5.10.3)");
  rs_create->add_option("--rs-cnf", rs_cnf, "JSON rs_cnf object, e.g. {\"jwk\":{...}}");
  rs_create->add_option("--encryption-key", encryption_key,
                        "JWK the symmetric PoP keys are encrypted to (generated when omitted)");
  auto* rs_list = rs->add_subcommand("list", "list resource servers");

  auto* owner = admin->add_subcommand("owner", "resource owners and their topic subtrees");
  owner->require_subcommand(1);
  auto* owner_create = owner->add_subcommand("create", "register an owner");
  std::string owner_id, display_name;
  std::vector<std::string> subtrees;
  owner_create->add_option("owner_id", owner_id)->required();
  owner_create->add_option("--secret", secret, "owner API secret (generated when omitted)");
  owner_create->add_option("--name", display_name, "display name");
  owner_create->add_option("--subtree", subtrees,
                           "AUDIENCE=FILTER the owner controls (repeatable)");
  auto* owner_list = owner->add_subcommand("list", "list owners and subtrees");

  auto* grant = admin->add_subcommand("grant", "grants: an owner lets a client use a filter");
  grant->require_subcommand(1);
  auto* grant_create = grant->add_subcommand("create", "create a grant");
  std::string filter, permissions = "pub,sub";
  std::int64_t grant_id = 0;
  grant_create->add_option("--owner", owner_id)->required();
  grant_create->add_option("--client", client_id)->required();
  grant_create->add_option("--audience", audience)->required();
  grant_create->add_option("--filter", filter)->required();
  grant_create->add_option("--permissions", permissions, "pub, sub or pub,sub");
  grant_create->add_option("--lifetime", lifetime, "seconds until the grant ends");
  auto* grant_list = grant->add_subcommand("list", "list grants");
  grant_list->add_option("--owner", owner_id);
  grant_list->add_option("--client", client_id);
  auto* grant_revoke =
      grant->add_subcommand("revoke", "revoke a grant (tokens it covered stop at once)");
  grant_revoke->add_option("grant_id", grant_id)->required();
  grant_revoke->add_option("--owner", owner_id)->required();

  auto* keys = admin->add_subcommand("keys", "signing keys");
  keys->require_subcommand(1);
  auto* keys_rotate = keys->add_subcommand("rotate", "retire the current key and create a new one");
  auto* keys_list = keys->add_subcommand("list", "list signing keys");

  CLI11_PARSE(app, argc, argv);

  try {
    context ctx;
    ctx.config = config_file.empty() ? default_config() : load_config(config_file);
    if (!data_dir.empty()) ctx.config.data_dir = data_dir;
    if (!listen_address.empty()) ctx.config.https.address = listen_address;
    if (port >= 0) ctx.config.https.port = static_cast<std::uint16_t>(port);
    if (!acemq::log::set_level(ctx.config.log_level)) throw std::runtime_error("bad log_level");
    // Client ids, owner ids and scopes in messages come from requests.
    acemq::log::use_escaping_text_format();
    ctx.open();
    auto& random = acemq::system_random::instance();
    const auto now = acemq::system_clock::instance().unix_seconds();

    if (serve->parsed()) {
      auto https = ctx.config.https;
      if (https.certificate_file.empty()) {
        const auto files = ensure_dev_tls((fs::path(ctx.config.data_dir) / "tls").string());
        https.certificate_file = files.certificate;
        https.private_key_file = files.private_key;
      }
      auto server =
          make_https_front(https, [&]() -> authorization_service& { return *ctx.service; });
      const auto bound = server.start();
      if (!issuer.empty()) {
        ctx.config.service.issuer = issuer;
      } else if (config_file.empty() || port >= 0) {
        ctx.config.service.issuer = "https://" + https.address + ":" + std::to_string(bound);
      }
      // The service was built before the port was known; rebuild it with the final issuer.
      ctx.service.emplace(ctx.config.service, *ctx.store, *ctx.keys,
                          acemq::system_clock::instance(), random, *ctx.audit);
      std::cout << "acemq-as listening on https://" << https.address << ":" << bound << " issuer "
                << ctx.config.service.issuer << " certificate " << https.certificate_file
                << std::endl;
      server.run();
      return 0;
    }
    auto& store = *ctx.store;
    bool generated = false;
    if (client_create->parsed()) {
      const auto mode = refresh_mode_from_string(refresh);
      if (!mode) throw std::runtime_error("--refresh is none, constant or rotating");
      client_record record;
      record.client_id = client_id;
      const auto plain = secret_or_generated(secret, generated);
      record.secret_hash = hash_secret(plain, random);
      record.certificate_thumbprint = thumbprint;
      record.allow_client_credentials = !no_client_credentials;
      record.refresh = *mode;
      record.refresh_lifetime = refresh_lifetime;
      record.created_at = now;
      check(store.insert_client(record));
      std::cout << "client " << client_id << " created";
      if (generated) std::cout << "\nclient_secret " << plain;
      std::cout << std::endl;
    } else if (client_list->parsed()) {
      for (const auto& c : check(store.list_clients())) {
        std::cout << c.client_id << " refresh=" << to_string(c.refresh)
                  << " client_credentials=" << (c.allow_client_credentials ? "yes" : "no")
                  << (c.certificate_thumbprint.empty() ? "" : " tls_client_auth") << '\n';
      }
    } else if (rs_create->parsed()) {
      const auto token_format_value = token_format_from_string(format);
      if (!token_format_value) throw std::runtime_error("--format is jwt, cwt or reference");
      resource_server_record record;
      record.audience = audience;
      const auto plain = secret_or_generated(secret, generated);
      record.secret_hash = hash_secret(plain, random);
      record.format = *token_format_value;
      record.token_lifetime = lifetime;
      record.use_exi = use_exi;
      record.rs_cnf = rs_cnf;
      bool key_generated = encryption_key.empty();
      record.encryption_key = key_generated ? R"({"kty":"oct","k":")" +
                                                  acemq::base64url_encode(random.bytes(16)) + "\"}"
                                            : encryption_key;
      record.created_at = now;
      check(store.insert_resource_server(record));
      std::cout << "resource server " << audience << " created";
      if (generated) std::cout << "\nsecret " << plain;
      if (key_generated) std::cout << "\nencryption_key " << record.encryption_key;
      std::cout << std::endl;
    } else if (rs_list->parsed()) {
      for (const auto& s : check(store.list_resource_servers())) {
        std::cout << s.audience << " format=" << to_string(s.format)
                  << " lifetime=" << s.token_lifetime << (s.use_exi ? " exi" : "") << '\n';
      }
    } else if (owner_create->parsed()) {
      owner_record record;
      record.owner_id = owner_id;
      const auto plain = secret_or_generated(secret, generated);
      record.secret_hash = hash_secret(plain, random);
      record.display_name = display_name;
      record.created_at = now;
      check(store.insert_owner(record));
      for (const auto& subtree : subtrees) {
        const auto equals = subtree.find('=');
        if (equals == std::string::npos) throw std::runtime_error("--subtree is AUDIENCE=FILTER");
        check(store.insert_owner_subtree(
            {owner_id, subtree.substr(0, equals), subtree.substr(equals + 1)}));
      }
      std::cout << "owner " << owner_id << " created";
      if (generated) std::cout << "\nsecret " << plain;
      std::cout << std::endl;
    } else if (owner_list->parsed()) {
      for (const auto& o : check(store.list_owners())) {
        std::cout << o.owner_id << " " << o.display_name << '\n';
        for (const auto& s : check(store.list_owner_subtrees(o.owner_id))) {
          std::cout << "  " << s.audience << " " << s.filter << '\n';
        }
      }
    } else if (grant_create->parsed()) {
      grant_record record;
      record.owner_id = owner_id;
      record.client_id = client_id;
      record.audience = audience;
      record.filter = filter;
      record.permissions = parse_permissions(permissions);
      record.not_after = now + lifetime;
      auto created = ctx.service->create_grant(record);
      if (!created) throw std::runtime_error(created.error().description);
      std::cout << "grant " << created->grant_id << " created" << std::endl;
    } else if (grant_list->parsed()) {
      grant_query query;
      query.owner_id = owner_id;
      query.client_id = client_id;
      query.include_inactive = true;
      for (const auto& g : check(store.list_grants(query))) {
        std::cout << g.grant_id << " owner=" << g.owner_id << " client=" << g.client_id
                  << " audience=" << g.audience << " filter=" << g.filter
                  << " permissions=" << int{g.permissions} << " not_after=" << g.not_after
                  << (g.revoked_at != 0 ? " revoked" : "") << '\n';
      }
    } else if (grant_revoke->parsed()) {
      auto revoked = ctx.service->revoke_grant(owner_id, grant_id);
      if (!revoked) throw std::runtime_error(revoked.error().description);
      std::cout << "grant " << grant_id << " revoked; tokens revoked: " << revoked->tokens_revoked
                << std::endl;
    } else if (keys_rotate->parsed()) {
      check(ctx.service->rotate_signing_key());
      std::cout << "current signing key " << ctx.keys->current().record.kid << std::endl;
    } else if (keys_list->parsed()) {
      for (const auto& k : ctx.keys->keys()) {
        std::cout << k.record.kid << " " << k.record.algorithm
                  << (k.record.retired_at == 0
                          ? " current"
                          : " retired, published until " + std::to_string(k.record.publish_until))
                  << '\n';
      }
    }
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "acemq-as: " << error.what() << std::endl;
    return 1;
  }
}
