#include "acemq/broker/broker.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <utility>

#include "acemq/broker/connection.hpp"
#include "acemq/broker/persistence.hpp"
#include "acemq/common/bytes.hpp"

namespace acemq::broker {

namespace {

constexpr std::uint32_t never_expires = 0xFFFFFFFF;

topic_limits limits_of(const broker_settings& settings) {
  return topic_limits{settings.max_topic_length, settings.max_topic_levels};
}

clock::time_point after_seconds(clock::time_point from, std::uint32_t seconds) {
  return from + std::chrono::duration_cast<clock::duration>(std::chrono::seconds(seconds));
}

/// The stored form of a queued delivery.
stored_delivery stored_of(const delivery& item) {
  return stored_delivery{item.store_key, item.message_id, item.msg,
                         item.qos,       item.retain,     item.subscription_identifiers};
}

/// A session's Will, moved to the heap (null: none).
std::unique_ptr<pending_will> hold(std::optional<pending_will> will) {
  return will ? std::make_unique<pending_will>(std::move(*will)) : nullptr;
}

/// Records the Will a persistent session holds now (or that it holds none).
void store_will(persistence& store, std::string_view client_id, const pending_will* will) {
  if (will != nullptr) {
    store.will_saved(client_id, *will);
  } else {
    store.will_cleared(client_id);
  }
}

/// The identity a session's state records as its owner; empty for a session without principal
/// (tests that drive the engine alone).
principal_identity owner_of(const session_state& state) noexcept {
  return state.who ? state.who->identity() : principal_identity{};
}

/// The key of a principal in broker::usage_: each part after its length, so no two identities
/// share one.
std::string usage_key(const principal_identity& who) {
  std::string key;
  for (const std::string_view part : {who.provider, who.issuer, who.subject}) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
  }
  return key;
}

/// What a retained message counts against max_retained_memory.
std::size_t retained_size(const message& retained) noexcept {
  return retained.topic.size() + retained.payload_size();
}

}  // namespace

bool is_sys_topic(std::string_view topic) noexcept {
  return topic == "$SYS" || topic.starts_with("$SYS/");
}

broker::broker(broker_settings settings, std::shared_ptr<const auth_chain> default_auth,
               const clock& time, random_source& random)
    : settings_(std::move(settings)),
      default_auth_(std::move(default_auth)),
      clock_(time),
      random_(random),
      tree_(limits_of(settings_)),
      retained_(limits_of(settings_)),
      started_(time.now()),
      next_sys_at_(started_) {
  // Configuration errors are exceptions (conventions 2): they stop start-up.
  if (!default_auth_) throw std::invalid_argument("broker: an authentication chain is required");
  if (settings_.receive_maximum == 0 || settings_.max_inflight == 0) {
    throw std::invalid_argument("broker: receive_maximum and max_inflight must be non-zero");
  }
  if (settings_.maximum_qos > 2) throw std::invalid_argument("broker: maximum_qos must be 0..2");
  if (settings_.maximum_packet_size < 128) {
    throw std::invalid_argument("broker: maximum_packet_size must be at least 128 bytes");
  }
  // [MQTT-3.1.3-5]: servers must accept client identifiers of 1 to 23 bytes.
  if (settings_.max_client_id_length < 23) {
    throw std::invalid_argument("broker: max_client_id_length must be at least 23");
  }
  if (settings_.max_packet_size_before_authentication < 128) {
    throw std::invalid_argument(
        "broker: max_packet_size_before_authentication must be at least 128 bytes");
  }
}

broker::~broker() = default;

std::uint64_t broker::open_connection() {
  counters_.connections_current.fetch_add(1, std::memory_order_relaxed);
  counters_.connections_total.fetch_add(1, std::memory_order_relaxed);
  return next_connection_id_.fetch_add(1, std::memory_order_relaxed);
}

void broker::close_connection() {
  counters_.connections_current.fetch_sub(1, std::memory_order_relaxed);
}

bool broker::at_connection_limit() const noexcept {
  return counters_.connections_current.load(std::memory_order_relaxed) >= settings_.max_connections;
}

std::string broker::assign_client_id() {
  std::array<std::uint8_t, 8> bytes{};
  {
    std::lock_guard lock(random_mutex_);
    random_.fill(bytes);
  }
  // 5 + 16 characters: within the 23 every server must accept [MQTT-3.1.3-5].
  return "auto-" + to_hex(bytes);
}

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
  if (msg->expired(now)) {
    counters_.messages_expired.fetch_add(1, std::memory_order_relaxed);
    return 0;
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
          return 0;
        }
      }
    }
    counters_.retained_messages.store(retained_.size(), std::memory_order_relaxed);
  }

  // Reused per thread so steady-state routing does not allocate the target list.
  thread_local std::vector<route_target> targets;
  targets.clear();
  {
    std::shared_lock registry(sessions_mutex_);
    {
      std::shared_lock tree(tree_mutex_);
      const auto collect = [&](subscriber_id id, const subscription_options& options, bool shared) {
        // [MQTT-3.8.3-3]: No Local - not back to the publishing session.
        if (!shared && options.no_local && id == msg->publisher_session) return;
        route_target entry{nullptr, id, options.maximum_qos, options.retain_as_published,
                           shared,  {}};
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
          [&](subscriber_id id, const subscription_options& options) {
            collect(id, options, true);
          });
    }
    // Overlapping non-shared subscriptions of one session give ONE delivery with the highest
    // QoS and every Subscription Identifier [MQTT-3.3.4-2], [MQTT-3.3.4-3], [MQTT-3.3.4-5].
    // Shared subscription deliveries stay separate copies (MQTT 5.0 4.8.2).
    std::sort(targets.begin(), targets.end(), [](const route_target& a, const route_target& b) {
      return a.id != b.id ? a.id < b.id : a.shared < b.shared;
    });
    std::size_t kept = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (kept > 0 && !targets[i].shared && !targets[kept - 1].shared &&
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
    for (route_target& entry : targets) {
      const auto found = by_id_.find(entry.id);
      if (found != by_id_.end()) entry.destination = *found;
    }
  }

  std::size_t queued = 0;
  // One stored message row for every persistent session it is queued for.
  const std::uint64_t message_id =
      persistence_ != nullptr && msg->qos > 0 && !targets.empty() ? persistence_->allocate_id() : 0;
  for (route_target& entry : targets) {
    if (!entry.destination) continue;
    delivery item;
    item.msg = msg;
    item.message_id = message_id;
    // [MQTT-3.8.4-8]: never more than the granted QoS.
    item.qos = std::min(msg->qos, entry.qos);
    // [MQTT-3.3.1-12], [MQTT-3.3.1-13]: Retain As Published.
    item.retain = entry.retain_as_published && msg->retain;
    item.subscription_identifiers = std::move(entry.identifiers);
    if (enqueue(*entry.destination, std::move(item), now, feedback)) ++queued;
  }
  targets.clear();
  return queued;
}

bool broker::enqueue(session& destination, delivery item, clock::time_point now,
                     publish_feedback* feedback) {
  auto state = destination.lock();
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

void broker::tick(clock::time_point now) {
  std::vector<pending_will> wills;
  std::vector<subscriber_id> ended;
  {
    std::unique_lock registry(sessions_mutex_);
    std::vector<std::shared_ptr<session>> ending;
    for (const std::shared_ptr<session>& candidate : detached_) {
      auto state = candidate->lock();
      const std::size_t expired = state->purge_expired(now);
      if (expired > 0) counters_.messages_expired.fetch_add(expired, std::memory_order_relaxed);
      if (state->will && state->will->publish_at && *state->will->publish_at <= now) {
        wills.push_back(std::move(*state->will));
        state->will.reset();
        if (persistence* const store = state->store()) store->will_cleared(candidate->client_id());
      }
      if (state->expiry_interval != never_expires &&
          after_seconds(state->detached_at, state->expiry_interval) <= now) {
        // The session ends: a Will still delayed is published now [MQTT-3.1.3-9].
        if (state->will) {
          wills.push_back(std::move(*state->will));
          state->will.reset();
        }
        state->ended = true;
        ending.push_back(candidate);
      }
    }
    for (const std::shared_ptr<session>& gone : ending) {
      ended.push_back(gone->id());
      end_session_locked(gone);
    }
  }
  remove_subscriptions(ended);
  for (pending_will& will : wills)
    publish_will(std::move(will), now);
  {
    std::lock_guard lock(retained_mutex_);
    // MQTT 5.0 3.3.2.3.3: an expired retained message is no longer delivered.
    // RFC 9431 5: also at the end of the publishing client's token.
    const std::size_t removed = retained_.erase_if([this, now](const message_ptr& retained) {
      if (!retained->retained_expired(now)) return false;
      retained_changed(retained.get(), nullptr);
      if (persistence_ != nullptr && !is_sys_topic(retained->topic)) {
        persistence_->retained_cleared(retained->topic);
      }
      return true;
    });
    if (removed > 0) counters_.messages_expired.fetch_add(removed, std::memory_order_relaxed);
    counters_.retained_messages.store(retained_.size(), std::memory_order_relaxed);
  }
  if (settings_.sys_interval.count() > 0) {
    bool due = false;
    {
      std::lock_guard lock(sys_mutex_);
      if (now >= next_sys_at_) {
        due = true;
        // From now, not from the missed due time: a late tick gives one update, not a burst.
        next_sys_at_ = now + std::chrono::duration_cast<clock::duration>(settings_.sys_interval);
      }
    }
    if (due) publish_sys(now);
  }
}

void broker::publish_sys(clock::time_point now) {
  const auto read = [](const std::atomic<std::uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started_).count();
  // One snapshot before routing, so the figures do not include this round of $SYS deliveries.
  const std::array<std::pair<std::string_view, std::uint64_t>, 12> figures{{
      {"$SYS/broker/uptime", static_cast<std::uint64_t>(std::max<std::int64_t>(0, uptime))},
      {"$SYS/broker/clients/connected", read(counters_.connections_current)},
      // As mosquitto: every session, connected or kept for a disconnected client.
      {"$SYS/broker/clients/total", read(counters_.sessions)},
      {"$SYS/broker/messages/received", read(counters_.messages_in)},
      {"$SYS/broker/messages/sent", read(counters_.messages_out)},
      {"$SYS/broker/bytes/received", read(counters_.bytes_in)},
      {"$SYS/broker/bytes/sent", read(counters_.bytes_out)},
      {"$SYS/broker/subscriptions/count", read(counters_.subscriptions)},
      {"$SYS/broker/retained messages/count", read(counters_.retained_messages)},
      {"$SYS/broker/messages/dropped", read(counters_.messages_dropped)},
      {"$SYS/broker/auth/success", read(counters_.auth_success)},
      {"$SYS/broker/auth/failure", read(counters_.auth_failure)},
  }};
  for (const auto& [topic, value] : figures) {
    auto content = std::make_shared<message>();
    content->topic = std::string(topic);
    content->payload = std::make_shared<const byte_vector>(to_bytes(std::to_string(value)));
    content->qos = 0;
    // Retained, so a client subscribing between two rounds gets the latest figures at once.
    content->retain = true;
    content->publisher_client_id = "$SYS";
    route(content, now, nullptr);
  }
}

persistence* broker::store_of(session& subject) {
  auto state = subject.lock();
  return state->store();
}

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

std::size_t broker::session_count() const {
  std::shared_lock registry(sessions_mutex_);
  return by_id_.size();
}

std::size_t broker::retained_count() const {
  std::lock_guard lock(retained_mutex_);
  return retained_.size();
}

void broker::retained_changed(const message* before, const message* after) noexcept {
  if (before != nullptr) retained_bytes_ -= retained_size(*before);
  if (after != nullptr) retained_bytes_ += retained_size(*after);
  counters_.retained_bytes.store(retained_bytes_, std::memory_order_relaxed);
}

std::size_t broker::retained_bytes() const {
  std::lock_guard lock(retained_mutex_);
  return retained_bytes_;
}

std::size_t broker::session_count_of(const principal_identity& who) const {
  std::shared_lock registry(sessions_mutex_);
  const auto found = usage_.find(usage_key(who));
  return found == usage_.end() ? 0 : found->second.sessions;
}

std::size_t broker::queued_bytes_of(const principal_identity& who) const {
  std::shared_lock registry(sessions_mutex_);
  const auto found = usage_.find(usage_key(who));
  return found == usage_.end() ? 0 : found->second.queued_bytes.load(std::memory_order_relaxed);
}

std::shared_ptr<session> broker::find_session(std::string_view client_id) const {
  std::shared_lock registry(sessions_mutex_);
  const auto found = by_client_id_.find(client_id);
  return found == by_client_id_.end() ? nullptr : *by_id_.find((*found)->id());
}

}  // namespace acemq::broker
