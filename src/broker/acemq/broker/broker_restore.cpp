// Restore after a restart: the sessions, subscriptions, queued and in-flight deliveries, inbound
// QoS 2 identifiers, Wills and retained messages a persistence store kept (MQTT 5.0 4.1: the
// session state survives the server).

#include "acemq/broker/broker_internal.hpp"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <utility>

namespace acemq::broker {

using detail::after_seconds;
using detail::hold;
using detail::owner_of;
using detail::retained_size;

restore_summary broker::restore(persistence& store, persistence_snapshot snapshot) {
  const clock::time_point now = clock_.now();
  session_context_.store = &store;  // the restored sessions' store() from here on
  restore_summary summary;
  {
    std::unique_lock registry(sessions_mutex_);
    std::unique_lock tree(tree_mutex_);
    for (stored_session& saved : snapshot.sessions) {
      if (saved.expiry_interval == 0 || by_client_id_.contains(saved.client_id)) continue;
      if (!saved.owner) {
        // Written before sessions recorded their owner: nobody can prove it is theirs, so it
        // ends (its client starts a new session, Session Present 0).
        store.session_ended(saved.client_id);
        ++summary.discarded;
        continue;
      }
      auto restored = std::make_shared<session>(next_session_id_++, saved.client_id);
      {
        auto state = restored->lock();
        state->context = &session_context_;
        // Counted against its principal's bounds; a store holding more than they allow now keeps
        // them all (they only stop new sessions).
        principal_usage& usage = usage_of(saved.owner->view());
        ++usage.sessions;
        state->usage = &usage;
        state->durable = true;
        state->expiry_interval = saved.expiry_interval;
        state->who = std::make_shared<restored_principal>(std::move(*saved.owner));
        // A connection attached at the crash is gone: its session is detached from now on.
        state->detached_at = saved.detached_at.value_or(now);
        if (!saved.detached_at) {
          store.session_saved(saved.client_id, owner_of(*state), saved.expiry_interval, now);
        }
        for (stored_inflight& sent : saved.inflight) {
          delivery item{std::move(sent.item.msg),
                        sent.item.qos,
                        sent.item.retain,
                        std::move(sent.item.subscription_identifiers),
                        sent.item.key,
                        sent.item.message_id};
          // Retransmitted with the same packet identifier when the client is back
          // [MQTT-4.4.0-1]; the connection marks them on resumption.
          session_traffic& traffic = state->traffic();
          traffic.inflight.emplace(sent.packet_id,
                                   inflight_entry{std::move(item), sent.at, sent.sequence});
          traffic.next_sequence = std::max(traffic.next_sequence, sent.sequence + 1);
        }
        for (stored_delivery& queued : saved.queued) {
          const std::uint64_t key = queued.key;
          delivery item{std::move(queued.msg),
                        queued.qos,
                        queued.retain,
                        std::move(queued.subscription_identifiers),
                        key,
                        queued.message_id};
          // The bounds apply as to any delivery (they may have been lowered since).
          if (state->enqueue(std::move(item), settings_, now) != enqueue_result::queued) {
            store.delivery_removed(key);
            counters_.messages_dropped.fetch_add(1, std::memory_order_relaxed);
          }
        }
        if (!saved.inbound_qos2.empty()) {
          state->traffic().inbound_qos2.insert(saved.inbound_qos2.begin(),
                                               saved.inbound_qos2.end());
        }
        if (saved.will) {
          if (!saved.will->publish_at) {
            // The connection ended without DISCONNECT (the broker died) [MQTT-3.1.2-8]: the
            // Will follows after its delay, or when the session ends [MQTT-3.1.3-9].
            const std::uint32_t delay = std::min(saved.will->delay_seconds, saved.expiry_interval);
            saved.will->publish_at = after_seconds(now, delay);
            store.will_saved(saved.client_id, *saved.will);
          }
          state->will = hold(std::move(saved.will));
        }
      }
      for (const auto& [filter, options] : saved.subscriptions) {
        if (!tree_.try_subscribe(filter, restored->id(), options)) {
          store.subscription_removed(saved.client_id, filter);
        }
      }
      by_client_id_.insert(restored.get());
      by_id_.insert(restored);
      detached_.insert(restored);
      ++summary.sessions;
    }
    counters_.sessions.store(by_id_.size(), std::memory_order_relaxed);
    counters_.subscriptions.store(tree_.size(), std::memory_order_relaxed);
  }
  {
    std::lock_guard lock(retained_mutex_);
    for (message_ptr& retained : snapshot.retained) {
      if (retained_.size() >= settings_.max_retained_messages ||
          retained_bytes_ + retained_size(*retained) > settings_.max_retained_memory) {
        store.retained_cleared(retained->topic);
        counters_.retained_refused.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      retained_changed(nullptr, retained.get());
      const std::string topic = retained->topic;
      retained_.set(topic, std::move(retained));
      ++summary.retained;
    }
    counters_.retained_messages.store(retained_.size(), std::memory_order_relaxed);
  }
  persistence_ = &store;
  return summary;
}

}  // namespace acemq::broker
