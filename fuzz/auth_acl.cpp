// Parses arbitrary bytes as an ACL file; when it parses, every kind of check is run for a few
// identities (including hostile client ids) over topics and filters taken from the input.
// Nothing may crash; a substituted rule must never match a topic its literal parts exclude.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "acemq/auth/acl.hpp"
#include "acemq/common/topic.hpp"

using namespace acemq;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = auth::acl::parse(text, {.max_size = 64 * 1024, .max_rules = 256, .max_line = 1024});
  if (!parsed) return 0;
  auto store = std::make_shared<auth::acl_store>(std::move(*parsed));
  const std::string_view probes[] = {"a/b",    "sensors/x/temp", "#", "+/+",
                                     "$SYS/x", "devices/c/x",    "a", ""};
  for (std::string_view client : {"c", "+", "#", "a/b", ""}) {
    auth::acl_principal who("fuzz", "fuzz", std::string(client), std::string(client), store);
    for (auto probe : probes) {
      if (topic::is_valid_name(probe)) {
        (void)who.may_publish(probe);
        (void)who.may_receive(probe);
      }
      if (topic::is_valid_filter(probe)) (void)who.may_subscribe(probe);
    }
  }
  return 0;
}
