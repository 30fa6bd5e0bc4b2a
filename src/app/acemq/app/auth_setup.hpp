#pragma once
// The authentication chain of the broker program, assembled from configuration (conventions 5):
//
//   ace (RFC 9431) -> device_jwt -> certificate -> password -> anonymous
//     -> public_topics_only (with ACE: TLS:Anon,MQTT:None, RFC 9431 2.2.1) -> deny_all
//
// Each provider claims only the requests it understands and passes the rest down the chain
// (auth_step::next_provider); deny_all always ends it. A listener may name a subset of the
// providers (listener.<name>.auth) in its own order; deny_all still ends its chain. Configuration
// parsing stays in the providers' own libraries (acemq::auth::apply_setting for auth.*); this
// file only builds the objects in the order their lifetimes require and keeps them alive.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "acemq/ace/token_store.hpp"
#include "acemq/app/app_config.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"
#include "acemq/net/tls.hpp"

namespace acemq::app {

/// Outcomes of one provider, for /metrics. Relaxed atomics, read at any time.
struct provider_counters {
  std::string provider;
  std::atomic<std::uint64_t> successes{0};
  /// Failures by MQTT reason code (0x87 not authorized, 0x86 bad user name or password, ...).
  std::array<std::atomic<std::uint64_t>, 256> failures{};
};

/// The assembled providers, the chains built from them and the handles needed at run time
/// (SIGHUP reload, revocation polling, the TLS-PSK lookup). Not copyable; create with assemble().
class authentication {
 public:
  /// Builds every configured provider. Errors (unreadable key or password file, bad ACL, an
  /// AS URL that does not parse) are messages for the operator. `time` and `random` must
  /// outlive the object.
  static result<std::unique_ptr<authentication>, std::string> assemble(const app_config& config,
                                                                       const clock& time,
                                                                       random_source& random);
  ~authentication();
  authentication(const authentication&) = delete;
  authentication& operator=(const authentication&) = delete;

  /// Every configured provider in the documented order, then deny_all.
  std::shared_ptr<const broker::auth_chain> default_chain() const { return default_chain_; }
  /// The chain of a listener with its own `auth` list; null = the default chain.
  std::shared_ptr<const broker::auth_chain> chain_for(const listener_config& listener) const;
  /// The provider names of the default chain, in order (for logs and docs).
  std::vector<std::string> provider_names() const;

  /// RFC 9431 2.2.2: the authz-info interceptor for a listener whose chain contains the ACE
  /// provider; null otherwise (or when ACE is disabled).
  std::shared_ptr<broker::publish_interceptor> interceptor_for(
      const listener_config& listener) const;

  /// Called (from the AS client's thread) whenever the AS revocation list marks a live token
  /// revoked, e.g. to wake the connections so they re-check their principal (RFC 9431 3.2).
  void on_revocation(std::function<void()> notify);

  /// RFC 9431 2.2.3.2: the TLS 1.3 PSK for an identity (a token or a stored token's kid); empty
  /// when ACE is disabled or ace.allow_psk_identity is false.
  net::psk_lookup psk() const;

  /// Periodic work: polls the AS revocation list when one is configured. Any thread.
  void tick();

  /// Whether the ACE provider (and so its token store) is configured.
  bool has_ace() const noexcept { return ace_ != nullptr; }
  /// Connects the ACE token store to the broker's persistence (no-op without ACE); `journal`
  /// must outlive this object.
  void set_ace_token_journal(ace::token_journal* journal);
  /// Validates again the tokens an earlier run held (journal records) and stores those still
  /// valid under their client names; reference tokens are introspected, so some complete later.
  /// Tokens bound to a broker-issued cnonce are refused (the nonces are not persisted). Returns
  /// how many records were submitted.
  std::size_t restore_ace_tokens(std::vector<ace::journal_record> records);

  /// SIGHUP: re-reads the ACL, the password file and the CRL. Each part that fails keeps its
  /// previous state; the failure messages are returned (empty = everything reloaded).
  std::vector<std::string> reload();

  /// Per-provider outcome counters, in chain order.
  const std::vector<std::shared_ptr<provider_counters>>& counters() const { return counters_; }

 private:
  authentication() = default;
  struct ace_parts;

  std::unique_ptr<ace_parts> ace_;
  std::unique_ptr<auth::provider_set> providers_;
  /// name -> counted provider (the decorator around the real one).
  std::vector<std::pair<std::string, std::shared_ptr<broker::authenticator>>> named_;
  std::vector<std::shared_ptr<provider_counters>> counters_;
  std::shared_ptr<const broker::auth_chain> default_chain_;
  std::vector<std::pair<std::string, std::shared_ptr<const broker::auth_chain>>> listener_chains_;
};

}  // namespace acemq::app
