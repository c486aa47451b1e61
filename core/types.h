// Strong types for Kafka coordinates, so an offset is never passed where a
// partition is expected. Construction is explicit; comparison is defaulted.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace lifeline {

template <typename T, typename Tag>
class NamedType {
 public:
  using value_type = T;
  constexpr NamedType() = default;
  constexpr explicit NamedType(T v) : value_(std::move(v)) {}
  constexpr const T& value() const { return value_; }
  // clang-tidy 14 reports the defaulted comparison as a literal 0 for nullptr.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  friend constexpr auto operator<=>(const NamedType&, const NamedType&) = default;
  friend std::ostream& operator<<(std::ostream& os, const NamedType& t) { return os << t.value_; }

 private:
  T value_{};
};

using Topic = NamedType<std::string, struct TopicTag>;
using Partition = NamedType<int32_t, struct PartitionTag>;
using Offset = NamedType<int64_t, struct OffsetTag>;
using TimestampMs = NamedType<int64_t, struct TimestampMsTag>;

}  // namespace lifeline

template <typename T, typename Tag>
struct std::hash<lifeline::NamedType<T, Tag>> {
  size_t operator()(const lifeline::NamedType<T, Tag>& t) const noexcept {
    return std::hash<T>{}(t.value());
  }
};
