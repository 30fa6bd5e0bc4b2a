#include "acemq/app/auth_setup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <utility>
#include "acemq/common/small_file.hpp"

#include "acemq/ace/authenticator.hpp"
#include "acemq/ace/authz_info.hpp"
#include "acemq/ace/discovery.hpp"
#include "acemq/ace/https_as_client.hpp"
#include "acemq/ace/revocation.hpp"
#include "acemq/ace/token_store.hpp"
#include "acemq/ace/token_validator.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::app {

/// The ACE provider's object graph, in construction order (each refers to the ones before it,
/// so they are destroyed in reverse).
struct authentication::ace_parts {
  ace::ace_settings settings;
  std::unique_ptr<ace::https_as_client> as;
  std::unique_ptr<ace::revocation_list> revocations;
  std::unique_ptr<ace::cnonce_registry> cnonces;
  std::unique_ptr<ace::token_store> store;
  std::shared_ptr<ace::token_validator> validator;
  std::shared_ptr<ace::ace_authenticator> provider;
  std::unique_ptr<ace::authz_info_handler> authz_info;
  std::shared_ptr<ace::authz_info_interceptor> interceptor;
  std::shared_ptr<ace::revocation_poller> poller;

  ~ace_parts() {
    // The AS client's thread completes calls in flight; stop it before the objects its
    // completions reach (validator, revocation list) go away.
    poller.reset();
    as.reset();
  }
};

namespace {

/// A small text file (keys, a secret) whole, or why not as a message naming the file.
result<std::string, std::string> read_text_file(const std::string& path, std::size_t limit) {
  auto text = read_small_file(path, limit);
  if (text) return std::move(*text);
  if (text.error() == small_file_error::too_large) {
    return unexpected(path + ": larger than " + std::to_string(limit));
  }
  return unexpected(path + ": cannot be read");
}

result<std::vector<token::crypto::key>, std::string> read_key_set(const std::string& path) {
  auto text = read_text_file(path, 1024 * 1024);
  if (!text) return unexpected(text.error());
  auto parsed = token::jose::parse_jwk_set(*text);
  if (!parsed) return unexpected(path + ": not a usable JWK Set");
  return parsed->keys();
}

/// Counts the outcomes of one provider for /metrics; everything else is forwarded unchanged.
class counted_provider final : public broker::authenticator {
 public:
  counted_provider(std::shared_ptr<broker::authenticator> inner,
                   std::shared_ptr<provider_counters> counters)
      : inner_(std::move(inner)), counters_(std::move(counters)) {}

  std::string_view name() const override { return inner_->name(); }
  void start(const broker::authentication_request& request, completion done) override {
    inner_->start(request, counting(std::move(done)));
  }
  void continue_auth(const broker::authentication_request& request, completion done) override {
    inner_->continue_auth(request, counting(std::move(done)));
  }
  void reauthenticate(const broker::authentication_request& request, completion done) override {
    inner_->reauthenticate(request, counting(std::move(done)));
  }
  void connection_closed(std::string_view listener_name, std::string_view remote_address) override {
    inner_->connection_closed(listener_name, remote_address);
  }

 private:
  completion counting(completion done) const {
    return [counters = counters_, done = std::move(done)](broker::auth_step step) {
      if (step.what == broker::auth_step::kind::success) {
        counters->successes.fetch_add(1, std::memory_order_relaxed);
      } else if (step.what == broker::auth_step::kind::failure) {
        counters->failures[static_cast<std::uint8_t>(step.reason)].fetch_add(
            1, std::memory_order_relaxed);
      }
      done(std::move(step));
    };
  }

  std::shared_ptr<broker::authenticator> inner_;
  std::shared_ptr<provider_counters> counters_;
};

}  // namespace

authentication::~authentication() = default;

result<std::unique_ptr<authentication>, std::string> authentication::assemble(
    const app_config& config, const clock& time, random_source& random) {
  std::unique_ptr<authentication> out(new authentication());
  std::vector<std::pair<std::string, std::shared_ptr<broker::authenticator>>> raw;

  if (config.ace.enabled) {
    auto parts = std::make_unique<ace_parts>();
    parts->settings = config.ace.settings;
    if (!config.ace.keys_file.empty()) {
      auto keys = read_key_set(config.ace.keys_file);
      if (!keys) return unexpected("ace.keys_file: " + keys.error());
      parts->settings.keys.issuer_keys = std::move(*keys);
    }
    if (!config.ace.decryption_keys_file.empty()) {
      auto keys = read_key_set(config.ace.decryption_keys_file);
      if (!keys) return unexpected("ace.decryption_keys_file: " + keys.error());
      parts->settings.keys.decryption_keys = std::move(*keys);
    }
    if (!config.ace.discovery.as_uri.empty()) parts->settings.discovery = config.ace.discovery;
    if (!config.ace.as.base_url.empty()) {
      ace::https_as_settings as_settings = config.ace.as;
      if (!config.ace.as_client_secret_file.empty()) {
        auto secret = read_text_file(config.ace.as_client_secret_file, 4096);
        if (!secret) return unexpected("ace.as.client_secret_file: " + secret.error());
        // A trailing newline from an editor is not part of the secret.
        while (!secret->empty() && (secret->back() == '\n' || secret->back() == '\r'))
          secret->pop_back();
        as_settings.client_secret = std::move(*secret);
      }
      try {
        parts->as = std::make_unique<ace::https_as_client>(std::move(as_settings));
      } catch (const std::exception& error) {
        return unexpected(std::string("ace.as: ") + error.what());
      }
      parts->revocations =
          std::make_unique<ace::revocation_list>(parts->settings.max_revoked_entries, time);
    } else if (parts->settings.keys.issuer_keys.empty()) {
      return unexpected(std::string(
          "ace: no AS verification keys: set ace.keys_file or ace.as.base_url (for /jwks)"));
    }
    parts->cnonces = std::make_unique<ace::cnonce_registry>(
        parts->settings.max_cnonces, parts->settings.cnonce_lifetime, time, random);
    parts->store = std::make_unique<ace::token_store>(parts->settings.store, time);
    parts->validator = std::make_shared<ace::token_validator>(
        parts->settings, time, parts->as.get(), parts->revocations.get(), parts->cnonces.get());
    // RFC 9431 2.2.5: a cnf that names only a kid refers to a key the broker already holds,
    // i.e. the PoP key of a token uploaded to authz-info.
    parts->validator->set_key_lookup(
        [store = parts->store.get()](byte_view kid) -> std::optional<token::crypto::key> {
          if (auto held = store->find_by_kid(kid)) return held->pop_key;
          return std::nullopt;
        });
    parts->provider = std::make_shared<ace::ace_authenticator>(
        parts->settings, parts->validator, *parts->store, parts->cnonces.get(), time, random);
    parts->authz_info = std::make_unique<ace::authz_info_handler>(*parts->validator, *parts->store);
    parts->interceptor = std::make_shared<ace::authz_info_interceptor>(*parts->authz_info);
    if (parts->as) {
      parts->poller = std::make_shared<ace::revocation_poller>(
          *parts->as, *parts->revocations, parts->settings.revocation_poll_interval, time);
    }
    raw.emplace_back("ace", parts->provider);
    out->ace_ = std::move(parts);
  }

  auto built = auth::make_providers(config.auth, time, random);
  if (!built) return unexpected(built.error());
  out->providers_ = std::make_unique<auth::provider_set>(std::move(*built));
  // make_providers' order: device JWT, client certificate, password.
  if (out->providers_->device_jwt) raw.emplace_back("device_jwt", out->providers_->device_jwt);
  if (out->providers_->certificate) raw.emplace_back("certificate", out->providers_->certificate);
  if (out->providers_->password) raw.emplace_back("password", out->providers_->password);
  const bool anonymous_listed = [&config] {
    for (const auto& listener : config.server.listeners) {
      for (const auto& name : listener.auth) {
        if (name == "anonymous") return true;
      }
    }
    return false;
  }();
  if (config.allow_anonymous || anonymous_listed) {
    raw.emplace_back("anonymous",
                     std::make_shared<broker::allow_anonymous>(config.anonymous_topics));
  }
  if (out->ace_) {
    // RFC 9431 2.2.1 TLS:Anon,MQTT:None: a client without credentials may connect over TLS to
    // publish its token to authz-info and do nothing else. After the real providers, so any
    // client that presents credentials is judged by them.
    raw.emplace_back("public_topics_only", std::make_shared<broker::public_topics_only>(true));
  }

  for (auto& [name, provider] : raw) {
    auto counters = std::make_shared<provider_counters>();
    counters->provider = name;
    out->counters_.push_back(counters);
    out->named_.emplace_back(name, std::make_shared<counted_provider>(provider, counters));
  }
  auto deny = std::make_shared<provider_counters>();
  deny->provider = "deny_all";
  out->counters_.push_back(deny);
  const auto deny_all =
      std::make_shared<counted_provider>(std::make_shared<broker::deny_all>(), deny);

  std::vector<std::shared_ptr<broker::authenticator>> chain;
  for (const auto& [name, provider] : out->named_) {
    // allow_anonymous joins the default chain only when enabled globally; a listener may still
    // list it explicitly.
    if (name == "anonymous" && !config.allow_anonymous) continue;
    chain.push_back(provider);
  }
  chain.push_back(deny_all);
  out->default_chain_ = std::make_shared<const broker::auth_chain>(std::move(chain));

  for (const auto& listener : config.server.listeners) {
    if (listener.auth.empty()) continue;
    std::vector<std::shared_ptr<broker::authenticator>> own;
    for (const auto& wanted : listener.auth) {
      const auto found =
          std::find_if(out->named_.begin(), out->named_.end(),
                       [&wanted](const auto& named) { return named.first == wanted; });
      if (found == out->named_.end()) {
        return unexpected("listener." + listener.name + ".auth: provider \"" + wanted +
                          "\" is not configured (see docs/authentication.md)");
      }
      own.push_back(found->second);
    }
    own.push_back(deny_all);
    out->listener_chains_.emplace_back(listener.name,
                                       std::make_shared<const broker::auth_chain>(std::move(own)));
  }
  return out;
}

std::shared_ptr<const broker::auth_chain> authentication::chain_for(
    const listener_config& listener) const {
  for (const auto& [name, chain] : listener_chains_) {
    if (name == listener.name) return chain;
  }
  return nullptr;
}

std::vector<std::string> authentication::provider_names() const {
  std::vector<std::string> names;
  for (const auto& counters : counters_)
    names.push_back(counters->provider);
  return names;
}

std::shared_ptr<broker::publish_interceptor> authentication::interceptor_for(
    const listener_config& listener) const {
  if (!ace_) return nullptr;
  // Uploads to authz-info serve the ACE provider and TLS:Anon,MQTT:None clients alike.
  const auto listed = [&listener](std::string_view name) {
    return std::find(listener.auth.begin(), listener.auth.end(), name) != listener.auth.end();
  };
  const bool uploads = listener.auth.empty() || listed("ace") || listed("public_topics_only");
  return uploads ? ace_->interceptor : nullptr;
}

void authentication::on_revocation(std::function<void()> notify) {
  if (!ace_ || !ace_->revocations || !notify) return;
  ace_->revocations->set_listener(
      [notify = std::move(notify)](const ace::validated_token_ptr&) { notify(); });
}

net::psk_lookup authentication::psk() const {
  if (!ace_ || !ace_->settings.allow_psk_identity) return {};
  // The provider outlives every TLS context: the server is destroyed before this object.
  std::weak_ptr<ace::ace_authenticator> provider = ace_->provider;
  return [provider](std::string_view identity) -> std::optional<byte_vector> {
    if (auto alive = provider.lock()) return alive->psk_for_identity(identity);
    return std::nullopt;
  };
}

void authentication::set_ace_token_journal(ace::token_journal* journal) {
  if (ace_) ace_->store->set_journal(journal);
}

std::size_t authentication::restore_ace_tokens(std::vector<ace::journal_record> records) {
  if (!ace_) return 0;
  ace::token_store& store = *ace_->store;
  for (ace::journal_record& record : records) {
    ace_->validator->validate(
        record.raw, [&store, names = std::move(record.names)](ace::token_validator::outcome done) {
          if (!done) {
            spdlog::info("ace: a stored token was not restored: {}",
                         ace::to_string(done.error().reason));
            return;
          }
          if (names.empty()) store.put(*done, {});
          for (const std::string& name : names)
            store.put(*done, name);
          spdlog::info("ace: restored a stored token for {} client name(s)", names.size());
        });
  }
  return records.size();
}

void authentication::tick() {
  if (ace_ && ace_->poller) ace_->poller->tick();
}

std::vector<std::string> authentication::reload() {
  if (!providers_) return {};
  return providers_->reload();
}

}  // namespace acemq::app
