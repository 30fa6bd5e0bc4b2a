#pragma once
// A value-or-error type for data-plane code: errors from untrusted input are values, never
// exceptions (conventions 2). Shaped like C++23 std::expected so it can be swapped later.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace acemq {

template <typename E>
struct unexpected {
  // A constructor (not aggregate initialisation) so `unexpected(x)` also compiles with clang 14,
  // which lacks C++20 parenthesised aggregate initialisation.
  explicit unexpected(E value) : error(std::move(value)) {}
  E error;
};
template <typename E>
unexpected(E) -> unexpected<E>;

/// Holds either a T (success) or an E (the reason it failed).
template <typename T, typename E>
class [[nodiscard]] result {
 public:
  using value_type = T;
  using error_type = E;

  result() requires std::is_default_constructible_v<T> : storage_(std::in_place_index<0>) {}
  result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT implicit
  template <typename G>
  result(unexpected<G> error)  // NOLINT implicit
      : storage_(std::in_place_index<1>, E(std::move(error.error))) {}

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(storage_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(storage_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(storage_));
  }
  const E& error() const {
    assert(!has_value());
    return std::get<1>(storage_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> storage_;
};

/// Specialisation for operations that produce no value.
template <typename E>
class [[nodiscard]] result<void, E> {
 public:
  result() = default;
  template <typename G>
  result(unexpected<G> error) : error_(E(std::move(error.error))), failed_(true) {}  // NOLINT

  bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  const E& error() const {
    assert(failed_);
    return error_;
  }

 private:
  E error_{};
  bool failed_ = false;
};

}  // namespace acemq
