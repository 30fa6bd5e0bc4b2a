#pragma once
// The audit log: one line per issuance, refusal, revocation and grant change. It records who,
// what and why — never a secret, token or key (tokens appear as their id or a redacted hash).

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace acemq::as {

enum class audit_kind : std::uint8_t {
  token_issued = 0x01,
  token_refused = 0x02,
  token_revoked = 0x03,
  refresh_revoked = 0x04,
  grant_created = 0x05,
  grant_changed = 0x06,
  grant_revoked = 0x07,
  introspection_refused = 0x08,
};

std::string_view to_string(audit_kind kind) noexcept;

struct audit_event {
  std::int64_t time = 0;
  audit_kind kind = audit_kind::token_issued;
  std::string actor;    // client_id, owner_id or audience that acted (may be empty)
  std::string address;  // remote address, when over HTTP
  std::string audience;
  std::string subject;  // token id, grant id, ...
  std::string detail;   // scope granted, error code, reason
};

/// Where audit events go.
class audit_sink {
 public:
  virtual ~audit_sink() = default;
  virtual void record(const audit_event& event) = 0;
};

/// One JSON object per line, appended to a file (flushed per event: the log must survive a
/// crash right after an issuance).
class file_audit_sink final : public audit_sink {
 public:
  /// Throws std::runtime_error when the file cannot be opened (a start-up error).
  explicit file_audit_sink(const std::string& path);
  ~file_audit_sink() override;
  file_audit_sink(const file_audit_sink&) = delete;
  file_audit_sink& operator=(const file_audit_sink&) = delete;
  void record(const audit_event& event) override;

 private:
  std::mutex mutex_;
  std::FILE* file_;
};

/// Keeps events in memory, bounded (oldest dropped): for tests and the admin tools.
class memory_audit_sink final : public audit_sink {
 public:
  explicit memory_audit_sink(std::size_t capacity = 4096) : capacity_(capacity) {}
  void record(const audit_event& event) override;
  std::vector<audit_event> events() const;

 private:
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::vector<audit_event> events_;
};

/// The JSON line for one event (no trailing newline).
std::string to_json_line(const audit_event& event);

}  // namespace acemq::as
