#include "core/internal/record_batch.h"

#include <fmt/format.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

namespace lifeline::internal {
namespace {

template <typename T>
T Big(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(static_cast<uint16_t>(v)));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(static_cast<uint32_t>(v)));
  } else if constexpr (sizeof(T) == 8) {
    return static_cast<T>(__builtin_bswap64(static_cast<uint64_t>(v)));
  } else {
    return v;
  }
}

BatchHeader ParseHeader(const char* p) {
  BatchHeader h;
  h.base_offset = Big<int64_t>(p);
  h.length = Big<int32_t>(p + 8);
  h.leader_epoch = Big<int32_t>(p + 12);
  h.magic = static_cast<int8_t>(p[16]);
  h.crc = Big<uint32_t>(p + 17);
  h.attributes = Big<int16_t>(p + 21);
  h.last_offset_delta = Big<int32_t>(p + 23);
  h.first_timestamp = Big<int64_t>(p + 27);
  h.max_timestamp = Big<int64_t>(p + 35);
  h.producer_id = Big<int64_t>(p + 43);
  h.producer_epoch = Big<int16_t>(p + 51);
  h.base_sequence = Big<int32_t>(p + 53);
  h.record_count = Big<int32_t>(p + 57);
  return h;
}

// Offset and length come first in every record format; the magic byte sits
// at the same place in all of them.
constexpr size_t kFramingSize = 12;
constexpr size_t kMagicAt = 16;
constexpr size_t kMinOutput = size_t{64} << 10;
constexpr size_t kMaxPlain = size_t{1} << 30;  // a batch is at most 1 GiB (int32 length)

constexpr char kXerialMagic[8] = {'\x82', 'S', 'N', 'A', 'P', 'P', 'Y', '\0'};
constexpr size_t kXerialHeaderSize = 16;  // magic, version, compatible version

std::string BatchName(const BatchHeader& h) {
  return fmt::format("batch at offset {}", h.base_offset);
}

}  // namespace

// The varint loops, inlined into the record loop (a record has a dozen or
// more varints); the one-byte case, by far the most common, goes first.
template <typename U, int kMaxShift>
inline bool Varint(const char** p, const char* end, U* out) {
  const char* q = *p;
  if (q != end && (static_cast<uint8_t>(*q) & 0x80) == 0) {
    const auto raw = static_cast<U>(static_cast<uint8_t>(*q));
    *out = (raw >> 1) ^ (~(raw & 1) + 1);
    *p = q + 1;
    return true;
  }
  U raw = 0;
  for (int shift = 0;; shift += 7) {
    if (shift > kMaxShift || q == end) return false;
    const auto b = static_cast<uint8_t>(*q++);
    raw |= static_cast<U>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
  }
  *out = (raw >> 1) ^ (~(raw & 1) + 1);
  *p = q;
  return true;
}
inline bool Varint32(const char** p, const char* end, int32_t* out) {
  uint32_t v;
  if (!Varint<uint32_t, 28>(p, end, &v)) return false;
  *out = static_cast<int32_t>(v);
  return true;
}
inline bool Varint64(const char** p, const char* end, int64_t* out) {
  uint64_t v;
  if (!Varint<uint64_t, 63>(p, end, &v)) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

std::optional<int32_t> ReadVarint(const char** p, const char* end) {
  int32_t v;
  return Varint32(p, end, &v) ? std::optional<int32_t>(v) : std::nullopt;
}

std::optional<int64_t> ReadVarlong(const char** p, const char* end) {
  int64_t v;
  return Varint64(p, end, &v) ? std::optional<int64_t>(v) : std::nullopt;
}

Result<std::optional<Batch>> NextBatch(std::string_view* set) {
  if (set->size() < kFramingSize) return std::optional<Batch>();
  const int64_t base = Big<int64_t>(set->data());
  const int32_t length = Big<int32_t>(set->data() + 8);
  if (length < 0) return Status::Infra(fmt::format("batch at offset {}: length {}", base, length));
  const size_t total = kFramingSize + static_cast<size_t>(length);
  if (set->size() < total) return std::optional<Batch>();  // cut off by max_bytes
  const int8_t magic = total > kMagicAt ? static_cast<int8_t>(set->data()[kMagicAt]) : -1;
  if (magic != 2) {
    return Status::Infra(fmt::format(
        "batch at offset {}: record format v{} (written before Kafka 0.11) is not read by the raw "
        "reader; use --reader librdkafka",
        base, magic));
  }
  if (total < BatchHeader::kSize) {
    return Status::Infra(
        fmt::format("batch at offset {}: length {} is shorter than a batch header", base, length));
  }
  Batch b;
  b.header = ParseHeader(set->data());
  b.records = set->substr(BatchHeader::kSize, total - BatchHeader::kSize);
  set->remove_prefix(total);
  return std::optional<Batch>(b);
}

// Decompression contexts and the output buffer, reused batch after batch.
struct BatchDecoder::Codecs {
  z_stream zs{};
  bool zs_ready = false;
  LZ4F_dctx* lz4 = nullptr;
  ZSTD_DCtx* zstd = nullptr;
  std::unique_ptr<char[]> out;
  size_t cap = 0, len = 0;

  ~Codecs() {
    if (zs_ready) inflateEnd(&zs);
    if (lz4) LZ4F_freeDecompressionContext(lz4);
    if (zstd) ZSTD_freeDCtx(zstd);
  }
  // Room for at least `n` more bytes after out[0, len), keeping them.
  void Reserve(size_t n) {
    if (cap - len >= n) return;
    const size_t want = std::max({cap * 2, len + n, kMinOutput});
    auto bigger = std::make_unique<char[]>(want);
    if (len) std::memcpy(bigger.get(), out.get(), len);
    out = std::move(bigger);
    cap = want;
  }

  Status Gzip(std::string_view in) {
    if (!zs_ready) {
      // 15 + 32: a zlib or gzip header, detected.
      if (inflateInit2(&zs, 15 + 32) != Z_OK) return Status::Infra("gzip: cannot initialise zlib");
      zs_ready = true;
    } else {
      inflateReset(&zs);
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    Reserve(in.size() * 4);
    for (;;) {
      if (len == cap) Reserve(cap);
      zs.next_out = reinterpret_cast<Bytef*>(out.get() + len);
      zs.avail_out = static_cast<uInt>(cap - len);
      const int rc = inflate(&zs, Z_NO_FLUSH);
      len = cap - zs.avail_out;
      if (rc == Z_STREAM_END) {
        if (zs.avail_in == 0) return Status::Ok();
        inflateReset(&zs);  // another gzip member follows
        continue;
      }
      if (rc == Z_OK) continue;
      if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;
      if (rc == Z_BUF_ERROR) return Status::Infra("gzip: the compressed data ends early");
      return Status::Infra(fmt::format("gzip: {}", zs.msg ? zs.msg : "corrupt data"));
    }
  }

  Status SnappyBlock(const char* in, size_t n) {
    size_t size = 0;
    if (snappy_uncompressed_length(in, n, &size) != SNAPPY_OK) {
      return Status::Infra("snappy: corrupt block");
    }
    // The length is the block's own claim: no allocation beyond a batch's size.
    if (size > kMaxPlain) return Status::Infra(fmt::format("snappy: a block of {} bytes", size));
    Reserve(size);
    if (snappy_uncompress(in, n, out.get() + len, &size) != SNAPPY_OK) {
      return Status::Infra("snappy: corrupt block");
    }
    len += size;
    return Status::Ok();
  }

  // Raw snappy (librdkafka's producers) or the xerial framing Kafka's Java
  // code writes: a 16-byte header, then blocks each prefixed by its length.
  Status Snappy(std::string_view in) {
    if (in.size() < kXerialHeaderSize || std::memcmp(in.data(), kXerialMagic, 8) != 0) {
      return SnappyBlock(in.data(), in.size());
    }
    in.remove_prefix(kXerialHeaderSize);
    while (!in.empty()) {
      if (in.size() < 4) return Status::Infra("snappy: a block length is cut off");
      const auto n = static_cast<uint32_t>(Big<int32_t>(in.data()));
      in.remove_prefix(4);
      if (n > in.size()) return Status::Infra("snappy: a block is cut off");
      LIFELINE_RETURN_IF_ERROR(SnappyBlock(in.data(), n));
      in.remove_prefix(n);
    }
    return Status::Ok();
  }

  Status Lz4(std::string_view in) {
    if (!lz4) {
      if (LZ4F_isError(LZ4F_createDecompressionContext(&lz4, LZ4F_VERSION))) {
        return Status::Infra("lz4: cannot create a decompression context");
      }
    } else {
      LZ4F_resetDecompressionContext(lz4);
    }
    const char* src = in.data();
    size_t left = in.size();
    Reserve(in.size() * 4);
    for (;;) {
      Reserve(kMinOutput);
      size_t produced = cap - len, consumed = left;
      const size_t hint = LZ4F_decompress(lz4, out.get() + len, &produced, src, &consumed, nullptr);
      if (LZ4F_isError(hint)) return Status::Infra(fmt::format("lz4: {}", LZ4F_getErrorName(hint)));
      len += produced;
      src += consumed;
      left -= consumed;
      if (hint == 0 && left == 0) return Status::Ok();  // a frame (or more) decoded
      if (produced == 0 && consumed == 0) return Status::Infra("lz4: the frame ends early");
    }
  }

  // Streaming, so a frame without a content size decodes too.
  Status Zstd(std::string_view in) {
    if (!zstd) {
      zstd = ZSTD_createDCtx();
      if (!zstd) return Status::Infra("zstd: cannot create a decompression context");
    } else {
      ZSTD_DCtx_reset(zstd, ZSTD_reset_session_only);
    }
    ZSTD_inBuffer src{in.data(), in.size(), 0};
    Reserve(in.size() * 4);
    for (;;) {
      Reserve(kMinOutput);
      ZSTD_outBuffer dst{out.get() + len, cap - len, 0};
      const size_t hint = ZSTD_decompressStream(zstd, &dst, &src);
      if (ZSTD_isError(hint))
        return Status::Infra(fmt::format("zstd: {}", ZSTD_getErrorName(hint)));
      len += dst.pos;
      if (hint == 0 && src.pos == src.size) return Status::Ok();
      if (src.pos == src.size && dst.pos < dst.size) {
        return Status::Infra("zstd: the frame ends early");
      }
    }
  }
};

BatchDecoder::BatchDecoder() : codecs_(std::make_unique<Codecs>()) {}
BatchDecoder::~BatchDecoder() = default;

Result<std::string_view> BatchDecoder::Plain(const Batch& batch) {
  Codecs& c = *codecs_;
  c.len = 0;
  Status st;
  switch (batch.header.codec()) {
    case 0:
      return batch.records;
    case 1:
      st = c.Gzip(batch.records);
      break;
    case 2:
      st = c.Snappy(batch.records);
      break;
    case 3:
      st = c.Lz4(batch.records);
      break;
    case 4:
      st = c.Zstd(batch.records);
      break;
    default:
      st = Status::Infra(fmt::format("unknown compression codec {}", batch.header.codec()));
  }
  if (!st.ok()) return st.WithContext(BatchName(batch.header));
  return std::string_view(c.out.get(), c.len);
}

Status BatchDecoder::Records(const Batch& batch, int64_t from,
                             const std::function<bool(const RecordView&)>& fn) {
  const BatchHeader& h = batch.header;
  LIFELINE_ASSIGN_OR_RETURN(auto plain, Plain(batch));
  const char* p = plain.data();
  const char* const end = p + plain.size();
  auto corrupt = [&](int32_t i, const char* what) {
    return Status::Infra(
        fmt::format("{}: record {} of {}: {}", BatchName(h), i, h.record_count, what));
  };
  // A length-prefixed byte string; -1 is null.
  auto bytes = [](const char** q, const char* stop, const char** data, size_t* size) {
    int32_t n;
    if (!Varint32(q, stop, &n) || n < -1 || n > stop - *q) return false;
    *data = n < 0 ? nullptr : *q;
    *size = n < 0 ? 0 : static_cast<size_t>(n);
    *q += *size;
    return true;
  };
  RecordView r;
  r.timestamp_type =
      h.log_append_time() ? TimestampType::kLogAppendTime : TimestampType::kCreateTime;
  for (int32_t i = 0; i < h.record_count; ++i) {
    int32_t length, offset_delta, count;
    int64_t ts_delta;
    if (!Varint32(&p, end, &length) || length < 1 || length > end - p) {
      return corrupt(i, "runs past its batch");
    }
    const char* const stop = p + length;
    const char* q = p + 1;  // attributes: unused in v2
    if (!Varint64(&q, stop, &ts_delta) || !Varint32(&q, stop, &offset_delta)) {
      return corrupt(i, "bad timestamp or offset delta");
    }
    if (!bytes(&q, stop, &r.key, &r.key_size)) return corrupt(i, "bad key");
    if (!bytes(&q, stop, &r.value, &r.value_size)) return corrupt(i, "bad value");
    if (!Varint32(&q, stop, &count) || count < 0 || count > stop - q) {
      return corrupt(i, "bad header count");
    }
    headers_.resize(static_cast<size_t>(count));
    for (HeaderView& hv : headers_) {
      const char* name = nullptr;
      size_t name_size = 0;
      if (!bytes(&q, stop, &name, &name_size) || !name) return corrupt(i, "bad header name");
      // A name ends at its first NUL byte, as librdkafka (C strings) hands
      // it over: both backends must read the same headers (reader.h).
      hv.name = std::string_view(name, strnlen(name, name_size));
      if (!bytes(&q, stop, &hv.value, &hv.value_size)) return corrupt(i, "bad header value");
    }
    if (q != stop) return corrupt(i, "its length does not match its fields");
    p = stop;
    r.offset = h.base_offset + offset_delta;
    if (r.offset < from) continue;
    r.timestamp = h.log_append_time() ? h.max_timestamp : h.first_timestamp + ts_delta;
    r.headers = std::span<const HeaderView>(headers_.data(), headers_.size());
    if (!fn(r)) break;
  }
  return Status::Ok();
}

Result<ControlType> BatchDecoder::Control(const Batch& batch) {
  ControlType type = ControlType::kUnknown;
  // The key: a version (int16), then the type (int16: 0 abort, 1 commit).
  Status st = Records(batch, INT64_MIN, [&](const RecordView& r) {
    if (r.key && r.key_size >= 4) {
      const int16_t t = Big<int16_t>(r.key + 2);
      type = t == 0 ? ControlType::kAbort : t == 1 ? ControlType::kCommit : ControlType::kUnknown;
    }
    return false;
  });
  if (!st.ok()) return st;
  return type;
}

TransactionFilter::TransactionFilter(std::vector<AbortedTransaction> aborted)
    : aborted_(std::move(aborted)) {
  std::stable_sort(aborted_.begin(), aborted_.end(),
                   [](const auto& a, const auto& b) { return a.first_offset < b.first_offset; });
}

bool TransactionFilter::Deliver(const BatchHeader& batch, ControlType control) {
  if (batch.producer_id >= 0) {
    // An aborted transaction is open for its producer from its first offset on.
    while (next_ < aborted_.size() && aborted_[next_].first_offset <= batch.last_offset()) {
      const int64_t pid = aborted_[next_++].producer_id;
      if (std::find(open_aborted_.begin(), open_aborted_.end(), pid) == open_aborted_.end()) {
        open_aborted_.push_back(pid);
      }
    }
    auto open = std::find(open_aborted_.begin(), open_aborted_.end(), batch.producer_id);
    if (batch.control()) {
      if (control == ControlType::kAbort && open != open_aborted_.end()) open_aborted_.erase(open);
    } else if (batch.transactional() && open != open_aborted_.end()) {
      return false;
    }
  }
  return !batch.control();
}

}  // namespace lifeline::internal
