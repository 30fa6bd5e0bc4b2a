#include "acemq/token/cbor/codec.hpp"

#include <cbor.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "acemq/common/utf8.hpp"

namespace acemq::token::cbor {
namespace {

// RFC 8949 3: the major types of the initial byte.
enum class major : std::uint8_t {
  unsigned_integer = 0x00,
  negative_integer = 0x01,
  byte_string = 0x02,
  text_string = 0x03,
  array = 0x04,
  map = 0x05,
  tag = 0x06,
  simple_or_float = 0x07,
};

constexpr std::uint8_t additional_indefinite = 31;  // RFC 8949 3.2.1 (and "break" in major 7)

// One open container during the pre-scan.
struct scan_frame {
  std::uint64_t remaining = 0;  // items still expected (definite containers)
  std::uint64_t seen = 0;       // items seen (indefinite containers)
  bool indefinite = false;
  bool is_map = false;
  bool string_chunks = false;  // indefinite byte/text string: only definite chunks of `chunk_major`
  major chunk_major = major::byte_string;
};

// A cheap, non-recursive walk over the item heads that proves the input is one well-formed
// item within the limits before libcbor (whose decoding recurses and allocates by declared
// lengths) sees it. Every declared length or count is checked against the bytes left, so no
// allocation can exceed the input size.
result<void, failure> pre_scan(byte_view bytes, const decode_limits& limits) {
  const std::size_t size = bytes.size();
  std::size_t pos = 0;
  std::size_t items = 0;
  std::vector<scan_frame> stack;
  stack.reserve(std::min<std::size_t>(limits.max_depth + 1, 64));

  // Marks one complete item in the innermost container, closing definite containers that fill.
  auto complete_item = [&stack]() {
    while (!stack.empty()) {
      scan_frame& top = stack.back();
      if (top.indefinite) {
        ++top.seen;
        return;
      }
      if (--top.remaining > 0) return;
      stack.pop_back();
    }
  };

  do {
    if (pos >= size) return unexpected{failure::bad_encoding};  // truncated
    const std::uint8_t initial = bytes[pos++];
    const auto type = static_cast<major>(initial >> 5);
    const std::uint8_t additional = initial & 0x1f;

    if (!stack.empty() && stack.back().string_chunks) {
      // RFC 8949 3.2.3: chunks are definite strings of the same major type, or the break.
      const bool is_break = initial == 0xff;
      if (!is_break && (type != stack.back().chunk_major || additional == additional_indefinite)) {
        return unexpected{failure::bad_encoding};
      }
    }

    if (additional == additional_indefinite) {
      if (type == major::simple_or_float) {
        // The "break" stop code closes the innermost indefinite container (RFC 8949 3.2.1).
        if (stack.empty() || !stack.back().indefinite) return unexpected{failure::bad_encoding};
        if (stack.back().is_map && stack.back().seen % 2 != 0) {
          return unexpected{failure::bad_encoding};  // a key without a value
        }
        stack.pop_back();
        complete_item();
        continue;
      }
      if (type != major::byte_string && type != major::text_string && type != major::array &&
          type != major::map) {
        return unexpected{failure::bad_encoding};
      }
      if (limits.strict) return unexpected{failure::bad_encoding};
      if (++items > limits.max_items) return unexpected{failure::too_large};
      if (stack.size() >= limits.max_depth) return unexpected{failure::too_deep};
      scan_frame frame;
      frame.indefinite = true;
      frame.is_map = type == major::map;
      frame.string_chunks = type == major::byte_string || type == major::text_string;
      frame.chunk_major = type;
      stack.push_back(frame);
      continue;
    }

    std::uint64_t argument = additional;
    if (additional >= 24) {
      if (additional > 27) return unexpected{failure::bad_encoding};  // 28..30 reserved
      const std::size_t width = std::size_t{1} << (additional - 24);
      if (size - pos < width) return unexpected{failure::bad_encoding};
      argument = 0;
      for (std::size_t i = 0; i < width; ++i)
        argument = (argument << 8) | bytes[pos++];
    }
    if (++items > limits.max_items) return unexpected{failure::too_large};

    const std::size_t left = size - pos;
    switch (type) {
      case major::unsigned_integer:
      case major::negative_integer:
        complete_item();
        break;
      case major::byte_string:
      case major::text_string:
        if (argument > left) return unexpected{failure::bad_encoding};
        pos += static_cast<std::size_t>(argument);
        complete_item();
        break;
      case major::array:
      case major::map: {
        const bool is_map = type == major::map;
        // Every item takes at least one byte: a count above the bytes left is a lie.
        if (argument > (is_map ? left / 2 : left)) return unexpected{failure::bad_encoding};
        if (argument == 0) {
          complete_item();
          break;
        }
        if (stack.size() >= limits.max_depth) return unexpected{failure::too_deep};
        scan_frame frame;
        frame.remaining = is_map ? argument * 2 : argument;
        frame.is_map = is_map;
        stack.push_back(frame);
        break;
      }
      case major::tag: {
        if (stack.size() >= limits.max_depth) return unexpected{failure::too_deep};
        scan_frame frame;
        frame.remaining = 1;
        stack.push_back(frame);
        break;
      }
      case major::simple_or_float:
        // RFC 8949 3.3: a one-byte simple value below 32 is not well-formed.
        if (additional == 24 && argument < 32) return unexpected{failure::bad_encoding};
        complete_item();
        break;
    }
  } while (!stack.empty());

  if (pos != size) return unexpected{failure::bad_encoding};  // trailing bytes
  return {};
}

// Builds a value from libcbor's streaming decoder callbacks with an explicit stack, so building
// never recurses. (libcbor 0.8's cbor_load() builder refuses nested tags; the streaming decoder
// only parses heads and leaves the structure to us.)
class tree_builder {
 public:
  explicit tree_builder(std::size_t depth_hint) { stack_.reserve(depth_hint); }

  bool failed() const noexcept { return failed_; }
  bool complete() const noexcept { return root_.has_value() && stack_.empty(); }
  value take_root() { return std::move(*root_); }

  void fail() noexcept { failed_ = true; }

  void add(value item) {
    if (failed_) return;
    while (true) {
      if (stack_.empty()) {
        if (root_) {
          failed_ = true;  // a second top-level item (the pre-scan already refuses it)
          return;
        }
        root_ = std::move(item);
        return;
      }
      frame& top = stack_.back();
      switch (top.shape) {
        case frame_shape::array:
          top.container.push_back(std::move(item));
          break;
        case frame_shape::map:
          if (!top.pending_key) {
            top.pending_key = std::move(item);
          } else {
            // RFC 8949 5.6: duplicate keys make the map invalid for us (and RFC 9052 3 for COSE
            // header maps). Keys are compared by their deterministic encoding, so 1 and 0x1801
            // are the same key.
            byte_vector key_bytes = encode(*top.pending_key);
            auto at = std::lower_bound(top.keys.begin(), top.keys.end(), key_bytes);
            if (at != top.keys.end() && *at == key_bytes) {
              failed_ = true;
              return;
            }
            top.keys.insert(at, std::move(key_bytes));
            top.container.insert(std::move(*top.pending_key), std::move(item));
            top.pending_key.reset();
          }
          break;
        case frame_shape::tag:
          top.container = value::tag(top.tag_number, std::move(item));
          break;
        case frame_shape::byte_chunks:
        case frame_shape::text_chunks:
          failed_ = true;  // only string chunks may appear here (the pre-scan checks it too)
          return;
      }
      if (top.indefinite) return;
      if (--top.remaining > 0) return;
      item = std::move(top.container);
      stack_.pop_back();
    }
  }

  void open_array(std::uint64_t count) { open(frame_shape::array, count, value::array()); }
  void open_map(std::uint64_t count) { open(frame_shape::map, count * 2, value::map()); }
  void open_tag(std::uint64_t number) {
    if (failed_) return;
    frame f;
    f.shape = frame_shape::tag;
    f.remaining = 1;
    f.tag_number = number;
    stack_.push_back(std::move(f));
  }
  void open_indefinite(bool is_map) {
    if (failed_) return;
    frame f;
    f.shape = is_map ? frame_shape::map : frame_shape::array;
    f.indefinite = true;
    f.container = is_map ? value::map() : value::array();
    stack_.push_back(std::move(f));
  }
  void open_chunks(bool text) {
    if (failed_) return;
    frame f;
    f.shape = text ? frame_shape::text_chunks : frame_shape::byte_chunks;
    f.indefinite = true;
    stack_.push_back(std::move(f));
  }

  void add_string(const unsigned char* data, std::size_t length, bool text) {
    if (failed_) return;
    if (!stack_.empty() && (stack_.back().shape == frame_shape::byte_chunks ||
                            stack_.back().shape == frame_shape::text_chunks)) {
      if ((stack_.back().shape == frame_shape::text_chunks) != text) {
        failed_ = true;
        return;
      }
      if (length > 0) stack_.back().chunks.insert(stack_.back().chunks.end(), data, data + length);
      return;
    }
    if (!text) {
      add(value::bytes(length > 0 ? byte_vector(data, data + length) : byte_vector{}));
      return;
    }
    add_text(std::string_view(reinterpret_cast<const char*>(data), length));
  }

  void close_indefinite() {
    if (failed_) return;
    if (stack_.empty() || !stack_.back().indefinite) {
      failed_ = true;
      return;
    }
    frame top = std::move(stack_.back());
    stack_.pop_back();
    switch (top.shape) {
      case frame_shape::byte_chunks:
        add(value::bytes(std::move(top.chunks)));
        return;
      case frame_shape::text_chunks:
        add_text(as_string_view(top.chunks));
        return;
      case frame_shape::map:
        if (top.pending_key) {
          failed_ = true;  // a key without a value
          return;
        }
        add(std::move(top.container));
        return;
      case frame_shape::array:
        add(std::move(top.container));
        return;
      case frame_shape::tag:
        failed_ = true;
        return;
    }
  }

 private:
  enum class frame_shape : std::uint8_t { array, map, tag, byte_chunks, text_chunks };
  struct frame {
    frame_shape shape = frame_shape::array;
    bool indefinite = false;
    std::uint64_t remaining = 0;
    std::uint64_t tag_number = 0;
    value container;
    std::optional<value> pending_key;
    std::vector<byte_vector> keys;  // sorted encodings of the keys so far
    byte_vector chunks;
  };

  void open(frame_shape kind_of_frame, std::uint64_t count, value container) {
    if (failed_) return;
    if (count == 0) {
      add(std::move(container));
      return;
    }
    frame f;
    f.shape = kind_of_frame;
    f.remaining = count;
    // The pre-scan proved count <= bytes left, so this reservation is bounded by the input.
    if (kind_of_frame == frame_shape::array) {
      container.items().reserve(static_cast<std::size_t>(count));
    } else {
      container.entries().reserve(static_cast<std::size_t>(count / 2));
    }
    f.container = std::move(container);
    stack_.push_back(std::move(f));
  }

  void add_text(std::string_view text) {
    // RFC 8949 3.1 major type 3: text strings are valid UTF-8 (U+0000 included).
    if (!is_valid_utf8(text, true)) {
      failed_ = true;
      return;
    }
    add(value::text(text));
  }

  std::vector<frame> stack_;
  std::optional<value> root_;
  bool failed_ = false;
};

tree_builder& builder_of(void* context) {
  return *static_cast<tree_builder*>(context);
}

const cbor_callbacks& builder_callbacks() {
  static const cbor_callbacks callbacks = [] {
    cbor_callbacks c = cbor_empty_callbacks;
    c.uint8 = [](void* ctx, std::uint8_t v) { builder_of(ctx).add(value::unsigned_integer(v)); };
    c.uint16 = [](void* ctx, std::uint16_t v) { builder_of(ctx).add(value::unsigned_integer(v)); };
    c.uint32 = [](void* ctx, std::uint32_t v) { builder_of(ctx).add(value::unsigned_integer(v)); };
    c.uint64 = [](void* ctx, std::uint64_t v) { builder_of(ctx).add(value::unsigned_integer(v)); };
    c.negint8 = [](void* ctx, std::uint8_t v) { builder_of(ctx).add(value::negative_integer(v)); };
    c.negint16 = [](void* ctx, std::uint16_t v) {
      builder_of(ctx).add(value::negative_integer(v));
    };
    c.negint32 = [](void* ctx, std::uint32_t v) {
      builder_of(ctx).add(value::negative_integer(v));
    };
    c.negint64 = [](void* ctx, std::uint64_t v) {
      builder_of(ctx).add(value::negative_integer(v));
    };
    c.byte_string = [](void* ctx, cbor_data data, std::size_t length) {
      builder_of(ctx).add_string(data, length, false);
    };
    c.string = [](void* ctx, cbor_data data, std::size_t length) {
      builder_of(ctx).add_string(data, length, true);
    };
    c.byte_string_start = [](void* ctx) { builder_of(ctx).open_chunks(false); };
    c.string_start = [](void* ctx) { builder_of(ctx).open_chunks(true); };
    c.array_start = [](void* ctx, std::size_t count) { builder_of(ctx).open_array(count); };
    c.map_start = [](void* ctx, std::size_t count) { builder_of(ctx).open_map(count); };
    c.indef_array_start = [](void* ctx) { builder_of(ctx).open_indefinite(false); };
    c.indef_map_start = [](void* ctx) { builder_of(ctx).open_indefinite(true); };
    c.tag = [](void* ctx, std::uint64_t number) { builder_of(ctx).open_tag(number); };
    c.float2 = [](void* ctx, float v) {
      builder_of(ctx).add(value::floating(static_cast<double>(v)));
    };
    c.float4 = [](void* ctx, float v) {
      builder_of(ctx).add(value::floating(static_cast<double>(v)));
    };
    c.float8 = [](void* ctx, double v) { builder_of(ctx).add(value::floating(v)); };
    c.null = [](void* ctx) { builder_of(ctx).add(value::null()); };
    c.undefined = [](void* ctx) { builder_of(ctx).add(value::undefined()); };
    c.boolean = [](void* ctx, bool v) { builder_of(ctx).add(value::boolean(v)); };
    c.indef_break = [](void* ctx) { builder_of(ctx).close_indefinite(); };
    return c;
  }();
  return callbacks;
}

// Appends the bytes libcbor's encoder writes for one head (at most 9 bytes, RFC 8949 3).
template <typename Encoder>
void append_head(byte_vector& out, Encoder&& encoder) {
  std::array<unsigned char, 9> head{};
  const std::size_t written = encoder(head.data(), head.size());
  out.insert(out.end(), head.begin(), head.begin() + static_cast<std::ptrdiff_t>(written));
}

// The IEEE 754 binary16 form of `number` when it represents it exactly (RFC 8949 4.2.2
// preferred serialization); `number` is a finite or infinite float here, never NaN.
std::optional<std::uint16_t> exact_half(float number) {
  const auto bits = std::bit_cast<std::uint32_t>(number);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t exponent_bits = (bits >> 23) & 0xffu;
  const std::uint32_t mantissa = bits & 0x7fffffu;
  if (exponent_bits == 0xff) return static_cast<std::uint16_t>(sign | 0x7c00u);  // infinity
  if (exponent_bits == 0) {
    if (mantissa == 0) return sign;  // signed zero
    return std::nullopt;             // float subnormals are below the half range
  }
  const int exponent = static_cast<int>(exponent_bits) - 127;
  if (exponent >= -14 && exponent <= 15) {
    if ((mantissa & 0x1fffu) != 0) return std::nullopt;
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(exponent + 15) << 10 |
                                      mantissa >> 13);
  }
  if (exponent >= -24 && exponent < -14) {
    // Half subnormal: value = h * 2^-24 with h < 1024.
    const std::uint32_t full = mantissa | 0x800000u;
    const int shift = -(exponent + 1);
    if ((full & ((1u << shift) - 1)) != 0) return std::nullopt;
    return static_cast<std::uint16_t>(sign | (full >> shift));
  }
  return std::nullopt;
}

void encode_float(double number, byte_vector& out) {
  if (std::isnan(number)) {
    // RFC 8949 4.2.2: a NaN is encoded as the quiet NaN 0xf97e00.
    out.insert(out.end(), {0xf9, 0x7e, 0x00});
    return;
  }
  const bool fits_float =
      std::isinf(number) ||
      std::fabs(number) <= static_cast<double>(std::numeric_limits<float>::max());
  if (fits_float && static_cast<double>(static_cast<float>(number)) == number) {
    const auto single = static_cast<float>(number);
    if (auto half = exact_half(single)) {
      out.push_back(0xf9);
      out.push_back(static_cast<std::uint8_t>(*half >> 8));
      out.push_back(static_cast<std::uint8_t>(*half & 0xff));
      return;
    }
    append_head(out, [single](unsigned char* buffer, std::size_t size) {
      return cbor_encode_single(single, buffer, size);
    });
    return;
  }
  append_head(out, [number](unsigned char* buffer, std::size_t size) {
    return cbor_encode_double(number, buffer, size);
  });
}

}  // namespace

result<value, failure> decode(byte_view bytes, const decode_limits& limits) {
  if (bytes.size() > limits.max_size) return unexpected{failure::too_large};
  if (bytes.empty()) return unexpected{failure::bad_encoding};
  if (auto scanned = pre_scan(bytes, limits); !scanned) return unexpected{scanned.error()};

  tree_builder builder(std::min<std::size_t>(limits.max_depth, 64));
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::uint8_t initial = bytes[pos];
    // libcbor 0.8's streaming decoder refuses two kinds of well-formed heads that were
    // unassigned when it was written: one-byte tag numbers 6..20 (0xc6..0xd4), which include
    // the COSE tags 16, 17 and 18 (RFC 9052 2), and simple values other than false/true/null/
    // undefined (RFC 8949 3.3). The pre-scan has validated these heads; decode them here.
    if (initial >= 0xc6 && initial <= 0xd4) {
      builder.open_tag(initial & 0x1fu);
      pos += 1;
      continue;
    }
    if (initial >= 0xe0 && initial <= 0xf3) {
      builder.add(value::simple(initial & 0x1fu));
      pos += 1;
      if (builder.failed()) return unexpected{failure::bad_encoding};
      continue;
    }
    if (initial == 0xf8) {
      builder.add(value::simple(bytes[pos + 1]));  // the pre-scan proved the byte is there
      pos += 2;
      if (builder.failed()) return unexpected{failure::bad_encoding};
      continue;
    }
    // One head per call; libcbor invokes exactly one callback for it.
    const cbor_decoder_result step =
        cbor_stream_decode(bytes.data() + pos, bytes.size() - pos, &builder_callbacks(), &builder);
    if (step.status != CBOR_DECODER_FINISHED || step.read == 0) {
      return unexpected{failure::bad_encoding};
    }
    if (builder.failed()) return unexpected{failure::bad_encoding};
    pos += step.read;
  }
  if (!builder.complete()) return unexpected{failure::bad_encoding};
  return builder.take_root();
}

void encode_to(const value& item, byte_vector& out) {
  switch (item.kind()) {
    case kind::unsigned_integer:
      // cbor_encode_uint / cbor_encode_negint choose the shortest argument (RFC 8949 4.2.1).
      append_head(out, [&item](unsigned char* buffer, std::size_t size) {
        return cbor_encode_uint(item.argument(), buffer, size);
      });
      return;
    case kind::negative_integer:
      append_head(out, [&item](unsigned char* buffer, std::size_t size) {
        return cbor_encode_negint(item.argument(), buffer, size);
      });
      return;
    case kind::byte_string: {
      const auto& content = item.byte_content();
      append_head(out, [&content](unsigned char* buffer, std::size_t size) {
        return cbor_encode_bytestring_start(content.size(), buffer, size);
      });
      out.insert(out.end(), content.begin(), content.end());
      return;
    }
    case kind::text_string: {
      const auto& content = item.text_content();
      append_head(out, [&content](unsigned char* buffer, std::size_t size) {
        return cbor_encode_string_start(content.size(), buffer, size);
      });
      out.insert(out.end(), content.begin(), content.end());
      return;
    }
    case kind::array:
      append_head(out, [&item](unsigned char* buffer, std::size_t size) {
        return cbor_encode_array_start(item.items().size(), buffer, size);
      });
      for (const auto& element : item.items())
        encode_to(element, out);
      return;
    case kind::map: {
      // RFC 8949 4.2.1: keys sorted by the bytewise lexicographic order of their encodings.
      std::vector<std::pair<byte_vector, const value*>> sorted;
      sorted.reserve(item.entries().size());
      for (const auto& entry : item.entries())
        sorted.emplace_back(encode(entry.key), &entry.item);
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      append_head(out, [&item](unsigned char* buffer, std::size_t size) {
        return cbor_encode_map_start(item.entries().size(), buffer, size);
      });
      for (const auto& [key_bytes, entry_value] : sorted) {
        out.insert(out.end(), key_bytes.begin(), key_bytes.end());
        encode_to(*entry_value, out);
      }
      return;
    }
    case kind::tag:
      append_head(out, [&item](unsigned char* buffer, std::size_t size) {
        return cbor_encode_tag(item.tag_number(), buffer, size);
      });
      encode_to(item.tagged(), out);
      return;
    case kind::simple: {
      const auto number = static_cast<std::uint8_t>(item.argument());
      if (number < 24) {
        out.push_back(static_cast<std::uint8_t>(0xe0 | number));
      } else {
        out.push_back(0xf8);
        out.push_back(number);
      }
      return;
    }
    case kind::floating:
      encode_float(*item.as_double(), out);
      return;
  }
}

byte_vector encode(const value& item) {
  byte_vector out;
  encode_to(item, out);
  return out;
}

}  // namespace acemq::token::cbor
