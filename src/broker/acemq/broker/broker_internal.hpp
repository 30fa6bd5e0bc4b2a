#pragma once
// Internal to the engine (not installed): the small helpers that more than one of its source files
// (broker*.cpp) use.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "acemq/broker/broker.hpp"
#include "acemq/broker/persistence.hpp"

namespace acemq::broker::detail {

inline clock::time_point after_seconds(clock::time_point from, std::uint32_t seconds) {
  return from + std::chrono::duration_cast<clock::duration>(std::chrono::seconds(seconds));
}

/// The stored form of a queued delivery.
inline stored_delivery stored_of(const delivery& item) {
  return stored_delivery{item.store_key, item.message_id, item.msg,
                         item.qos,       item.retain,     item.subscription_identifiers};
}

/// A session's Will, moved to the heap (null: none).
inline std::unique_ptr<pending_will> hold(std::optional<pending_will> will) {
  return will ? std::make_unique<pending_will>(std::move(*will)) : nullptr;
}

/// Records the Will a persistent session holds now (or that it holds none).
inline void store_will(persistence& store, std::string_view client_id, const pending_will* will) {
  if (will != nullptr) {
    store.will_saved(client_id, *will);
  } else {
    store.will_cleared(client_id);
  }
}

/// The identity a session's state records as its owner; empty for a session without principal
/// (tests that drive the engine alone).
inline principal_identity owner_of(const session_state& state) noexcept {
  return state.who ? state.who->identity() : principal_identity{};
}

/// The key of a principal in broker::usage_: each part after its length, so no two identities
/// share one.
inline std::string usage_key(const principal_identity& who) {
  std::string key;
  for (const std::string_view part : {who.provider, who.issuer, who.subject}) {
    key += std::to_string(part.size());
    key += ':';
    key += part;
  }
  return key;
}

/// What a retained message counts against max_retained_memory.
inline std::size_t retained_size(const message& retained) noexcept {
  return retained.topic.size() + retained.payload_size();
}

}  // namespace acemq::broker::detail
