// Decodes arbitrary bytes, strictly and leniently. Whatever decodes must re-encode
// deterministically to bytes that decode to the same value (a stable fixed point).

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "acemq/token/cbor/codec.hpp"

using namespace acemq;
using namespace acemq::token;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const byte_view input(data, size);
  for (bool strict : {true, false}) {
    cbor::decode_limits limits;
    limits.strict = strict;
    auto decoded = cbor::decode(input, limits);
    if (!decoded) continue;
    const byte_vector encoded = cbor::encode(*decoded);
    cbor::decode_limits re_limits;
    re_limits.max_size = encoded.size() + 1;
    auto again = cbor::decode(encoded, re_limits);
    if (!again || !(cbor::encode(*again) == encoded)) std::abort();
  }
  return 0;
}
