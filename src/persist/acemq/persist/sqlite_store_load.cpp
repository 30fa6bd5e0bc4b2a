// Loading the broker's state at start-up: sessions with their subscriptions, deliveries, QoS 2
// ids and Wills, the retained messages, and the ACE provider's tokens. Every row is checked: an
// impossible value is a load error, not a crash.
#include <algorithm>
#include <unordered_map>
#include <utility>

#include "acemq/common/utf8.hpp"
#include "acemq/persist/sqlite_store_detail.hpp"

namespace acemq::persist {

using namespace detail;  // the row conversions of this store

namespace {

bool valid_qos(std::int64_t qos) {
  return qos >= 0 && qos <= 2;
}

/// Builds a message from the columns shared by messages, retained and wills rows.
std::optional<message> read_message(std::string topic, byte_vector payload, std::int64_t qos,
                                    byte_view properties, std::string publisher) {
  if (topic.empty() || !is_valid_utf8(topic) || !valid_qos(qos)) return std::nullopt;
  auto forwarded = decode_properties(properties);
  if (!forwarded) return std::nullopt;
  message msg;
  msg.topic = std::move(topic);
  msg.payload = std::make_shared<const byte_vector>(std::move(payload));
  msg.qos = static_cast<std::uint8_t>(qos);
  msg.forwarded = broker::forwarded_from(std::move(*forwarded));
  msg.publisher_client_id = std::move(publisher);
  return msg;
}

}  // namespace

result<broker::persistence_snapshot, persistence_error> sqlite_store::load() {
  std::lock_guard lock(commit_mutex_);
  const sqlite::database& db = db_->connection;
  const time_anchor anchor(clock_);
  broker::persistence_snapshot snapshot;
  std::unordered_map<std::string, std::size_t> index;
  std::uint64_t highest_id = 0;

  sqlite::statement sessions(db,
                             "SELECT client_id, expiry_interval, detached_at, owner_provider, "
                             "owner_issuer, owner_subject FROM sessions");
  while (sessions.step()) {
    broker::stored_session entry;
    entry.client_id = sessions.text(0);
    const auto expiry = sessions.integer(1);
    if (expiry < 0 || expiry > 0xFFFFFFFF) return unexpected(corrupt_row("sessions"));
    entry.expiry_interval = static_cast<std::uint32_t>(expiry);
    if (!sessions.is_null(2)) entry.detached_at = anchor.from_unix(sessions.integer(2));
    if (!sessions.is_null(3)) {
      broker::owned_identity owner;
      owner.provider = sessions.text(3);
      owner.issuer = sessions.text(4);
      owner.subject = sessions.text(5);
      entry.owner = std::move(owner);
    }
    index.emplace(entry.client_id, snapshot.sessions.size());
    snapshot.sessions.push_back(std::move(entry));
  }
  if (!sessions.ok()) return unexpected(to_persistence_error(sessions.failure("load sessions")));
  const auto owner = [&](const std::string& client_id) -> broker::stored_session* {
    const auto found = index.find(client_id);
    return found == index.end() ? nullptr : &snapshot.sessions[found->second];
  };

  sqlite::statement subscriptions(
      db,
      "SELECT client_id, filter, maximum_qos, no_local, retain_as_published, "
      "retain_handling, identifier FROM subscriptions ORDER BY client_id");
  while (subscriptions.step()) {
    broker::stored_session* session = owner(subscriptions.text(0));
    if (session == nullptr) continue;  // a row of a session already ended: ignored
    const auto qos = subscriptions.integer(2);
    const auto handling = subscriptions.integer(5);
    const auto identifier = subscriptions.integer(6);
    if (!valid_qos(qos) || handling < 0 || handling > 2 || identifier < 0 ||
        identifier > mqtt::max_subscription_identifier) {
      return unexpected(corrupt_row("subscriptions"));
    }
    subscription_options options;
    options.maximum_qos = static_cast<std::uint8_t>(qos);
    options.no_local = subscriptions.integer(3) != 0;
    options.retain_as_published = subscriptions.integer(4) != 0;
    options.retain_handling = static_cast<std::uint8_t>(handling);
    options.identifier = static_cast<std::uint32_t>(identifier);
    session->subscriptions.emplace_back(subscriptions.text(1), options);
  }
  if (!subscriptions.ok())
    return unexpected(to_persistence_error(subscriptions.failure("load subscriptions")));

  // One message object per message row, shared by its deliveries (as when it was routed).
  std::unordered_map<std::uint64_t, message_ptr> messages;
  sqlite::statement deliveries(
      db,
      "SELECT d.key, d.client_id, d.message_id, d.qos, d.retain, d.subscription_identifiers, "
      "d.stage, d.packet_id, d.sequence, m.topic, m.payload, m.qos, m.retain, m.properties, "
      "m.expires_at, m.publisher FROM deliveries d JOIN messages m ON m.id = d.message_id "
      "ORDER BY d.key");
  while (deliveries.step()) {
    const auto key = deliveries.integer(0);
    const auto message_id = deliveries.integer(2);
    const auto qos = deliveries.integer(3);
    const auto stage = deliveries.integer(6);
    const auto packet_id = deliveries.integer(7);
    if (key <= 0 || message_id <= 0 || qos < 1 || qos > 2 || stage < 0 || stage > 2 ||
        (stage != 0 && (packet_id < 1 || packet_id > 65535)) || deliveries.integer(8) < 0) {
      return unexpected(corrupt_row("deliveries"));
    }
    highest_id = std::max(
        {highest_id, static_cast<std::uint64_t>(key), static_cast<std::uint64_t>(message_id)});
    broker::stored_session* session = owner(deliveries.text(1));
    if (session == nullptr) continue;
    message_ptr& shared = messages[static_cast<std::uint64_t>(message_id)];
    if (!shared) {
      const byte_vector properties = deliveries.blob(13);
      auto msg = read_message(deliveries.text(9), deliveries.blob(10), deliveries.integer(11),
                              properties, deliveries.text(15));
      if (!msg) return unexpected(corrupt_row("messages"));
      msg->retain = deliveries.integer(12) != 0;
      if (!deliveries.is_null(14)) msg->expires_at = anchor.from_unix(deliveries.integer(14));
      shared = std::make_shared<const message>(std::move(*msg));
    }
    const byte_vector identifier_bytes = deliveries.blob(5);
    auto identifiers = decode_properties(identifier_bytes);
    if (!identifiers) return unexpected(corrupt_row("deliveries"));
    stored_delivery item;
    item.key = static_cast<std::uint64_t>(key);
    item.message_id = static_cast<std::uint64_t>(message_id);
    item.msg = shared;
    item.qos = static_cast<std::uint8_t>(qos);
    item.retain = deliveries.integer(4) != 0;
    item.subscription_identifiers = std::move(identifiers->subscription_identifiers);
    if (static_cast<stored_stage>(stage) == stored_stage::queued) {
      session->queued.push_back(std::move(item));
    } else {
      broker::stored_inflight sent;
      sent.item = std::move(item);
      sent.packet_id = static_cast<std::uint16_t>(packet_id);
      sent.at = static_cast<stored_stage>(stage) == stored_stage::pubrel_sent
                    ? broker::inflight_entry::stage::pubrel_sent
                    : broker::inflight_entry::stage::publish_sent;
      sent.sequence = static_cast<std::uint64_t>(deliveries.integer(8));
      session->inflight.push_back(std::move(sent));
    }
  }
  if (!deliveries.ok())
    return unexpected(to_persistence_error(deliveries.failure("load deliveries")));
  for (broker::stored_session& session : snapshot.sessions) {
    std::sort(session.inflight.begin(), session.inflight.end(),
              [](const broker::stored_inflight& a, const broker::stored_inflight& b) {
                return a.sequence < b.sequence;
              });
  }

  sqlite::statement highest(db, "SELECT coalesce(max(id), 0) FROM messages");
  if (!highest.step()) return unexpected(to_persistence_error(highest.failure("load message ids")));
  highest_id = std::max(highest_id,
                        static_cast<std::uint64_t>(std::max<std::int64_t>(0, highest.integer(0))));

  sqlite::statement inbound(db, "SELECT client_id, packet_id FROM inbound_qos2 ORDER BY client_id");
  while (inbound.step()) {
    const auto packet_id = inbound.integer(1);
    if (packet_id < 1 || packet_id > 65535) return unexpected(corrupt_row("inbound_qos2"));
    if (broker::stored_session* session = owner(inbound.text(0))) {
      session->inbound_qos2.push_back(static_cast<std::uint16_t>(packet_id));
    }
  }
  if (!inbound.ok())
    return unexpected(to_persistence_error(inbound.failure("load inbound QoS 2 ids")));

  sqlite::statement wills(
      db,
      "SELECT client_id, topic, payload, qos, retain, properties, "
      "message_expiry_interval, delay_seconds, publish_at, publisher_grant_ends "
      "FROM wills");
  while (wills.step()) {
    broker::stored_session* session = owner(wills.text(0));
    if (session == nullptr) continue;
    const byte_vector properties = wills.blob(5);
    auto content =
        read_message(wills.text(1), wills.blob(2), wills.integer(3), properties, wills.text(0));
    const auto delay = wills.integer(7);
    const auto expiry = wills.is_null(6) ? std::int64_t{0} : wills.integer(6);
    if (!content || delay < 0 || delay > 0xFFFFFFFF || expiry < 0 || expiry > 0xFFFFFFFF) {
      return unexpected(corrupt_row("wills"));
    }
    content->retain = wills.integer(4) != 0;
    broker::pending_will will;
    will.content = std::move(*content);
    if (!wills.is_null(6)) will.message_expiry_interval = static_cast<std::uint32_t>(expiry);
    will.delay_seconds = static_cast<std::uint32_t>(delay);
    if (!wills.is_null(8)) will.publish_at = anchor.from_unix(wills.integer(8));
    if (!wills.is_null(9)) will.publisher_grant_ends_unix = wills.integer(9);
    session->will = std::move(will);
  }
  if (!wills.ok()) return unexpected(to_persistence_error(wills.failure("load wills")));

  sqlite::statement retained(
      db,
      "SELECT topic, payload, qos, properties, expires_at, retain_until, publisher "
      "FROM retained ORDER BY topic");
  while (retained.step()) {
    const byte_vector properties = retained.blob(3);
    auto msg = read_message(retained.text(0), retained.blob(1), retained.integer(2), properties,
                            retained.text(6));
    if (!msg) return unexpected(corrupt_row("retained"));
    msg->retain = true;
    if (!retained.is_null(4)) msg->expires_at = anchor.from_unix(retained.integer(4));
    if (!retained.is_null(5)) msg->retain_until = anchor.from_unix(retained.integer(5));
    snapshot.retained.push_back(std::make_shared<const message>(std::move(*msg)));
  }
  if (!retained.ok())
    return unexpected(to_persistence_error(retained.failure("load retained messages")));

  snapshot.next_id = highest_id + 1;
  next_id_.store(std::max(next_id_.load(std::memory_order_relaxed), snapshot.next_id),
                 std::memory_order_relaxed);
  return snapshot;
}

result<std::vector<stored_token>, persistence_error> sqlite_store::load_tokens(
    std::int64_t now_unix) {
  std::lock_guard lock(commit_mutex_);
  std::vector<stored_token> tokens;
  sqlite::statement select(
      db_->connection,
      "SELECT key, value, expires_at FROM tokens WHERE expires_at > ?1 ORDER BY key");
  select.bind(1, now_unix);
  while (select.step()) {
    tokens.push_back(stored_token{select.text(0), select.blob(1), select.integer(2)});
  }
  if (!select.ok()) return unexpected(to_persistence_error(select.failure("load tokens")));
  return tokens;
}

}  // namespace acemq::persist
