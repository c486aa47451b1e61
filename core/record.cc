#include "core/record.h"

#include <xxhash.h>

#include <bit>
#include <cstdio>
#include <cstring>

namespace lifeline {
namespace {

// Tags keep fields from sliding into each other: each field starts with its
// own tag byte, and absent byte strings have a tag of their own.
enum Tag : char {
  kKeyTag = 'K',
  kValueTag = 'V',
  kHeaderTag = 'H',
  kTimestampTag = 'T',
  kPresent = 'p',
  kAbsent = 'n',
};

// Appends v as 8 little-endian bytes in one store. Assembling them byte by
// byte in a buffer that is then copied as a whole makes the copy's load wait
// for the byte stores (a failed store-to-load forward, several times the cost
// of the copy): a tenth of verify's CPU once its reader was fast.
void PutU64(std::string* out, uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

}  // namespace

void CanonicalWriter::Bytes(const char* data, size_t n) {
  if (!data) {
    out_->push_back(kAbsent);
    return;
  }
  // Appends, no zero-filling resize: this runs for every field of every
  // record a bulk reader digests.
  out_->push_back(kPresent);
  PutU64(out_, n);
  if (n > 0) out_->append(data, n);
}
void CanonicalWriter::Key(const char* data, size_t n) {
  out_->push_back(kKeyTag);
  Bytes(data, n);
}
void CanonicalWriter::Value(const char* data, size_t n) {
  out_->push_back(kValueTag);
  Bytes(data, n);
}
void CanonicalWriter::Headers(size_t count) { PutU64(out_, count); }
void CanonicalWriter::Header(std::string_view name, const char* value, size_t n) {
  out_->push_back(kHeaderTag);
  Bytes(name.data() ? name.data() : "", name.size());
  Bytes(value, n);
}
void CanonicalWriter::Timestamp(TimestampType type, int64_t ms) {
  out_->push_back(kTimestampTag);
  out_->push_back(static_cast<char>(type));
  PutU64(out_, static_cast<uint64_t>(ms));
}
Digest128 CanonicalWriter::Digest() const {
  XXH128_hash_t h = XXH3_128bits(out_->data(), out_->size());
  return Digest128{h.high64, h.low64};
}

std::string CanonicalEncoding(const Record& record) {
  std::string out;
  out.reserve(64 + (record.key ? record.key->size() : 0) +
              (record.value ? record.value->size() : 0) + 32 * record.headers.size());
  CanonicalWriter w(&out);
  w.Key(record.key ? record.key->data() : nullptr, record.key ? record.key->size() : 0);
  w.Value(record.value ? record.value->data() : nullptr, record.value ? record.value->size() : 0);
  w.Headers(record.headers.size());
  for (const Header& h : record.headers) {
    w.Header(h.name, h.value ? h.value->data() : nullptr, h.value ? h.value->size() : 0);
  }
  w.Timestamp(record.timestamp_type, record.timestamp.value());
  return out;
}

Digest128 RecordDigest(const Record& record) {
  const std::string bytes = CanonicalEncoding(record);
  XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return Digest128{h.high64, h.low64};
}

DigestChain::DigestChain() : state_(XXH3_createState()) {
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
}

DigestChain::~DigestChain() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void DigestChain::Add(const Digest128& d) {
  unsigned char buf[16];
  for (int i = 0; i < 8; ++i) {
    buf[i] = static_cast<unsigned char>(d.high >> (56 - 8 * i));
    buf[8 + i] = static_cast<unsigned char>(d.low >> (56 - 8 * i));
  }
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), buf, sizeof buf);
  ++count_;
}

Digest128 DigestChain::value() const {
  XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  return Digest128{h.high64, h.low64};
}

std::string Digest128::Hex() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  return std::string(buf, 32);
}

const char* TimestampTypeName(TimestampType type) {
  switch (type) {
    case TimestampType::kNotAvailable:
      return "none";
    case TimestampType::kCreateTime:
      return "CreateTime";
    case TimestampType::kLogAppendTime:
      return "LogAppendTime";
  }
  return "unknown";
}

}  // namespace lifeline
