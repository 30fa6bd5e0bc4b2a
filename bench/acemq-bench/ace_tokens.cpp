#include "ace_tokens.hpp"

#include <acemq/ace_client/credentials.hpp>
#include <acemq/ace_client/https_token_client.hpp>
#include <acemq/common/clock.hpp>
#include <acemq/common/random.hpp>
#include <acemq/token/crypto/key.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace acemq::bench {

ace_tokens fetch_ace_tokens(const ace_settings& settings, mqtt::protocol_version version) {
  if (settings.tokens == 0) throw std::runtime_error("--ace-tokens must be at least 1");
  ace_tokens out;
  out.description =
      std::string("ace ") +
      (settings.method == ace_client::pop_method::exporter ? "exporter" : "challenge") +
      (settings.own_ed25519_key ? ", Ed25519 PoP key" : ", symmetric PoP key (HS256)");
  out.authentications.resize(settings.tokens);

  const ace_client::as_endpoint endpoint{.url = settings.as_url, .ca_file = settings.as_ca_file};
  std::atomic<unsigned> next{0};
  std::mutex failure_mutex;
  std::string first_failure;
  const auto fetch = [&] {
    for (unsigned i = next.fetch_add(1); i < settings.tokens; i = next.fetch_add(1)) {
      ace_client::token_request request{.client_id = settings.client_id,
                                        .client_secret = settings.client_secret,
                                        .audience = settings.audience,
                                        .scope = settings.scope,
                                        .own_key = std::nullopt,
                                        .cnonce = {},
                                        .format = ace_client::request_format::form};
      // One key per token, as a fleet of devices would hold: the same key for every token would
      // let a broker that caches per key skip work an uncached connection really costs.
      if (settings.own_ed25519_key) request.own_key = token::crypto::key::generate_ed25519();
      std::string failure;
      auto response = ace_client::request_token(endpoint, request);
      if (!response) {
        failure = "token request failed: " + ace_client::describe(response.error());
      } else {
        auto credentials =
            ace_client::make_credentials(*response, request.own_key, settings.audience,
                                         settings.as_url, system_clock::instance().unix_seconds());
        if (!credentials) {
          failure = "unusable token response: " + ace_client::describe(credentials.error());
        } else {
          // The client identifier is set per connection; the rest of the settings are shared.
          auto authentication = ace_client::ace_authentication::create(
              std::move(*credentials),
              ace_client::connect_settings{.method = settings.method,
                                           .version = version,
                                           .client_id = {},
                                           .keep_alive = 60,
                                           .clean_start = true,
                                           .draft06 = false,
                                           .token_in_connect = true},
              system_random::instance());
          if (!authentication) {
            failure = std::string(ace_client::describe(authentication.error()));
          } else {
            out.authentications[i] =
                std::make_shared<const ace_client::ace_authentication>(std::move(*authentication));
          }
        }
      }
      if (!failure.empty()) {
        std::lock_guard lock(failure_mutex);
        if (first_failure.empty()) first_failure = std::move(failure);
        next.store(settings.tokens);  // stop the other fetchers too
        return;
      }
    }
  };

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> fetchers;
  const unsigned threads = std::clamp(settings.fetch_threads, 1U, settings.tokens);
  for (unsigned i = 0; i < threads; ++i)
    fetchers.emplace_back(fetch);
  for (auto& fetcher : fetchers)
    fetcher.join();
  out.fetch_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!first_failure.empty()) throw std::runtime_error(first_failure);
  return out;
}

}  // namespace acemq::bench
