#pragma once
// The owner decides: the scope in a token is the intersection of what the client asked for and
// what the owners' grants currently allow (RFC 6749 3.3: the AS may issue a narrower scope and
// then says so in the response). A request for nothing allowed is invalid_scope.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/as/model.hpp"
#include "acemq/token/scope/aif.hpp"

namespace acemq::as::policy {

/// Upper bound on the entries of a granted scope; keeps tokens small (the seed paper asks for a
/// reasonable bound on token size for devices).
inline constexpr std::size_t max_scope_entries = 64;

/// The filter that matches exactly the topic names both valid filters match, or nullopt when no
/// topic name matches both. Wildcards in the first level never match `$` topics [MQTT-4.7.2-1];
/// `a/#` also matches `a` [MQTT-4.7.1-2].
std::optional<std::string> intersect_filters(std::string_view a, std::string_view b);

/// The AIF entries the client receives. `requested` is nullopt when the request carried no scope:
/// the default is everything the active grants allow. Only grants active at `now` count.
/// An empty result means nothing requested is allowed (the caller answers invalid_scope).
std::vector<token::scope::grant> intersect(
    const std::optional<std::vector<token::scope::grant>>& requested,
    const std::vector<grant_record>& grants, std::int64_t now);

/// Until when the grants active at `now` allow all of `granted` (unix seconds): for each entry
/// and each permission it carries, the latest end of an active grant covering it; the earliest
/// of those. 0 when some entry is not covered at all. A token's exp never passes it, and a
/// token whose exp does (its grant was revoked, narrowed or shortened) is revoked.
std::int64_t covered_until(const std::vector<token::scope::grant>& granted,
                           const std::vector<grant_record>& grants, std::int64_t now);

}  // namespace acemq::as::policy
