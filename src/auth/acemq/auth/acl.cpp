#include "acemq/auth/acl.hpp"

#include <array>
#include <atomic>
#include <iterator>
#include <utility>

#include "acemq/common/small_file.hpp"
#include "acemq/common/text.hpp"
#include "acemq/common/topic.hpp"
#include "acemq/common/utf8.hpp"

namespace acemq::auth {

namespace {

std::atomic<std::uint64_t> next_principal_instance{1};

/// Splits off the first whitespace-delimited word.
std::string_view next_word(std::string_view& text) {
  text = trim_blanks(text);
  std::size_t end = 0;
  while (end < text.size() && text[end] != ' ' && text[end] != '\t')
    ++end;
  std::string_view word = text.substr(0, end);
  text = trim_blanks(text.substr(end));
  return word;
}

std::optional<acl_access> parse_access(std::string_view word) {
  if (word == "read") return acl_access::read;
  if (word == "write") return acl_access::write;
  if (word == "readwrite") return acl_access::readwrite;
  return std::nullopt;
}

bool has_access(acl_access granted, acl_access wanted) {
  return (static_cast<std::uint8_t>(granted) & static_cast<std::uint8_t>(wanted)) != 0;
}

/// A value may replace %c / %u only if it stays inside one topic level and adds no wildcard.
bool safe_substitution_value(std::string_view value) {
  if (value.empty()) return false;
  for (char c : value) {
    if (c == '+' || c == '#' || c == '/' || c == '\0') return false;
  }
  return true;
}

/// Substitutes %c and %u; nullopt when a needed value is missing or unsafe. "%%" is a literal
/// percent sign; any other '%' sequence was refused at parse time.
std::optional<std::string> substitute(std::string_view filter, std::string_view client_id,
                                      std::optional<std::string_view> username) {
  std::string out;
  out.reserve(filter.size());
  for (std::size_t i = 0; i < filter.size(); ++i) {
    if (filter[i] != '%' || i + 1 >= filter.size()) {
      out.push_back(filter[i]);
      continue;
    }
    const char kind = filter[++i];
    if (kind == '%') {
      out.push_back('%');
    } else if (kind == 'c') {
      if (!safe_substitution_value(client_id)) return std::nullopt;
      out.append(client_id);
    } else if (kind == 'u') {
      if (!username || !safe_substitution_value(*username)) return std::nullopt;
      out.append(*username);
    } else {
      return std::nullopt;
    }
  }
  if (!topic::is_valid_filter(out)) return std::nullopt;
  return out;
}

/// Checks the template syntax: only %c, %u and %% escapes, and a valid filter once the
/// placeholders are replaced by a plain level name.
bool valid_template(std::string_view filter, bool& has_substitution) {
  std::string probe;
  has_substitution = false;
  for (std::size_t i = 0; i < filter.size(); ++i) {
    if (filter[i] != '%') {
      probe.push_back(filter[i]);
      continue;
    }
    if (i + 1 >= filter.size()) return false;
    const char kind = filter[++i];
    if (kind == '%') {
      probe.push_back('%');
    } else if (kind == 'c' || kind == 'u') {
      has_substitution = true;
      probe.push_back('x');
    } else {
      return false;
    }
  }
  return topic::is_valid_filter(probe);
}

}  // namespace

result<acl, acl_error> acl::parse(std::string_view text, const acl_limits& bounds) {
  if (text.size() > bounds.max_size) return unexpected(acl_error{0, "ACL file too large"});
  if (!is_valid_utf8(text)) return unexpected(acl_error{0, "ACL file is not valid UTF-8"});
  acl out;
  std::optional<std::string> current_user;
  std::size_t rules = 0;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    std::string_view line = take_line(text);
    if (line.size() > bounds.max_line) return unexpected(acl_error{line_number, "line too long"});
    line = trim_blanks(line);
    if (line.empty() || line.front() == '#') continue;
    std::string_view rest = line;
    const std::string_view directive = next_word(rest);
    if (directive == "user") {
      // The user name is the rest of the line (mosquitto allows spaces in user names).
      if (rest.empty()) return unexpected(acl_error{line_number, "user needs a name"});
      current_user = std::string(rest);
      out.user_rules_.try_emplace(*current_user);
      continue;
    }
    if (directive != "topic" && directive != "pattern") {
      return unexpected(
          acl_error{line_number, "unknown directive (expected user, topic or pattern)"});
    }
    acl_rule rule;
    std::string_view filter = rest;
    std::string_view probe = rest;
    const std::string_view first = next_word(probe);
    if (auto access = parse_access(first); access && !probe.empty()) {
      rule.access = *access;
      filter = probe;
    }
    if (filter.empty()) return unexpected(acl_error{line_number, "missing topic filter"});
    if (!valid_template(filter, rule.has_substitution)) {
      return unexpected(acl_error{line_number, "invalid topic filter or placeholder"});
    }
    rule.filter = std::string(filter);
    if (++rules > bounds.max_rules) return unexpected(acl_error{line_number, "too many rules"});
    if (directive == "pattern") {
      out.patterns_.push_back(std::move(rule));
    } else if (current_user) {
      out.user_rules_[*current_user].push_back(std::move(rule));
    } else {
      out.global_rules_.push_back(std::move(rule));
    }
  }
  return out;
}

acl acl::allow_all() {
  acl out;
  out.grants_everything_ = true;
  return out;
}

std::size_t acl::rule_count() const noexcept {
  std::size_t count = global_rules_.size() + patterns_.size();
  for (const auto& [user, rules] : user_rules_)
    count += rules.size();
  return count;
}

std::vector<acl_rule> acl::resolve(std::string_view client_id,
                                   std::optional<std::string_view> username) const {
  std::vector<acl_rule> out;
  auto add = [&](const acl_rule& rule) {
    if (!rule.has_substitution) {
      out.push_back(rule);
      return;
    }
    // Refuse a substitution that would widen access: the rule then grants nothing.
    if (auto filter = substitute(rule.filter, client_id, username)) {
      out.push_back(acl_rule{rule.access, std::move(*filter), false});
    }
  };
  for (const auto& rule : global_rules_)
    add(rule);
  if (username) {
    if (auto it = user_rules_.find(std::string(*username)); it != user_rules_.end()) {
      for (const auto& rule : it->second)
        add(rule);
    }
  }
  for (const auto& rule : patterns_)
    add(rule);
  return out;
}

acl_store::acl_store(acl initial, std::string path)
    : path_(std::move(path)),
      current_(std::make_shared<const snapshot>(snapshot{0, std::move(initial)})) {}

void acl_store::replace(acl rules) {
  const std::uint64_t generation = next_generation_++;
  auto installed = std::make_shared<const snapshot>(snapshot{generation, std::move(rules)});
  {
    std::lock_guard hold(mutex_);
    current_ = std::move(installed);
  }
  published_generation_.store(generation, std::memory_order_release);
}

result<void, acl_error> acl_store::reload() {
  if (path_.empty()) return unexpected(acl_error{0, "no ACL file configured"});
  auto loaded = load_acl_file(path_);
  if (!loaded) return unexpected(loaded.error());
  replace(std::move(*loaded));
  return {};
}

result<acl, acl_error> load_acl_file(const std::string& path, const acl_limits& bounds) {
  auto text = read_small_file(path, bounds.max_size);
  if (!text) {
    if (text.error() == small_file_error::too_large) {
      return unexpected(acl_error{0, "ACL file too large"});
    }
    return unexpected(acl_error{0, "cannot read ACL file " + path});
  }
  return acl::parse(*text, bounds);
}

acl_principal::acl_principal(std::string_view provider, std::string name, std::string client_id,
                             std::optional<std::string> username,
                             std::shared_ptr<const acl_store> store,
                             std::optional<std::int64_t> expires_at)
    : provider_(provider),
      name_(std::move(name)),
      client_id_(std::move(client_id)),
      username_(std::move(username)),
      store_(std::move(store)),
      expires_at_(expires_at),
      instance_(next_principal_instance.fetch_add(1, std::memory_order_relaxed)) {}

const acl_principal::resolved& acl_principal::rules() const {
  // A direct-mapped cache per thread: a slot holds (shares) the rules of the last principal
  // that used it, so a principal that ended leaves at most one entry per thread behind.
  struct slot {
    std::uint64_t instance = 0;
    std::shared_ptr<const resolved> rules;
  };
  thread_local std::array<slot, 64> recent;
  slot& mine = recent[instance_ % recent.size()];
  if (mine.instance != instance_ || mine.rules->generation != store_->generation()) {
    mine.rules = resolve_rules();
    mine.instance = instance_;
  }
  return *mine.rules;
}

std::shared_ptr<const acl_principal::resolved> acl_principal::resolve_rules() const {
  // The principal's own cache first: a check whose thread slot was taken by another principal
  // finds the rules here without the store's lock, which every principal shares.
  {
    std::lock_guard hold(cache_mutex_);
    if (cache_ && cache_->generation == store_->generation()) return cache_;
  }
  auto current = store_->current();
  auto fresh = std::make_shared<resolved>();
  fresh->generation = current->generation;
  fresh->grants_everything = current->rules.grants_everything();
  if (!fresh->grants_everything) {
    std::optional<std::string_view> user;
    if (username_) user = *username_;
    fresh->rules = current->rules.resolve(client_id_, user);
  }
  std::shared_ptr<const resolved> result = std::move(fresh);
  std::lock_guard hold(cache_mutex_);
  cache_ = result;
  return result;
}

mqtt::reason_code acl_principal::may_publish(std::string_view topic_name) const {
  const resolved& resolved_rules = rules();
  if (resolved_rules.grants_everything) return mqtt::reason_code::success;
  for (const auto& rule : resolved_rules.rules) {
    if (has_access(rule.access, acl_access::write) && topic::matches(rule.filter, topic_name)) {
      return mqtt::reason_code::success;
    }
  }
  return mqtt::reason_code::not_authorized;
}

mqtt::reason_code acl_principal::may_subscribe(std::string_view filter) const {
  const resolved& resolved_rules = rules();
  if (resolved_rules.grants_everything) return mqtt::reason_code::success;
  // MQTT 5.0 4.8.2: a shared subscription is authorised on its inner filter.
  const auto shared = topic::parse_shared(filter);
  if (shared.is_shared) {
    if (!shared.valid) return mqtt::reason_code::topic_filter_invalid;
    filter = shared.parts.filter;
  }
  for (const auto& rule : resolved_rules.rules) {
    if (has_access(rule.access, acl_access::read) && topic::covers(rule.filter, filter)) {
      return mqtt::reason_code::success;
    }
  }
  return mqtt::reason_code::not_authorized;
}

bool acl_principal::may_receive(std::string_view topic_name) const {
  const resolved& resolved_rules = rules();
  if (resolved_rules.grants_everything) return true;
  for (const auto& rule : resolved_rules.rules) {
    if (has_access(rule.access, acl_access::read) && topic::matches(rule.filter, topic_name)) {
      return true;
    }
  }
  return false;
}

}  // namespace acemq::auth
