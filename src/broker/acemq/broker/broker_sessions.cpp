// Sessions and their connections: attach at CONNECT (new, resumed or taken over
// [MQTT-3.1.4-3], Session Present [MQTT-3.2.2-2]), the bounds on sessions per principal, detach
// when the transport closes (the Will, [MQTT-3.1.2-8], Will Delay 5.0 3.1.3.2.2), the end of a
// session, and what a persistent session writes to the store.

#include "acemq/broker/broker_internal.hpp"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "acemq/broker/connection.hpp"

namespace acemq::broker {

using detail::after_seconds;
using detail::hold;
using detail::owner_of;
using detail::store_will;
using detail::stored_of;
using detail::usage_key;

attach_result broker::attach(attach_request request) {
  const clock::time_point now = clock_.now();
  std::vector<pending_will> wills;
  std::vector<subscriber_id> ended;
  attach_result result;
  {
    std::unique_lock registry(sessions_mutex_);
    if (const auto found = by_client_id_.find(request.client_id); found != by_client_id_.end()) {
      std::shared_ptr<session> existing = *by_id_.find((*found)->id());
      {
        auto state = existing->lock();
        // A session and its client identifier belong to the principal that created it: another
        // one may neither take it over nor end it, and nothing of it changes.
        const principal_identity claimant =
            request.who ? request.who->identity() : principal_identity{};
        if (owner_of(*state) != claimant) {
          result.refused = true;
          return result;
        }
        if (state->owner != 0) {
          // [MQTT-3.1.4-3]: take-over. The older connection learns it on wake().
          if (state->io) state->io->wake();
          state->owner = 0;
          state->io = nullptr;
          state.set_connected(false);
          if (state->will) {
            // MQTT 5.0 3.1.3.2.2: the older connection's Will is sent unless the new connection
            // resumes the session and the Will Delay is non-zero.
            if (request.clean_start || state->will->delay_seconds == 0) {
              wills.push_back(std::move(*state->will));
            }
            state->will.reset();
          }
        } else if (state->will && state->will->publish_at) {
          // A delayed Will still pending: the session ends now (clean start) and the Will goes
          // out, or the client is back in time and the Will is cancelled [MQTT-3.1.3-9].
          if (request.clean_start) wills.push_back(std::move(*state->will));
          state->will.reset();
        }
        if (!request.clean_start) {
          state->owner = request.connection_id;
          state->io = request.io;
          state->wake_pending = false;
          state->delivery_refused = false;
          state->who = std::move(request.who);
          state->expiry_interval = request.expiry_interval;
          state->will = hold(std::move(request.will));
          state.set_connected(true);
          result.attached = existing;
          result.session_present = true;
          persist_attached(*existing, *state);
        } else {
          state->ended = true;
        }
      }
      if (result.attached) {
        detached_.erase(existing);
      } else {
        ended.push_back(existing->id());
        end_session_locked(existing);
      }
    }
    const principal_identity claimant =
        request.who ? request.who->identity() : principal_identity{};
    if (!result.attached && !may_add_session(claimant)) {
      counters_.sessions_refused.fetch_add(1, std::memory_order_relaxed);
      result.quota_exceeded = true;
    } else if (!result.attached) {
      principal_usage& usage = usage_of(claimant);
      ++usage.sessions;
      auto created = std::make_shared<session>(next_session_id_++, request.client_id);
      {
        auto state = created->lock();
        state->context = &session_context_;
        state->usage = &usage;
        state->owner = request.connection_id;
        state->io = request.io;
        state->who = std::move(request.who);
        state->expiry_interval = request.expiry_interval;
        state->will = hold(std::move(request.will));
        state.set_connected(true);
        persist_attached(*created, *state);
      }
      by_client_id_.insert(created.get());
      by_id_.insert(created);
      counters_.sessions.store(by_id_.size(), std::memory_order_relaxed);
      result.attached = std::move(created);
    }
  }
  remove_subscriptions(ended);
  persist_subscriptions();
  for (pending_will& will : wills)
    publish_will(std::move(will), now);
  return result;
}

principal_usage& broker::usage_of(const principal_identity& who) {
  return usage_[usage_key(who)];
}

bool broker::may_add_session(const principal_identity& who) const {
  if (by_id_.size() >= settings_.max_sessions) return false;
  // Every anonymous client is one principal (docs/authentication.md, "Principals"), with a bound
  // of its own.
  const std::size_t bound =
      who.subject.empty() ? settings_.max_sessions_anonymous : settings_.max_sessions_per_principal;
  const auto found = usage_.find(usage_key(who));
  return found == usage_.end() || found->second.sessions < bound;
}

void broker::persist_attached(session& subject, session_state& state) {
  if (persistence_ == nullptr) return;
  // MQTT 5.0 3.1.2.11.2 / MQTT 3.1.1 3.1.2.4: only a session that outlives its connection is
  // kept (the connection maps clean session 0 to a non-zero expiry).
  if (state.expiry_interval == 0) {
    if (persistence* const store = state.store()) store->session_ended(subject.client_id());
    state.durable = false;
    return;
  }
  const bool known = state.store() != nullptr;
  state.durable = true;
  persistence_->session_saved(subject.client_id(), owner_of(state), state.expiry_interval,
                              std::nullopt);
  store_will(*persistence_, subject.client_id(), state.will.get());
  if (known) return;
  // A session kept in memory only (expiry 0) taken over by a connection that makes it
  // persistent: everything it holds is written now. Lock order: a session's mutex is held, the
  // tree's must not be taken here, so subscriptions are written by persist_subscriptions().
  if (session_traffic* traffic = state.traffic_if_any()) {
    for (delivery& item : traffic->queue) {
      if (item.qos == 0) continue;
      item.message_id = persistence_->allocate_id();
      item.store_key = persistence_->allocate_id();
      persistence_->delivery_queued(subject.client_id(), stored_of(item));
    }
    for (auto& [packet_id, entry] : traffic->inflight) {
      if (entry.item.qos == 0) continue;
      entry.item.message_id = persistence_->allocate_id();
      entry.item.store_key = persistence_->allocate_id();
      persistence_->delivery_queued(subject.client_id(), stored_of(entry.item));
      persistence_->delivery_sent(entry.item.store_key, packet_id, entry.sequence);
      if (entry.at == inflight_entry::stage::pubrel_sent) {
        persistence_->delivery_released(entry.item.store_key);
      }
    }
    for (const std::uint16_t packet_id : traffic->inbound_qos2)
      persistence_->inbound_qos2_added(subject.client_id(), packet_id);
  }
  std::lock_guard lock(newly_persistent_mutex_);
  newly_persistent_.push_back(subject.id());
}

void broker::persist_subscriptions() {
  if (persistence_ == nullptr) return;
  std::vector<subscriber_id> pending;
  {
    std::lock_guard lock(newly_persistent_mutex_);
    pending.swap(newly_persistent_);
  }
  if (pending.empty()) return;
  std::shared_lock registry(sessions_mutex_);
  std::shared_lock tree(tree_mutex_);
  for (const subscriber_id id : pending) {
    const auto found = by_id_.find(id);
    if (found == by_id_.end()) continue;
    tree_.for_each_subscription_of(
        id, [&](std::string_view filter, const subscription_options& options) {
          persistence_->subscription_added((*found)->client_id(), filter, options);
        });
  }
}

void broker::end_session_locked(const std::shared_ptr<session>& ended) {
  principal_usage* left = nullptr;
  {
    auto state = ended->lock();
    if (persistence* const store = state->store()) store->session_ended(ended->client_id());
    state->durable = false;
    left = state->leave_principal();
  }
  if (left != nullptr && --left->sessions == 0) {
    // The principal's last session: its entry goes (no session refers to it any more).
    std::erase_if(usage_, [left](const auto& entry) { return &entry.second == left; });
  }
  by_client_id_.erase(ended->client_id());
  by_id_.erase(ended->id());
  detached_.erase(ended);
  counters_.sessions.store(by_id_.size(), std::memory_order_relaxed);
}

void broker::remove_subscriptions(const std::vector<subscriber_id>& ended) {
  if (ended.empty()) return;
  std::unique_lock tree(tree_mutex_);
  for (const subscriber_id id : ended)
    tree_.remove_subscriber(id);
  counters_.subscriptions.store(tree_.size(), std::memory_order_relaxed);
}

void broker::detach(const std::shared_ptr<session>& subject, std::uint64_t connection_id,
                    bool will_due) {
  const clock::time_point now = clock_.now();
  std::optional<pending_will> will_now;
  bool ends = false;
  {
    std::unique_lock registry(sessions_mutex_);
    {
      auto state = subject->lock();
      if (state->owner != connection_id || state->ended) return;
      state->owner = 0;
      state->io = nullptr;
      state->wake_pending = false;
      state.set_connected(false);
      state->detached_at = now;
      ends = state->expiry_interval == 0;
      if (state->will && will_due) {
        // [MQTT-3.1.3-9]: after the Will Delay Interval or when the session ends, whichever is
        // first.
        const std::uint32_t delay = std::min(state->will->delay_seconds, state->expiry_interval);
        if (delay == 0) {
          will_now = std::move(*state->will);
          state->will.reset();
        } else {
          state->will->publish_at = after_seconds(now, delay);
        }
      } else {
        // [MQTT-3.1.2-10]: a normal DISCONNECT removes the Will without publishing it.
        state->will.reset();
      }
      if (ends) {
        state->ended = true;
      } else if (!settings_.queue_qos0_when_offline) {
        state->drop_queued_qos0();
      }
      if (persistence* const store = state->store(); !ends && store != nullptr) {
        store->session_saved(subject->client_id(), owner_of(*state), state->expiry_interval, now);
        store_will(*store, subject->client_id(), state->will.get());
      }
    }
    if (ends) {
      end_session_locked(subject);
    } else {
      detached_.insert(subject);
    }
  }
  if (ends) remove_subscriptions({subject->id()});
  if (will_now) publish_will(std::move(*will_now), now);
}

}  // namespace acemq::broker
