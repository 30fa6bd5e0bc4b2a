// The write-behind of the broker's durable store: hooks record operations in memory, and commit()
// writes them in one transaction when a barrier, the flusher thread or a full batch asks (see
// sqlite_store.hpp). Opening is in sqlite_store_schema.cpp, the writing of a batch in
// sqlite_store_commit.cpp and loading in sqlite_store_load.cpp.
#include "acemq/persist/sqlite_store.hpp"

#include <utility>

#include "acemq/persist/sqlite_store_detail.hpp"

namespace acemq::persist {

using namespace detail;  // the operation types the hooks record

sqlite_store::sqlite_store(std::unique_ptr<database> db, store_options options, const clock& time)
    : db_(std::move(db)), options_(options), clock_(time) {}

sqlite_store::~sqlite_store() {
  {
    std::lock_guard lock(flusher_mutex_);
    stopping_ = true;
  }
  flusher_wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  // A clean shutdown loses nothing; an error here is already reported by failed().
  (void)commit();
}

void sqlite_store::start_flusher() {
  if (flusher_.joinable()) return;
  flusher_ = std::thread([this] { flusher_loop(); });
}

void sqlite_store::flusher_loop() {
  std::unique_lock lock(flusher_mutex_);
  while (!stopping_) {
    flusher_wake_.wait_for(lock, options_.flush_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    if (recorded_.load(std::memory_order_acquire) > committed_.load(std::memory_order_acquire)) {
      (void)commit();
    }
    lock.lock();
  }
}

void sqlite_store::record(operation op) {
  bool full = false;
  {
    std::lock_guard lock(batch_mutex_);
    // Failed: the file keeps the last good commit; nothing recorded now could be committed.
    if (failed_.load(std::memory_order_relaxed)) return;
    batch_.push_back(std::move(op));
    recorded_.fetch_add(1, std::memory_order_release);
    full = batch_.size() >= options_.max_batch_operations;
  }
  // Back-pressure: the thread that fills the batch writes it (the batch stays bounded).
  if (full) (void)commit();
}

result<void, persistence_error> sqlite_store::commit() {
  std::lock_guard lock(commit_mutex_);
  return commit_locked();
}

result<void, persistence_error> sqlite_store::barrier() {
  if (failed()) {
    std::lock_guard lock(commit_mutex_);
    return unexpected(failure_);
  }
  if (options_.durability != durability_mode::sync) return {};
  const std::uint64_t target = recorded_.load(std::memory_order_acquire);
  if (committed_.load(std::memory_order_acquire) >= target) return {};
  std::lock_guard lock(commit_mutex_);
  // Group commit: a commit that finished while this thread waited for the mutex may already
  // cover everything it recorded.
  if (committed_.load(std::memory_order_acquire) >= target) return {};
  return commit_locked();
}

bool sqlite_store::barrier_needed() const noexcept {
  return options_.durability == durability_mode::sync &&
         recorded_.load(std::memory_order_acquire) > committed_.load(std::memory_order_acquire);
}

bool sqlite_store::wait_committed(std::chrono::milliseconds timeout) {
  const std::uint64_t target = recorded_.load(std::memory_order_acquire);
  std::unique_lock lock(commit_mutex_);
  return committed_changed_.wait_for(
      lock, timeout, [&] { return committed_.load(std::memory_order_acquire) >= target; });
}

store_statistics sqlite_store::statistics() const {
  std::lock_guard lock(commit_mutex_);
  return statistics_;
}
// ----------------------------------------------------------------------------------------------
// Hooks: record only.

std::uint64_t sqlite_store::allocate_id() {
  return next_id_.fetch_add(1, std::memory_order_relaxed);
}

void sqlite_store::session_saved(std::string_view client_id,
                                 const broker::principal_identity& owner,
                                 std::uint32_t expiry_interval,
                                 std::optional<clock::time_point> detached_at) {
  record({session_saved_op{std::string(client_id), broker::owned_identity(owner), expiry_interval,
                           detached_at}});
}
void sqlite_store::session_ended(std::string_view client_id) {
  record({session_ended_op{std::string(client_id)}});
}
void sqlite_store::subscription_added(std::string_view client_id, std::string_view filter,
                                      const subscription_options& options) {
  record({subscription_added_op{std::string(client_id), std::string(filter), options}});
}
void sqlite_store::subscription_removed(std::string_view client_id, std::string_view filter) {
  record({subscription_removed_op{std::string(client_id), std::string(filter)}});
}
void sqlite_store::delivery_queued(std::string_view client_id, const stored_delivery& item) {
  record({delivery_queued_op{std::string(client_id), item}});
}
void sqlite_store::delivery_sent(std::uint64_t key, std::uint16_t packet_id,
                                 std::uint64_t sequence) {
  record({delivery_sent_op{key, packet_id, sequence}});
}
void sqlite_store::delivery_released(std::uint64_t key) {
  record({delivery_released_op{key}});
}
void sqlite_store::delivery_removed(std::uint64_t key) {
  record({delivery_removed_op{key}});
}
void sqlite_store::inbound_qos2_added(std::string_view client_id, std::uint16_t packet_id) {
  record({inbound_added_op{std::string(client_id), packet_id}});
}
void sqlite_store::inbound_qos2_released(std::string_view client_id, std::uint16_t packet_id) {
  record({inbound_released_op{std::string(client_id), packet_id}});
}
void sqlite_store::retained_set(const message_ptr& msg) {
  record({retained_set_op{msg}});
}
void sqlite_store::retained_cleared(std::string_view topic) {
  record({retained_cleared_op{std::string(topic)}});
}
void sqlite_store::will_saved(std::string_view client_id, const pending_will& will) {
  record({will_saved_op{std::string(client_id), will}});
}
void sqlite_store::will_cleared(std::string_view client_id) {
  record({will_cleared_op{std::string(client_id)}});
}
void sqlite_store::put_token(std::string_view key, byte_view value, std::int64_t expires_at_unix) {
  record(
      {token_put_op{std::string(key), byte_vector(value.begin(), value.end()), expires_at_unix}});
}
void sqlite_store::remove_token(std::string_view key) {
  record({token_removed_op{std::string(key)}});
}

}  // namespace acemq::persist
