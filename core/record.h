// The record model shared by every module, and the record digest: XXH3-128
// over a canonical, length-prefixed encoding of the record's content.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.h"

namespace lifeline {

struct Header {
  std::string name;
  std::optional<std::string> value;  // nullopt: a header with a null value
  friend bool operator==(const Header&, const Header&) = default;
};

enum class TimestampType { kNotAvailable, kCreateTime, kLogAppendTime };

struct Record {
  Topic topic;
  Partition partition{-1};
  Offset offset{-1};
  std::optional<std::string> key;    // nullopt: null key (differs from "")
  std::optional<std::string> value;  // nullopt: tombstone (differs from "")
  std::vector<Header> headers;       // in wire order, repeats kept
  TimestampMs timestamp{0};
  TimestampType timestamp_type = TimestampType::kCreateTime;
};

// 128-bit digest; prints as 32 lowercase hex digits (high word first).
struct Digest128 {
  uint64_t high = 0;
  uint64_t low = 0;
  std::string Hex() const;
  friend bool operator==(const Digest128&, const Digest128&) = default;
};

// The digest covers what a faithful copy must keep: key, value, headers in
// order, timestamp and its type. It deliberately excludes the coordinates
// (topic, partition, offset), which differ between a source and its mirror.
// Encoding: every field is tagged, and every byte string is length-prefixed
// (64-bit little endian) with a distinct tag for "absent", so a null key and
// an empty key, or a tombstone and an empty value, never collide.
Digest128 RecordDigest(const Record& record);

// An order-sensitive digest of a sequence of record digests (XXH3-128 over
// their concatenation), for comparing whole partitions.
class DigestChain {
 public:
  DigestChain();
  ~DigestChain();
  DigestChain(const DigestChain&) = delete;
  DigestChain& operator=(const DigestChain&) = delete;
  void Add(const Digest128& d);
  Digest128 value() const;
  int64_t count() const { return count_; }

 private:
  void* state_;  // XXH3_state_t, kept out of this header
  int64_t count_ = 0;
};

// The canonical bytes RecordDigest hashes; exposed for tests and evidence.
std::string CanonicalEncoding(const Record& record);

// Builds the same canonical bytes from borrowed pieces (a librdkafka message,
// say) into a reused buffer, so a bulk reader digests without copying the
// record first. Call in this order: Key, Value, Headers(n), n x Header,
// Timestamp. A null pointer means absent (null key, tombstone, null header
// value). `Mark()` is the current length, for hashing parts separately.
class CanonicalWriter {
 public:
  explicit CanonicalWriter(std::string* out) : out_(out) { out_->clear(); }
  void Key(const char* data, size_t n);
  void Value(const char* data, size_t n);
  void Headers(size_t count);
  void Header(std::string_view name, const char* value, size_t n);
  void Timestamp(TimestampType type, int64_t ms);
  size_t Mark() const { return out_->size(); }
  Digest128 Digest() const;

 private:
  void Bytes(const char* data, size_t n);
  std::string* out_;
};

const char* TimestampTypeName(TimestampType type);

}  // namespace lifeline
