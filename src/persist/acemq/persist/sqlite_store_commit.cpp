// Group commit: the batch of recorded operations written to the file in one transaction, with
// deliveries queued and removed inside the batch coalesced away.
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <variant>

#include "acemq/persist/sqlite_store_detail.hpp"
#include "acemq/sqlite/transaction.hpp"

namespace acemq::persist {

using namespace detail;  // the operation types and row conversions of this store

result<void, persistence_error> sqlite_store::commit_locked() {
  if (failed()) return unexpected(failure_);
  std::vector<operation> work;
  std::uint64_t upto = 0;
  {
    std::lock_guard lock(batch_mutex_);
    work.swap(batch_);
    upto = recorded_.load(std::memory_order_relaxed);
  }
  if (work.empty()) return {};

  // Deliveries queued and removed inside this batch never need to touch the file (an online
  // subscriber usually acknowledges within one interval). Keys are never reused, so this is exact.
  std::unordered_set<std::uint64_t> queued_here;
  std::unordered_set<std::uint64_t> removed_here;
  for (const operation& op : work) {
    if (const auto* queued = std::get_if<delivery_queued_op>(&op.change)) {
      queued_here.insert(queued->item.key);
    } else if (const auto* removed = std::get_if<delivery_removed_op>(&op.change)) {
      removed_here.insert(removed->key);
    }
  }
  std::unordered_set<std::uint64_t> transient;
  for (const std::uint64_t key : removed_here) {
    if (queued_here.contains(key)) transient.insert(key);
  }

  const time_anchor anchor(clock_);
  database& d = *db_;
  std::unordered_set<std::uint64_t> messages_written;
  std::unordered_set<std::uint64_t> orphan_candidates;
  std::uint64_t coalesced = 0;

  const auto fail = [&](persistence_error error) -> result<void, persistence_error> {
    failure_ = error;
    failed_.store(true, std::memory_order_release);
    committed_changed_.notify_all();
    return unexpected(std::move(error));
  };
  const auto write_message = [&](std::uint64_t id,
                                 const message& msg) -> result<void, persistence_error> {
    if (!messages_written.insert(id).second) return {};
    const byte_vector properties = encode_properties(msg.forwarded_properties());
    d.message_insert->bind(1, as_int(id))
        .bind(2, msg.topic)
        .bind_blob(3, *msg.payload)
        .bind(4, std::int64_t{msg.qos})
        .bind(5, std::int64_t{msg.retain})
        .bind_blob(6, properties)
        .bind(7, anchor.to_unix(msg.expires_at))
        .bind(8, msg.publisher_client_id);
    return run(*d.message_insert, "store message");
  };

  auto tx = sqlite::transaction::begin(d.connection);
  if (!tx) {
    auto failure = to_persistence_error(tx.error());
    failure.reason = error_code::io;
    return fail(std::move(failure));
  }
  for (operation& op : work) {
    auto applied = std::visit(
        [&](auto& change) -> result<void, persistence_error> {
          using type = std::decay_t<decltype(change)>;
          if constexpr (std::is_same_v<type, session_saved_op>) {
            d.session_upsert->bind(1, change.client_id)
                .bind(2, std::int64_t{change.expiry_interval})
                .bind(3, anchor.to_unix(change.detached_at))
                .bind(4, change.owner.provider)
                .bind(5, change.owner.issuer)
                .bind(6, change.owner.subject);
            return run(*d.session_upsert, "save session");
          } else if constexpr (std::is_same_v<type, session_ended_op>) {
            d.messages_of_client->bind(1, change.client_id);
            while (d.messages_of_client->step()) {
              orphan_candidates.insert(
                  static_cast<std::uint64_t>(d.messages_of_client->integer(0)));
            }
            if (!d.messages_of_client->ok())
              return unexpected(to_persistence_error(d.messages_of_client->failure("end")));
            d.messages_of_client->reset();
            for (sqlite::statement* remove :
                 {d.deliveries_delete_all, d.subscriptions_delete_all, d.inbound_delete_all,
                  d.will_delete, d.session_delete}) {
              remove->bind(1, change.client_id);
              if (auto done = run(*remove, "end session"); !done) return done;
            }
            return {};
          } else if constexpr (std::is_same_v<type, subscription_added_op>) {
            d.subscription_upsert->bind(1, change.client_id)
                .bind(2, change.filter)
                .bind(3, std::int64_t{change.options.maximum_qos})
                .bind(4, std::int64_t{change.options.no_local})
                .bind(5, std::int64_t{change.options.retain_as_published})
                .bind(6, std::int64_t{change.options.retain_handling})
                .bind(7, std::int64_t{change.options.identifier});
            return run(*d.subscription_upsert, "save subscription");
          } else if constexpr (std::is_same_v<type, subscription_removed_op>) {
            d.subscription_delete->bind(1, change.client_id).bind(2, change.filter);
            return run(*d.subscription_delete, "remove subscription");
          } else if constexpr (std::is_same_v<type, delivery_queued_op>) {
            if (transient.contains(change.item.key)) {
              ++coalesced;
              return {};
            }
            if (auto written = write_message(change.item.message_id, *change.item.msg); !written) {
              return written;
            }
            const byte_vector identifiers =
                encode_identifiers(change.item.subscription_identifiers);
            d.delivery_insert->bind(1, as_int(change.item.key))
                .bind(2, change.client_id)
                .bind(3, as_int(change.item.message_id))
                .bind(4, std::int64_t{change.item.qos})
                .bind(5, std::int64_t{change.item.retain})
                .bind_blob(6, identifiers);
            return run(*d.delivery_insert, "queue delivery");
          } else if constexpr (std::is_same_v<type, delivery_sent_op>) {
            if (transient.contains(change.key)) {
              ++coalesced;
              return {};
            }
            d.delivery_sent->bind(1, as_int(change.key))
                .bind(2, std::int64_t{change.packet_id})
                .bind(3, as_int(change.sequence));
            return run(*d.delivery_sent, "delivery sent");
          } else if constexpr (std::is_same_v<type, delivery_released_op>) {
            if (transient.contains(change.key)) {
              ++coalesced;
              return {};
            }
            d.delivery_released->bind(1, as_int(change.key));
            return run(*d.delivery_released, "delivery released");
          } else if constexpr (std::is_same_v<type, delivery_removed_op>) {
            if (transient.contains(change.key)) {
              ++coalesced;
              return {};
            }
            d.delivery_message->bind(1, as_int(change.key));
            if (d.delivery_message->step()) {
              orphan_candidates.insert(static_cast<std::uint64_t>(d.delivery_message->integer(0)));
            }
            if (!d.delivery_message->ok())
              return unexpected(to_persistence_error(d.delivery_message->failure("remove")));
            d.delivery_message->reset();
            d.delivery_delete->bind(1, as_int(change.key));
            return run(*d.delivery_delete, "remove delivery");
          } else if constexpr (std::is_same_v<type, inbound_added_op>) {
            d.inbound_insert->bind(1, change.client_id).bind(2, std::int64_t{change.packet_id});
            return run(*d.inbound_insert, "inbound QoS 2 id");
          } else if constexpr (std::is_same_v<type, inbound_released_op>) {
            d.inbound_delete->bind(1, change.client_id).bind(2, std::int64_t{change.packet_id});
            return run(*d.inbound_delete, "inbound QoS 2 release");
          } else if constexpr (std::is_same_v<type, retained_set_op>) {
            const message& msg = *change.msg;
            const byte_vector properties = encode_properties(msg.forwarded_properties());
            d.retained_upsert->bind(1, msg.topic)
                .bind_blob(2, *msg.payload)
                .bind(3, std::int64_t{msg.qos})
                .bind_blob(4, properties)
                .bind(5, anchor.to_unix(msg.expires_at))
                .bind(6, anchor.to_unix(msg.retain_until))
                .bind(7, msg.publisher_client_id);
            return run(*d.retained_upsert, "retain message");
          } else if constexpr (std::is_same_v<type, retained_cleared_op>) {
            d.retained_delete->bind(1, change.topic);
            return run(*d.retained_delete, "clear retained");
          } else if constexpr (std::is_same_v<type, will_saved_op>) {
            const message& msg = change.will.content;
            const byte_vector properties = encode_properties(msg.forwarded_properties());
            std::optional<std::int64_t> expiry;
            if (change.will.message_expiry_interval) expiry = *change.will.message_expiry_interval;
            d.will_upsert->bind(1, change.client_id)
                .bind(2, msg.topic)
                .bind_blob(3, msg.payload ? byte_view(*msg.payload) : byte_view{})
                .bind(4, std::int64_t{msg.qos})
                .bind(5, std::int64_t{msg.retain})
                .bind_blob(6, properties)
                .bind(7, expiry)
                .bind(8, std::int64_t{change.will.delay_seconds})
                .bind(9, anchor.to_unix(change.will.publish_at))
                .bind(10, change.will.publisher_grant_ends_unix);
            return run(*d.will_upsert, "save will");
          } else if constexpr (std::is_same_v<type, will_cleared_op>) {
            d.will_delete->bind(1, change.client_id);
            return run(*d.will_delete, "clear will");
          } else if constexpr (std::is_same_v<type, token_put_op>) {
            d.token_upsert->bind(1, change.key)
                .bind_blob(2, change.value)
                .bind(3, change.expires_at_unix);
            return run(*d.token_upsert, "save token");
          } else {
            static_assert(std::is_same_v<type, token_removed_op>);
            d.token_delete->bind(1, change.key);
            return run(*d.token_delete, "remove token");
          }
        },
        op.change);
    if (!applied) return fail(applied.error());
  }
  // Message rows live as long as a delivery refers to them.
  for (const std::uint64_t id : orphan_candidates) {
    d.message_delete_orphan->bind(1, as_int(id));
    if (auto done = run(*d.message_delete_orphan, "drop message"); !done) return fail(done.error());
  }
  if (auto done = tx->commit(); !done) {
    auto failure = to_persistence_error(done.error());
    failure.reason = error_code::io;
    return fail(std::move(failure));
  }
  committed_.store(upto, std::memory_order_release);
  ++statistics_.commits;
  statistics_.operations_committed += work.size();
  statistics_.operations_coalesced += coalesced;
  committed_changed_.notify_all();
  return {};
}

}  // namespace acemq::persist
