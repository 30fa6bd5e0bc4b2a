#pragma once
// The broker's durable store in SQLite (WAL journal, synchronous=FULL): implements
// broker::persistence with group commit.
//
// Hooks only append an operation to an in-memory batch under a mutex (no SQL on routing threads).
// commit() writes the whole batch in one transaction: whoever needs durability commits everyone's
// pending operations. With durability `sync` the network layer calls barrier() before it writes
// bytes while operations are pending, so a PUBACK/PUBREC never leaves before the state it
// acknowledges is on disk. With an interval, a background thread commits every flush_interval and
// acknowledgements go out at once: a crash (process kill or power loss) loses at most the
// operations of the last interval. See docs/operations.md "Persistence".
//
// A full batch (max_batch_operations) is committed by the thread that filled it (back-pressure).
// A failed commit puts the store in the failed state: further operations are dropped and
// barrier() reports the error, so nothing more is acknowledged; the file keeps the state of the
// last good commit, exactly as after a crash, and the broker must be restarted.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "acemq/broker/persistence.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/result.hpp"

namespace acemq::persist {

using broker::persistence_error;

/// When acknowledged state reaches the disk.
enum class durability_mode : std::uint8_t {
  sync = 0x00,      // commit (and fsync) before the acknowledgement is written
  interval = 0x01,  // commit every flush_interval; acknowledgements do not wait
};

/// Settings of a store.
struct store_options {
  durability_mode durability = durability_mode::sync;
  /// Interval mode: the most acknowledged work a crash can lose. Sync mode: how long
  /// operations no acknowledgement waits for (e.g. a delivery queued by a QoS 0 retained
  /// update) may stay in memory. Must be positive.
  std::chrono::milliseconds flush_interval{10};
  /// Operations held in memory before the recording thread commits them itself.
  std::size_t max_batch_operations = 16'384;
};

/// A token kept for the ACE provider (authz-info, RFC 9431 2.2.1), as read back.
struct stored_token {
  std::string key;
  byte_vector value;
  /// Seconds since the epoch after which the token is no longer returned.
  std::int64_t expires_at_unix = 0;
};

/// Counters for tests and metrics.
struct store_statistics {
  std::uint64_t commits = 0;
  std::uint64_t operations_committed = 0;
  /// Operations that cancelled out inside one batch (a delivery queued and removed).
  std::uint64_t operations_coalesced = 0;
};

class sqlite_store final : public broker::persistence {
 public:
  /// The schema version this build writes and understands (see the migrations in
  /// sqlite_store_schema.cpp).
  static constexpr int schema_version = 3;
  /// PRAGMA application_id of an acemq-broker database ("AMQB").
  static constexpr std::int32_t application_id = 0x414D5142;

  /// Opens (creating if needed), checks and migrates the database at `path` (":memory:" for
  /// tests). A corrupt file, a file of another application or a newer schema version is an
  /// error; the file is then left untouched. Does not start the background flusher.
  static result<std::unique_ptr<sqlite_store>, persistence_error> open(const std::string& path,
                                                                       store_options options,
                                                                       const clock& time);
  /// Stops the flusher and commits what is pending.
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  /// Starts the thread that commits every flush_interval (both modes). Call after load().
  void start_flusher();
  /// Commits every recorded operation in one transaction (group commit).
  result<void, persistence_error> commit();
  /// Returns once everything recorded before the call is durable as `durability` requires:
  /// in sync mode it commits (or waits for the commit in progress); in interval mode it returns
  /// at once. An error means the store failed: do not acknowledge.
  result<void, persistence_error> barrier() override;
  /// Whether barrier() would have work to do (sync mode and operations not yet committed).
  bool barrier_needed() const noexcept override;
  /// Waits until the operations recorded so far are committed or `timeout` passes; true when
  /// they are. For tests and shutdown.
  bool wait_committed(std::chrono::milliseconds timeout);
  /// Whether a commit failed (see the header comment).
  bool failed() const noexcept { return failed_.load(std::memory_order_acquire); }
  store_statistics statistics() const;
  const store_options& options() const noexcept { return options_; }

  // Tokens for the ACE provider, batched and committed like the broker's state.
  void put_token(std::string_view key, byte_view value, std::int64_t expires_at_unix);
  void remove_token(std::string_view key);
  /// Committed tokens not expired at `now_unix`, by key.
  result<std::vector<stored_token>, persistence_error> load_tokens(std::int64_t now_unix);

  // broker::persistence
  std::uint64_t allocate_id() override;
  void session_saved(std::string_view client_id, const broker::principal_identity& owner,
                     std::uint32_t expiry_interval,
                     std::optional<clock::time_point> detached_at) override;
  void session_ended(std::string_view client_id) override;
  void subscription_added(std::string_view client_id, std::string_view filter,
                          const broker::subscription_options& options) override;
  void subscription_removed(std::string_view client_id, std::string_view filter) override;
  void delivery_queued(std::string_view client_id, const broker::stored_delivery& item) override;
  void delivery_sent(std::uint64_t key, std::uint16_t packet_id, std::uint64_t sequence) override;
  void delivery_released(std::uint64_t key) override;
  void delivery_removed(std::uint64_t key) override;
  void inbound_qos2_added(std::string_view client_id, std::uint16_t packet_id) override;
  void inbound_qos2_released(std::string_view client_id, std::uint16_t packet_id) override;
  void retained_set(const broker::message_ptr& msg) override;
  void retained_cleared(std::string_view topic) override;
  void will_saved(std::string_view client_id, const broker::pending_will& will) override;
  void will_cleared(std::string_view client_id) override;
  result<broker::persistence_snapshot, persistence_error> load() override;

  struct operation;
  struct database;

 private:
  sqlite_store(std::unique_ptr<database> db, store_options options, const clock& time);
  void record(operation op);
  result<void, persistence_error> commit_locked();
  void flusher_loop();

  std::unique_ptr<database> db_;
  const store_options options_;
  const clock& clock_;
  std::atomic<std::uint64_t> next_id_{1};

  // Lock order: commit_mutex_ -> batch_mutex_. Hooks take batch_mutex_ only.
  std::mutex batch_mutex_;
  std::vector<operation> batch_;
  std::atomic<std::uint64_t> recorded_{0};

  mutable std::mutex commit_mutex_;
  std::condition_variable committed_changed_;
  std::atomic<std::uint64_t> committed_{0};
  std::atomic<bool> failed_{false};
  persistence_error failure_;
  store_statistics statistics_;

  std::mutex flusher_mutex_;
  std::condition_variable flusher_wake_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace acemq::persist
