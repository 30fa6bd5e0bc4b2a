// Messages from publishers to sessions: publish and route (the retained store [MQTT-3.3.1-5],
// one copy per session at the highest QoS [MQTT-3.3.4-2], shared subscriptions 5.0 4.8.2, No
// Local, authorization on delivery RFC 9431 3.2), enqueue within the session's bounds, the Will as
// a PUBLISH, subscribe / unsubscribe on the topic tree, retained messages sent on subscribe
// [MQTT-3.3.1-9], and the wake-ups after a revocation.

#include "acemq/broker/broker_internal.hpp"

#include <algorithm>
#include <cassert>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "acemq/broker/connection.hpp"

namespace acemq::broker {

using detail::after_seconds;
using detail::retained_size;
using detail::stored_of;

void broker::publish_will(pending_will will, clock::time_point now) {
  auto content = std::make_shared<message>(std::move(will.content));
  if (will.message_expiry_interval) {
    content->expires_at = after_seconds(now, *will.message_expiry_interval);
  }
  if (content->retain && will.publisher_grant_ends_unix) {
    // RFC 9431 5: the retained copy goes at min(token expiry, message expiry), as for a retained
    // PUBLISH; the live delivery happens even after the token expired.
    content->retain_until =
        retain_until_of(*will.publisher_grant_ends_unix, now, clock_.unix_seconds());
  }
  publish(content);
}

std::size_t broker::publish(const message_ptr& msg, publish_feedback* feedback) {
  counters_.messages_in.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes_in.fetch_add(msg->payload_size(), std::memory_order_relaxed);
  return route(msg, clock_.now(), feedback);
}

std::size_t broker::route(const message_ptr& msg, clock::time_point now,
                          publish_feedback* feedback) {
  if (!admit(msg, now, feedback)) return 0;
  // Reused per thread so steady-state routing does not allocate the target list.
  thread_local std::vector<route_target> targets;
  targets.clear();
  {
    std::shared_lock registry(sessions_mutex_);
    std::shared_lock tree(tree_mutex_);
    collect_targets(msg, targets);
  }
  std::size_t queued = 0;
  // One stored message row for every persistent session it is queued for.
  const std::uint64_t message_id =
      persistence_ != nullptr && msg->qos > 0 && !targets.empty() ? persistence_->allocate_id() : 0;
  for (route_target& entry : targets) {
    if (!entry.destination) continue;
    if (enqueue(*entry.destination, delivery_for(msg, entry, message_id), now, feedback)) ++queued;
  }
  targets.clear();
  return queued;
}

bool broker::admit(const message_ptr& msg, clock::time_point now, publish_feedback* feedback) {
  if (msg->expired(now)) {
    counters_.messages_expired.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (msg->retain) {
    std::lock_guard lock(retained_mutex_);
    // $SYS statistics are regenerated after a restart; they are not stored.
    persistence* const store = is_sys_topic(msg->topic) ? nullptr : persistence_;
    if (msg->payload_size() == 0 || msg->retained_expired(now)) {
      // [MQTT-3.3.1-6], [MQTT-3.3.1-7]: an empty retained message deletes and is not stored.
      // RFC 9431 5: so does one whose publisher's grant already ended (the Will of a client
      // whose token expired): it replaces the topic's retained message and is gone at once.
      if (const message_ptr* const before = retained_.find(msg->topic)) {
        retained_changed(before->get(), nullptr);
        retained_.erase(msg->topic);
        if (store != nullptr) store->retained_cleared(msg->topic);
      }
    } else {
      const message_ptr* const before = retained_.find(msg->topic);
      const std::size_t freed = before != nullptr ? retained_size(**before) : 0;
      // $SYS statistics (a fixed handful of small topics) are always kept.
      const bool fits =
          is_sys_topic(msg->topic) ||
          ((before != nullptr || retained_.size() < settings_.max_retained_messages) &&
           retained_bytes_ - freed + retained_size(*msg) <= settings_.max_retained_memory);
      if (fits) {
        // [MQTT-3.3.1-5]: replaces any retained message of the topic.
        retained_changed(before != nullptr ? before->get() : nullptr, msg.get());
        retained_.set(msg->topic, msg);
        if (store != nullptr) store->retained_set(msg);
      } else {
        counters_.retained_refused.fetch_add(1, std::memory_order_relaxed);
        if (feedback != nullptr) {
          // A client's PUBLISH is refused as a whole (PUBACK/PUBREC 0x97): neither kept nor
          // delivered, so the publisher may send it again once there is room.
          feedback->retained_refused = true;
          return false;
        }
      }
    }
    counters_.retained_messages.store(retained_.size(), std::memory_order_relaxed);
  }

  return true;
}

void broker::collect_targets(const message_ptr& msg, std::vector<route_target>& targets) {
  const std::size_t first = targets.size();
  const auto collect = [&](subscriber_id id, const subscription_options& options, bool shared) {
    // [MQTT-3.8.3-3]: No Local - not back to the publishing session.
    if (!shared && options.no_local && id == msg->publisher_session) return;
    route_target entry{nullptr, id, options.maximum_qos, options.retain_as_published, shared, {}};
    if (options.identifier != 0) entry.identifiers.push_back(options.identifier);
    targets.push_back(std::move(entry));
  };
  tree_.match_with_fallback(
      msg->topic, collect,
      // MQTT 5.0 4.8.2: prefer a member that is connected.
      [&](subscriber_id id) {
        const auto found = by_id_.find(id);
        return found != by_id_.end() && (*found)->connected();
      },
      // No member connected: queue in one offline member's session, in turn, so the group
      // does not lose the message. A QoS 0 delivery is then dropped by enqueue() unless
      // queue_qos0_when_offline (MQTT 5.0 3.1.2.4 leaves offline QoS 0 optional).
      [&](subscriber_id id, const subscription_options& options) { collect(id, options, true); });
  // Overlapping non-shared subscriptions of one session give ONE delivery with the highest
  // QoS and every Subscription Identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3], [MQTT-3.3.4-5].
  // Shared subscription deliveries stay separate copies (MQTT 5.0 4.8.2).
  const auto begin = targets.begin() + static_cast<std::ptrdiff_t>(first);
  std::sort(begin, targets.end(), [](const route_target& a, const route_target& b) {
    return a.id != b.id ? a.id < b.id : a.shared < b.shared;
  });
  std::size_t kept = first;
  for (std::size_t i = first; i < targets.size(); ++i) {
    if (kept > first && !targets[i].shared && !targets[kept - 1].shared &&
        targets[kept - 1].id == targets[i].id) {
      route_target& merged = targets[kept - 1];
      merged.qos = std::max(merged.qos, targets[i].qos);
      merged.retain_as_published = merged.retain_as_published || targets[i].retain_as_published;
      merged.identifiers.insert(merged.identifiers.end(), targets[i].identifiers.begin(),
                                targets[i].identifiers.end());
      continue;
    }
    if (kept != i) targets[kept] = std::move(targets[i]);
    ++kept;
  }
  targets.resize(kept);
  for (std::size_t i = first; i < targets.size(); ++i) {
    const auto found = by_id_.find(targets[i].id);
    if (found != by_id_.end()) targets[i].destination = *found;
  }
}

delivery broker::delivery_for(const message_ptr& msg, route_target& target,
                              std::uint64_t message_id) {
  delivery item;
  item.msg = msg;
  item.message_id = message_id;
  // [MQTT-3.8.4-8]: never more than the granted QoS.
  item.qos = std::min(msg->qos, target.qos);
  // [MQTT-3.3.1-12], [MQTT-3.3.1-13]: Retain As Published.
  item.retain = target.retain_as_published && msg->retain;
  item.subscription_identifiers = std::move(target.identifiers);
  return item;
}

bool broker::publish_later(message_ptr msg, route_batch& batch, publish_feedback& feedback) {
  assert(msg->qos == 0 && !batch.full());
  counters_.messages_in.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes_in.fetch_add(msg->payload_size(), std::memory_order_relaxed);
  if (!admit(msg, clock_.now(), &feedback)) return false;
  batch.messages_.push_back(std::move(msg));
  return true;
}

void broker::route(route_batch& batch, publish_feedback& feedback) {
  // At most this many deliveries are collected before they are queued (the registry and tree
  // locks released meanwhile), so a batch to many subscribers holds a bounded target list.
  constexpr std::size_t chunk_targets = 4096;
  thread_local std::vector<route_target> targets;
  // targets[i] delivers messages[message_of[i]]; order: the targets grouped by destination.
  thread_local std::vector<std::uint32_t> message_of;
  thread_local std::vector<std::uint32_t> order;
  const std::vector<message_ptr>& messages = batch.messages_;
  const clock::time_point now = clock_.now();
  std::size_t next = 0;
  while (next < messages.size()) {
    targets.clear();
    message_of.clear();
    {
      std::shared_lock registry(sessions_mutex_);
      std::shared_lock tree(tree_mutex_);
      while (next < messages.size() && targets.size() < chunk_targets) {
        collect_targets(messages[next], targets);
        message_of.resize(targets.size(), static_cast<std::uint32_t>(next));
        ++next;
      }
    }
    // Grouped by destination, each group in the order the messages were published.
    order.clear();
    for (std::uint32_t i = 0; i < targets.size(); ++i) {
      if (targets[i].destination) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [](std::uint32_t a, std::uint32_t b) {
      const session* const left = targets[a].destination.get();
      const session* const right = targets[b].destination.get();
      return left != right ? std::less<const session*>()(left, right) : a < b;
    });
    for (std::size_t at = 0; at < order.size();) {
      session& destination = *targets[order[at]].destination;
      auto state = destination.lock();
      for (; at < order.size() && targets[order[at]].destination.get() == &destination; ++at) {
        route_target& entry = targets[order[at]];
        // QoS 0 only: never stored, so no message row (message_id 0).
        enqueue_locked(destination, state, delivery_for(messages[message_of[order[at]]], entry, 0),
                       now, &feedback);
      }
    }
  }
  targets.clear();
  batch.messages_.clear();
  batch.limit_ = feedback.congested ? 1 : std::min(route_batch::most, batch.limit_ + 16);
}

bool broker::enqueue(session& destination, delivery item, clock::time_point now,
                     publish_feedback* feedback) {
  auto state = destination.lock();
  return enqueue_locked(destination, state, std::move(item), now, feedback);
}

bool broker::enqueue_locked(session& destination, session::locked& state, delivery item,
                            clock::time_point now, publish_feedback* feedback) {
  if (state->ended) return false;
  // Authorization on every delivery (conventions 5).
  if (state->who && !state->who->may_receive(item.msg->topic)) {
    counters_.deliveries_denied.fetch_add(1, std::memory_order_relaxed);
    // RFC 9431 3.2: a client whose token does not allow the delivery is disconnected. The
    // connection closes on its own thread, where its principal lives; routing only flags it.
    if (state->owner != 0 && state->who->disconnect_on_denied_delivery()) {
      state->delivery_refused = true;
      if (state->io && !state->wake_pending) {
        state->wake_pending = true;
        state->io->wake();
      }
    }
    return false;
  }
  if (state->owner == 0 && item.qos == 0 && !settings_.queue_qos0_when_offline) return false;
  const std::uint64_t dropped_before = state->dropped();
  // QoS 0 is never stored (MQTT 5.0 4.3.1: at most once).
  persistence* const store = state->store();
  const bool stored = store != nullptr && item.qos > 0 && item.message_id != 0;
  if (stored) item.store_key = store->allocate_id();
  const enqueue_result outcome = state->enqueue(std::move(item), settings_, now);
  if (stored && outcome == enqueue_result::queued) {
    store->delivery_queued(destination.client_id(), stored_of(state->traffic().queue.back()));
  }
  // Evicted QoS 0 deliveries and a refused new one both count as dropped.
  if (const std::uint64_t dropped = state->dropped() - dropped_before; dropped > 0) {
    counters_.messages_dropped.fetch_add(dropped, std::memory_order_relaxed);
  }
  if (outcome == enqueue_result::dropped_expired) {
    counters_.messages_expired.fetch_add(1, std::memory_order_relaxed);
  }
  // Only a connected subscriber slows publishers down: an offline session's queue filling up is
  // expected, and its bound (with the drop policy) is what protects the broker.
  if (feedback != nullptr && state->owner != 0 &&
      (outcome == enqueue_result::dropped_full || state->congested(settings_))) {
    feedback->congested = true;
    if (feedback->publisher != nullptr && *feedback->publisher) {
      auto& waiting = state->traffic().waiting_publishers;
      const std::shared_ptr<session>& publisher = *feedback->publisher;
      const bool known = std::any_of(waiting.begin(), waiting.end(), [&](const auto& each) {
        return !each.owner_before(publisher) && !publisher.owner_before(each);
      });
      if (!known && waiting.size() < session_traffic::max_waiting_publishers) {
        waiting.push_back(publisher);
      }
    }
  }
  if (outcome == enqueue_result::dropped_full && state->owner != 0 && state->io &&
      !state->wake_pending) {
    // A connected session at its bound: its connection re-checks its transport, so a reader
    // that no longer reads at all is found as a slow consumer even though nothing was queued.
    state->wake_pending = true;
    state->io->wake();
  }
  if (outcome != enqueue_result::queued) return false;
  if (state->io && !state->wake_pending) {
    state->wake_pending = true;
    state->io->wake();
  }
  return true;
}

void broker::resume_publisher(session& publisher) {
  auto state = publisher.lock();
  if (state->io == nullptr) return;
  state->resume_requested = true;
  state->io->wake();
}

subscribe_result broker::subscribe(session& subject, std::string_view filter,
                                   const subscription_options& options) {
  std::unique_lock tree(tree_mutex_);
  persistence* store = nullptr;
  {
    auto state = subject.lock();
    if (state->ended) return {mqtt::reason_code::unspecified_error, false};
    store = state->store();
  }
  const bool exists = tree_.find(filter, subject.id()) != nullptr;
  if (!exists && tree_.count_for(subject.id()) >= settings_.max_subscriptions_per_client) {
    return {mqtt::reason_code::quota_exceeded, false};
  }
  const auto added = tree_.try_subscribe(filter, subject.id(), options);
  if (!added) return {mqtt::reason_code::topic_filter_invalid, false};
  // Recorded with the tree's lock held, so the store sees subscription changes in tree order.
  if (store != nullptr) store->subscription_added(subject.client_id(), filter, options);
  counters_.subscriptions.store(tree_.size(), std::memory_order_relaxed);
  return {mqtt::reason_code::success, *added};
}

bool broker::unsubscribe(session& subject, std::string_view filter) {
  std::unique_lock tree(tree_mutex_);
  const bool removed = tree_.unsubscribe(filter, subject.id());
  if (removed) {
    if (persistence* store = store_of(subject))
      store->subscription_removed(subject.client_id(), filter);
  }
  counters_.subscriptions.store(tree_.size(), std::memory_order_relaxed);
  return removed;
}

std::size_t broker::unsubscribe_if(session& subject,
                                   const std::function<bool(std::string_view filter)>& remove) {
  std::unique_lock tree(tree_mutex_);
  std::vector<std::string> doomed;
  tree_.for_each_subscription_of(subject.id(),
                                 [&](std::string_view filter, const subscription_options&) {
                                   if (remove(filter)) doomed.emplace_back(filter);
                                 });
  std::size_t removed = 0;
  persistence* store = doomed.empty() ? nullptr : store_of(subject);
  for (const std::string& filter : doomed) {
    if (!tree_.unsubscribe(filter, subject.id())) continue;
    ++removed;
    if (store != nullptr) store->subscription_removed(subject.client_id(), filter);
  }
  counters_.subscriptions.store(tree_.size(), std::memory_order_relaxed);
  return removed;
}

std::size_t broker::wake_all() {
  return wake_if([](const principal&) { return true; });
}

std::size_t broker::wake_if(const std::function<bool(const principal&)>& holds) {
  std::size_t woken = 0;
  std::shared_lock registry(sessions_mutex_);
  for (const auto& candidate : by_id_) {
    auto state = candidate->lock();
    if (state->owner == 0 || state->io == nullptr || !state->who || !holds(*state->who)) continue;
    if (!state->wake_pending) {
      state->wake_pending = true;
      state->io->wake();
    }
    ++woken;
  }
  return woken;
}

std::size_t broker::send_retained(session& subject, std::string_view filter,
                                  const subscription_options& options) {
  std::vector<message_ptr> matching;
  {
    std::lock_guard lock(retained_mutex_);
    retained_.match(filter, [&](std::string_view, const message_ptr& retained) {
      matching.push_back(retained);
    });
  }
  const clock::time_point now = clock_.now();
  // Between two tick() sweeps: a retained message whose publisher's grant ended is not sent.
  std::erase_if(matching, [now](const message_ptr& retained) {
    return !retained->expired(now) && retained->retained_expired(now);
  });
  std::size_t queued = 0;
  for (message_ptr& retained : matching) {
    delivery item;
    item.qos = std::min(retained->qos, options.maximum_qos);
    // [MQTT-3.3.1-9]: retained messages sent because of a new subscription carry RETAIN 1.
    item.retain = true;
    if (options.identifier != 0) item.subscription_identifiers.push_back(options.identifier);
    if (persistence_ != nullptr && item.qos > 0) item.message_id = persistence_->allocate_id();
    item.msg = std::move(retained);
    if (enqueue(subject, std::move(item), now)) ++queued;
  }
  return queued;
}

}  // namespace acemq::broker
