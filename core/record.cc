#include "core/record.h"

#include <xxhash.h>

#include <cstdio>

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

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutBytes(std::string* out, const std::optional<std::string>& bytes) {
  if (!bytes) {
    out->push_back(kAbsent);
    return;
  }
  out->push_back(kPresent);
  PutU64(out, bytes->size());
  out->append(*bytes);
}

}  // namespace

std::string CanonicalEncoding(const Record& record) {
  std::string out;
  out.reserve(64 + (record.key ? record.key->size() : 0) +
              (record.value ? record.value->size() : 0) + 32 * record.headers.size());
  out.push_back(kKeyTag);
  PutBytes(&out, record.key);
  out.push_back(kValueTag);
  PutBytes(&out, record.value);
  PutU64(&out, record.headers.size());
  for (const Header& h : record.headers) {
    out.push_back(kHeaderTag);
    PutBytes(&out, h.name);
    PutBytes(&out, h.value);
  }
  out.push_back(kTimestampTag);
  out.push_back(static_cast<char>(record.timestamp_type));
  PutU64(&out, static_cast<uint64_t>(record.timestamp.value()));
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
