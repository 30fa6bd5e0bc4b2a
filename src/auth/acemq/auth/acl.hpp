#pragma once
// The ACL file for identities authenticated without ACE (password, certificate, device JWT).
// Grammar (mosquitto-like, one directive per line, see docs/authentication.md):
//
//   # comment                      blank lines and lines starting with '#' are ignored
//   user <name>                    the `topic` lines that follow apply to this user only
//   topic [read|write|readwrite] <filter>
//                                  before any `user` line: applies to every identity;
//                                  the access defaults to readwrite
//   pattern [read|write|readwrite] <filter>
//                                  applies to every identity, wherever it appears
//
// In `topic` and `pattern` filters `%c` is replaced by the client identifier and `%u` by the
// user name. A substituted value that is empty or contains `+`, `#`, `/` or U+0000 would widen
// or reshape the filter, so the rule grants nothing for that identity. Access is granted only by
// a matching rule (default deny); read rules govern SUBSCRIBE and every delivery, write rules
// govern PUBLISH.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/result.hpp"
#include "acemq/common/small_mutex.hpp"

namespace acemq::auth {

/// What a rule grants.
enum class acl_access : std::uint8_t {
  read = 0x01,
  write = 0x02,
  readwrite = 0x03,
};

/// One compiled rule: a topic filter template and its access.
struct acl_rule {
  acl_access access = acl_access::readwrite;
  std::string filter;  ///< may contain %c / %u
  bool has_substitution = false;
};

/// A parse error with the 1-based line number.
struct acl_error {
  std::size_t line = 0;
  std::string message;
};

/// Bounds on an ACL file (untrusted until parsed; a typo must not exhaust memory).
struct acl_limits {
  std::size_t max_size = 4 * 1024 * 1024;  ///< bytes of file text
  std::size_t max_rules = 100'000;         ///< topic + pattern lines in total
  std::size_t max_line = 4096;             ///< bytes per line
};

/// An immutable compiled ACL. Thread-safe (const).
class acl {
 public:
  /// Parses ACL text; every malformed line is an error naming its line.
  static result<acl, acl_error> parse(std::string_view text, const acl_limits& bounds = {});
  /// An ACL that grants everything to everyone (used when no ACL file is configured).
  static acl allow_all();

  /// The rules that apply to `username` (global topic rules, that user's rules, patterns), with
  /// %c / %u substituted. Rules whose substitution would be unsafe are left out.
  std::vector<acl_rule> resolve(std::string_view client_id,
                                std::optional<std::string_view> username) const;

  bool grants_everything() const noexcept { return grants_everything_; }
  std::size_t rule_count() const noexcept;

 private:
  bool grants_everything_ = false;
  std::vector<acl_rule> global_rules_;
  std::vector<acl_rule> patterns_;
  std::unordered_map<std::string, std::vector<acl_rule>> user_rules_;
};

/// The current ACL, swapped by reload() (SIGHUP). A check reads only generation() while the ACL
/// stays the same; current() takes a short lock.
class acl_store {
 public:
  explicit acl_store(acl initial, std::string path = {});

  /// The ACL in force and its generation (bumped by every successful reload).
  struct snapshot {
    std::uint64_t generation = 0;
    acl rules;
  };
  std::shared_ptr<const snapshot> current() const {
    std::lock_guard hold(mutex_);
    return current_;
  }
  /// The generation of the ACL in force, published after current() holds it: a lock-free read
  /// for checks that only need to know whether what they resolved earlier is still current.
  std::uint64_t generation() const noexcept {
    return published_generation_.load(std::memory_order_acquire);
  }

  /// Re-reads the file given at construction. On any error the ACL in force stays unchanged.
  result<void, acl_error> reload();
  /// Installs a new ACL (for callers that read the file themselves).
  void replace(acl rules);

  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  // Not std::atomic<std::shared_ptr>: libstdc++ 12 unlocks its load with relaxed order, a race
  // by the memory model that ThreadSanitizer reports. Checks take this lock only when the
  // generation changed (acl_principal::rules).
  mutable small_mutex mutex_;
  std::shared_ptr<const snapshot> current_;
  std::atomic<std::uint64_t> next_generation_{1};
  std::atomic<std::uint64_t> published_generation_{0};
};

/// Reads an ACL file from disk (bounded by `bounds.max_size`).
result<acl, acl_error> load_acl_file(const std::string& path, const acl_limits& bounds = {});

/// A principal whose rights come from the ACL in force at the time of each check (so a reload
/// applies to connected clients at their next PUBLISH, SUBSCRIBE or delivery).
class acl_principal final : public broker::principal {
 public:
  /// `provider` names the provider that proved `name` (a string literal, e.g. "password"): the
  /// principal's identity is {provider, "", name}.
  acl_principal(std::string_view provider, std::string name, std::string client_id,
                std::optional<std::string> username, std::shared_ptr<const acl_store> store,
                std::optional<std::int64_t> expires_at = std::nullopt);

  std::string_view name() const override { return name_; }
  broker::principal_identity identity() const override { return {provider_, {}, name_}; }
  mqtt::reason_code may_publish(std::string_view topic) const override;
  mqtt::reason_code may_subscribe(std::string_view filter) const override;
  bool may_receive(std::string_view topic) const override;
  std::optional<std::int64_t> expires_at_unix() const override { return expires_at_; }

  const std::optional<std::string>& username() const noexcept { return username_; }

 private:
  struct resolved {
    std::uint64_t generation = 0;
    bool grants_everything = false;
    std::vector<acl_rule> rules;
  };
  /// The rules resolved for this identity from the ACL in force. Every PUBLISH and every
  /// delivery asks, from any I/O thread: each thread keeps the rules of the principals it checked
  /// last, so a check whose ACL has not changed reads one atomic counter and touches nothing
  /// another thread writes. Valid until the next call on the same thread.
  const resolved& rules() const;
  /// Resolves the rules again (the first check on a thread, or after a reload).
  std::shared_ptr<const resolved> resolve_rules() const;

  std::string_view provider_;
  std::string name_;
  std::string client_id_;
  std::optional<std::string> username_;
  std::shared_ptr<const acl_store> store_;
  std::optional<std::int64_t> expires_at_;
  /// Never reused by another principal (the per-thread caches are keyed by it, not by address).
  const std::uint64_t instance_;
  // Cache of the rules resolved for this identity, refreshed when the ACL generation changes.
  mutable small_mutex cache_mutex_;
  mutable std::shared_ptr<const resolved> cache_;
};

}  // namespace acemq::auth
