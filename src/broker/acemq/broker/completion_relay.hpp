#pragma once
// Carries the completion of an asynchronous call the protocol machine starts (an authentication
// step, a publish interceptor's verdict) back to the connection's thread. The completion may come
// inside the call, later on another thread, twice, or after the connection ended; the connection
// sees it once, on its own thread, or not at all.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "acemq/broker/connection.hpp"

namespace acemq::broker {

/// One kind of asynchronous call of one connection, and the completion of the newest such call.
/// Shared by the connection and by every completion handed out, so it outlives the connection
/// while a provider still holds a completion.
///
/// - A completion that arrives while the call that handed it out is still running (on any
///   thread) is delivered right after the call returns, without a post.
/// - A later one is posted to the connection's thread (connection_io::post) and delivered there,
///   unless the relay was detached (the connection ended) before the posted task runs.
/// - Only the first completion of the newest call is delivered: a repeated one, or one of a call
///   a newer call has replaced, is dropped.
template <typename Result>
class completion_relay : public std::enable_shared_from_this<completion_relay<Result>> {
 public:
  /// What the call hands to its provider; callable from any thread, any number of times.
  using completion = std::function<void(Result)>;
  /// Receives the result on the connection's thread.
  using receiver = std::function<void(Result)>;

  /// `io` posts to the connection's thread; null when the transport is already gone.
  explicit completion_relay(connection_io* io) noexcept : io_(io) {}
  completion_relay(const completion_relay&) = delete;
  completion_relay& operator=(const completion_relay&) = delete;

  /// On the connection's thread: runs `call` with the completion of a new call, replacing the
  /// previous call (whose completion is dropped from now on); `deliver` gets its result at most
  /// once, on the connection's thread, and never after detach().
  void run(const std::function<void(completion)>& call, receiver deliver) {
    // `deliver` may detach and release this relay: it stays alive until run() returns.
    const std::shared_ptr<completion_relay> self = this->shared_from_this();
    std::uint64_t generation = 0;
    {
      std::lock_guard lock(mutex_);
      generation = ++generation_;
      completed_ = false;
      in_call_ = true;
      immediate_.reset();
      deliver_ = std::move(deliver);
    }
    call([self, generation](Result result) { self->complete(generation, std::move(result)); });
    std::optional<Result> result;
    receiver target;
    {
      std::lock_guard lock(mutex_);
      in_call_ = false;
      result = std::move(immediate_);
      immediate_.reset();
      if (result && !detached_) target = deliver_;
    }
    // Completed before the call returned: handled now, without a post.
    if (target) target(std::move(*result));
  }

  /// The transport is gone: nothing can be posted any more, so a completion arriving from now on
  /// (outside a call) is dropped.
  void transport_closed() noexcept {
    std::lock_guard lock(mutex_);
    io_ = nullptr;
  }

  /// On the connection's thread: the connection ended or awaits nothing more from this relay.
  /// Nothing is delivered from now on, not even a completion already posted.
  void detach() noexcept {
    receiver dropped;
    {
      std::lock_guard lock(mutex_);
      io_ = nullptr;
      detached_ = true;
      dropped = std::move(deliver_);
    }
  }

 private:
  void complete(std::uint64_t generation, Result result) {
    std::lock_guard lock(mutex_);
    if (generation != generation_ || completed_ || detached_) return;  // replaced or repeated
    completed_ = true;
    if (in_call_) {
      immediate_.emplace(std::move(result));
      return;
    }
    if (io_ == nullptr) return;
    // From any thread: the result is delivered on the connection's thread. Posted under the lock,
    // so the transport cannot go between the check above and the post.
    io_->post([self = this->shared_from_this(), generation, result = std::move(result)]() mutable {
      receiver target;
      {
        std::lock_guard inner(self->mutex_);
        if (self->detached_ || self->generation_ != generation) return;
        target = self->deliver_;
      }
      if (target) target(std::move(result));
    });
  }

  std::mutex mutex_;
  connection_io* io_;             // null once the transport is gone
  std::uint64_t generation_ = 0;  // the call whose completion is awaited
  bool completed_ = false;        // its completion arrived (later ones are dropped)
  bool in_call_ = false;          // the call is on the connection thread's stack
  bool detached_ = false;
  std::optional<Result> immediate_;
  receiver deliver_;  // only called on the connection's thread
};

}  // namespace acemq::broker
