// The RecordBatch v2 parser of verify's raw reader, on batches built here
// byte by byte: framing, records, timestamps, every codec (including the
// framings Kafka's Java code writes), the read_committed filter, varints.
#include "core/internal/record_batch.h"

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <climits>
#include <optional>
#include <string>
#include <vector>

namespace lifeline::internal {
namespace {

std::string Varlong(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  std::string out;
  while (z >= 0x80) {
    out.push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  out.push_back(static_cast<char>(z));
  return out;
}

std::string Big(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}

std::string Bytes(const std::optional<std::string>& s) {
  return s ? Varlong(static_cast<int64_t>(s->size())) + *s : Varlong(-1);
}

struct TestHeader {
  std::string name;
  std::optional<std::string> value;
};

std::string RecordBytes(int32_t offset_delta, int64_t ts_delta,
                        const std::optional<std::string>& key,
                        const std::optional<std::string>& value,
                        const std::vector<TestHeader>& headers = {}) {
  std::string body;
  body.push_back(0);  // attributes
  body += Varlong(ts_delta) + Varlong(offset_delta) + Bytes(key) + Bytes(value);
  body += Varlong(static_cast<int64_t>(headers.size()));
  for (const TestHeader& h : headers) body += Bytes(h.name) + Bytes(h.value);
  return Varlong(static_cast<int64_t>(body.size())) + body;
}

struct BatchSpec {
  int64_t base_offset = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = -1;  // -1: records - 1
  int64_t first_timestamp = 1700000000000;
  int64_t max_timestamp = 1700000009999;
  int64_t producer_id = -1;
  int8_t magic = 2;
};

// A whole batch around `records` (already compressed when the attributes say so).
std::string BatchBytes(const BatchSpec& s, int32_t count, const std::string& records) {
  std::string rest;   // everything after the length field
  rest += Big(0, 4);  // partition leader epoch
  rest.push_back(static_cast<char>(s.magic));
  rest += Big(0, 4);  // crc: not checked
  rest += Big(static_cast<uint16_t>(s.attributes), 2);
  rest += Big(static_cast<uint32_t>(s.last_offset_delta >= 0 ? s.last_offset_delta : count - 1), 4);
  rest += Big(static_cast<uint64_t>(s.first_timestamp), 8);
  rest += Big(static_cast<uint64_t>(s.max_timestamp), 8);
  rest += Big(static_cast<uint64_t>(s.producer_id), 8);
  rest += Big(0, 2) + Big(0, 4);  // producer epoch, base sequence
  rest += Big(static_cast<uint32_t>(count), 4);
  rest += records;
  return Big(static_cast<uint64_t>(s.base_offset), 8) + Big(rest.size(), 4) + rest;
}

std::string ThreeRecords() {
  return RecordBytes(0, 0, "k0", "v0", {{"h", "x"}, {"null", std::nullopt}, {"empty", ""}}) +
         RecordBytes(1, 5, std::nullopt, "v1") + RecordBytes(2, 7, "", std::nullopt);
}

struct Seen {
  int64_t offset;
  std::optional<std::string> key, value;
  std::vector<TestHeader> headers;
  TimestampType type;
  int64_t timestamp;
};

std::vector<Seen> Decode(const std::string& set_bytes, int64_t from = 0) {
  BatchDecoder decoder;
  std::vector<Seen> out;
  std::string_view set = set_bytes;
  for (;;) {
    auto batch = NextBatch(&set);
    EXPECT_TRUE(batch.ok()) << batch.status().message();
    if (!batch.ok() || !*batch) break;
    Status st = decoder.Records(**batch, from, [&](const RecordView& r) {
      Seen s{r.offset, std::nullopt, std::nullopt, {}, r.timestamp_type, r.timestamp};
      if (r.key) s.key.emplace(r.key, r.key_size);
      if (r.value) s.value.emplace(r.value, r.value_size);
      for (const HeaderView& h : r.headers) {
        s.headers.push_back({std::string(h.name), h.value ? std::optional<std::string>(
                                                                std::string(h.value, h.value_size))
                                                          : std::nullopt});
      }
      out.push_back(std::move(s));
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.message();
  }
  return out;
}

TEST(RecordBatch, ReadsOffsetsKeysValuesHeadersAndCreateTimes) {
  BatchSpec spec;
  spec.base_offset = 40;
  const auto seen = Decode(BatchBytes(spec, 3, ThreeRecords()));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].offset, 40);
  EXPECT_EQ(seen[0].key, "k0");
  EXPECT_EQ(seen[0].value, "v0");
  ASSERT_EQ(seen[0].headers.size(), 3u);
  EXPECT_EQ(seen[0].headers[0].name, "h");
  EXPECT_EQ(seen[0].headers[0].value, "x");
  EXPECT_EQ(seen[0].headers[1].value, std::nullopt);
  EXPECT_EQ(seen[0].headers[2].value, "");
  EXPECT_EQ(seen[0].type, TimestampType::kCreateTime);
  EXPECT_EQ(seen[0].timestamp, 1700000000000);
  EXPECT_EQ(seen[1].offset, 41);
  EXPECT_EQ(seen[1].key, std::nullopt);
  EXPECT_EQ(seen[1].timestamp, 1700000000005);
  EXPECT_EQ(seen[2].offset, 42);
  EXPECT_EQ(seen[2].key, "");
  EXPECT_EQ(seen[2].value, std::nullopt);
  EXPECT_EQ(seen[2].timestamp, 1700000000007);
}

TEST(RecordBatch, LogAppendTimeGivesEveryRecordTheBatchMaxTimestamp) {
  BatchSpec spec;
  spec.attributes = 0x08;
  for (const Seen& s : Decode(BatchBytes(spec, 3, ThreeRecords()))) {
    EXPECT_EQ(s.type, TimestampType::kLogAppendTime);
    EXPECT_EQ(s.timestamp, spec.max_timestamp);
  }
}

TEST(RecordBatch, SkipsRecordsBeforeTheFetchOffsetInsideABatch) {
  BatchSpec spec;
  spec.base_offset = 10;
  const auto seen = Decode(BatchBytes(spec, 3, ThreeRecords()), 12);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].offset, 12);
}

TEST(RecordBatch, LeavesATruncatedTrailingBatchForTheNextFetch) {
  BatchSpec a, b;
  b.base_offset = 3;
  const std::string first = BatchBytes(a, 3, ThreeRecords());
  const std::string second = BatchBytes(b, 3, ThreeRecords());
  for (size_t cut : {size_t{0}, size_t{5}, size_t{12}, size_t{61}, second.size() - 1}) {
    std::string bytes = first + second.substr(0, cut);
    std::string_view set = bytes;
    auto one = NextBatch(&set);
    ASSERT_TRUE(one.ok() && *one) << cut;
    EXPECT_EQ((*one)->header.base_offset, 0);
    EXPECT_EQ((*one)->header.next_offset(), 3);
    auto none = NextBatch(&set);
    ASSERT_TRUE(none.ok()) << cut;
    EXPECT_FALSE(*none) << "a batch cut at byte " << cut << " was taken as whole";
  }
}

TEST(RecordBatch, OlderRecordFormatsAreAnErrorThatNamesTheFallback) {
  BatchSpec spec;
  spec.magic = 1;
  std::string bytes = BatchBytes(spec, 3, ThreeRecords());
  std::string_view set = bytes;
  auto batch = NextBatch(&set);
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("--reader librdkafka"), std::string::npos);
}

TEST(RecordBatch, ARecordRunningPastItsBatchIsAnError) {
  std::string records = ThreeRecords();
  records.resize(records.size() - 2);
  std::string bytes = BatchBytes({}, 3, records);
  std::string_view set = bytes;
  auto batch = NextBatch(&set);
  ASSERT_TRUE(batch.ok() && *batch);
  BatchDecoder decoder;
  Status st = decoder.Records(**batch, 0, [](const RecordView&) { return true; });
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("record 2 of 3"), std::string::npos) << st.message();
}

TEST(RecordBatch, AnEmptiedBatchStillMovesTheNextOffsetPastIt) {
  BatchSpec spec;
  spec.base_offset = 100;
  spec.last_offset_delta = 9;  // compaction removed all ten records
  std::string bytes = BatchBytes(spec, 0, "");
  std::string_view set = bytes;
  auto batch = NextBatch(&set);
  ASSERT_TRUE(batch.ok() && *batch);
  EXPECT_EQ((*batch)->header.next_offset(), 110);
  EXPECT_TRUE(Decode(bytes).empty());
}

// ------------------------------------------------------------- compression

std::string Gzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string SnappyRaw(const std::string& in) {
  size_t n = snappy_max_compressed_length(in.size());
  std::string out(n, '\0');
  EXPECT_EQ(snappy_compress(in.data(), in.size(), out.data(), &n), SNAPPY_OK);
  out.resize(n);
  return out;
}

// The xerial framing of Kafka's Java clients, in blocks of `block` bytes.
std::string SnappyXerial(const std::string& in, size_t block) {
  std::string out("\x82SNAPPY\0", 8);
  out += Big(1, 4) + Big(1, 4);
  for (size_t at = 0; at < in.size(); at += block) {
    const std::string c = SnappyRaw(in.substr(at, block));
    out += Big(c.size(), 4) + c;
  }
  return out;
}

std::string Lz4Frame(const std::string& in) {
  std::string out(LZ4F_compressFrameBound(in.size(), nullptr), '\0');
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

// Streamed, so the frame carries no content size (as Kafka's Java client writes it).
std::string ZstdStream(const std::string& in) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  std::string out(ZSTD_compressBound(in.size()) + 64, '\0');
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  while (ZSTD_compressStream2(cctx, &dst, &src, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(cctx);
  out.resize(dst.pos);
  EXPECT_EQ(ZSTD_getFrameContentSize(out.data(), out.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  return out;
}

// Enough records that the decompressed section outgrows the first buffer.
std::string ManyRecords(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += RecordBytes(i, i, "key-" + std::to_string(i), std::string(300, 'a' + i % 26),
                       {{"ce_id", std::to_string(i)}});
  }
  return out;
}

void ExpectCodecReads(int codec, const std::string& compressed, int n) {
  BatchSpec spec;
  spec.attributes = static_cast<int16_t>(codec);
  const std::string batch = BatchBytes(spec, n, compressed);
  // Twice through one decoder: contexts and buffers are reused.
  BatchDecoder decoder;
  for (int round = 0; round < 2; ++round) {
    std::string_view set = batch;
    auto b = NextBatch(&set);
    ASSERT_TRUE(b.ok() && *b);
    int count = 0;
    Status st = decoder.Records(**b, 0, [&](const RecordView& r) {
      EXPECT_EQ(r.offset, count);
      EXPECT_EQ(std::string(r.key, r.key_size), "key-" + std::to_string(count));
      EXPECT_EQ(std::string(r.value, r.value_size), std::string(300, 'a' + count % 26));
      ++count;
      return true;
    });
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(count, n);
  }
}

TEST(RecordBatch, DecompressesGzip) { ExpectCodecReads(1, Gzip(ManyRecords(2000)), 2000); }
TEST(RecordBatch, DecompressesConcatenatedGzipMembers) {
  const std::string a = ManyRecords(10), all = ManyRecords(20);
  ExpectCodecReads(1, Gzip(all.substr(0, a.size())) + Gzip(all.substr(a.size())), 20);
}
TEST(RecordBatch, DecompressesRawSnappy) {
  ExpectCodecReads(2, SnappyRaw(ManyRecords(2000)), 2000);
}
TEST(RecordBatch, DecompressesXerialFramedSnappy) {
  ExpectCodecReads(2, SnappyXerial(ManyRecords(2000), size_t{32} * 1024), 2000);
}
TEST(RecordBatch, DecompressesLz4Frames) { ExpectCodecReads(3, Lz4Frame(ManyRecords(2000)), 2000); }
TEST(RecordBatch, DecompressesZstdWithoutAContentSize) {
  ExpectCodecReads(4, ZstdStream(ManyRecords(2000)), 2000);
}

TEST(RecordBatch, TruncatedCompressedDataIsAnError) {
  const std::string records = ManyRecords(50);
  for (auto [codec, data] : std::vector<std::pair<int, std::string>>{{1, Gzip(records)},
                                                                     {2, SnappyRaw(records)},
                                                                     {3, Lz4Frame(records)},
                                                                     {4, ZstdStream(records)}}) {
    BatchSpec spec;
    spec.attributes = static_cast<int16_t>(codec);
    const std::string batch = BatchBytes(spec, 50, data.substr(0, data.size() / 2));
    std::string_view set = batch;
    auto b = NextBatch(&set);
    ASSERT_TRUE(b.ok() && *b);
    BatchDecoder decoder;
    EXPECT_FALSE(decoder.Records(**b, 0, [](const RecordView&) { return true; }).ok())
        << "codec " << codec;
  }
}

TEST(RecordBatch, ASnappyBlockClaimingMoreThanABatchCanHoldIsAnErrorNotAnAllocation) {
  // A raw snappy block starts with its uncompressed length (a varint): 2 GiB.
  const std::string claim = std::string("\x80\x80\x80\x80\x08", 5) + std::string(16, '\0');
  BatchSpec spec;
  spec.attributes = 2;
  const std::string batch = BatchBytes(spec, 1, claim);
  std::string_view set = batch;
  auto b = NextBatch(&set);
  ASSERT_TRUE(b.ok() && *b);
  BatchDecoder decoder;
  Status st = decoder.Records(**b, 0, [](const RecordView&) { return true; });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("snappy: a block of 2147483648 bytes"), std::string::npos)
      << st.message();
}

// ---------------------------------------------------------- read_committed

BatchHeader Header(int64_t base, int32_t count, int64_t pid, bool txn, bool control = false) {
  BatchHeader h;
  h.base_offset = base;
  h.last_offset_delta = count - 1;
  h.producer_id = pid;
  h.attributes = static_cast<int16_t>((txn ? 0x10 : 0) | (control ? 0x20 : 0));
  return h;
}

TEST(TransactionFilter, HidesAbortedBatchesAndMarkersOnly) {
  // Producer 7 aborts a transaction starting at 10 and later commits one;
  // producer 8 commits one interleaved with it; producer -1 is plain.
  TransactionFilter f({{7, 10}, {9, 100}});
  EXPECT_TRUE(f.Deliver(Header(0, 10, -1, false), ControlType::kUnknown));
  EXPECT_FALSE(f.Deliver(Header(10, 2, 7, true), ControlType::kUnknown));
  EXPECT_TRUE(f.Deliver(Header(12, 1, 8, true), ControlType::kUnknown));
  EXPECT_FALSE(f.Deliver(Header(13, 1, 7, true), ControlType::kUnknown));
  EXPECT_TRUE(f.Deliver(Header(14, 1, 5, false), ControlType::kUnknown));  // idempotent only
  EXPECT_FALSE(f.Deliver(Header(15, 1, 7, true, true), ControlType::kAbort));
  EXPECT_FALSE(f.Deliver(Header(16, 1, 8, true, true), ControlType::kCommit));
  EXPECT_TRUE(f.Deliver(Header(17, 3, 7, true), ControlType::kUnknown));  // its next transaction
  EXPECT_FALSE(f.Deliver(Header(20, 1, 7, true, true), ControlType::kCommit));
  EXPECT_TRUE(f.Deliver(Header(21, 1, 9, true), ControlType::kUnknown));  // aborted only from 100
}

TEST(TransactionFilter, AnAbortedTransactionThatBeganBeforeTheFetchIsStillHidden) {
  TransactionFilter f({{7, 5}});
  EXPECT_FALSE(f.Deliver(Header(20, 4, 7, true), ControlType::kUnknown));
}

TEST(RecordBatch, ReadsTheMarkerOfAControlBatch) {
  BatchSpec spec;
  spec.attributes = 0x30;
  spec.producer_id = 7;
  for (auto [type, want] : {std::pair{0, ControlType::kAbort}, {1, ControlType::kCommit}}) {
    const std::string key = Big(0, 2) + Big(static_cast<uint64_t>(type), 2);
    const std::string bytes = BatchBytes(spec, 1, RecordBytes(0, 0, key, Big(0, 6)));
    std::string_view set = bytes;
    auto b = NextBatch(&set);
    ASSERT_TRUE(b.ok() && *b);
    BatchDecoder decoder;
    auto control = decoder.Control(**b);
    ASSERT_TRUE(control.ok());
    EXPECT_EQ(*control, want);
  }
}

// ------------------------------------------------------------------ varints

TEST(Varint, RoundTripsTheEdgesOfInt32AndInt64) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{63}, int64_t{-64}, int64_t{64},
                    int64_t{INT32_MAX}, int64_t{INT32_MIN}}) {
    const std::string b = Varlong(v);
    const char* p = b.data();
    EXPECT_EQ(ReadVarint(&p, b.data() + b.size()), v);
    EXPECT_EQ(p, b.data() + b.size());
  }
  for (int64_t v : {INT64_MAX, INT64_MIN, int64_t{1} << 40, -(int64_t{1} << 40)}) {
    const std::string b = Varlong(v);
    const char* p = b.data();
    EXPECT_EQ(ReadVarlong(&p, b.data() + b.size()), v);
  }
  EXPECT_EQ(Varlong(INT32_MIN).size(), 5u);
  EXPECT_EQ(Varlong(INT64_MIN).size(), 10u);
}

TEST(Varint, RejectsTruncatedAndOverlongEncodings) {
  const std::string truncated = "\x80\x80";
  const char* p = truncated.data();
  EXPECT_EQ(ReadVarint(&p, p + truncated.size()), std::nullopt);
  EXPECT_EQ(p, truncated.data()) << "a failed read must not advance";
  const std::string six(5, '\x80');
  const std::string overlong = six + '\x01';
  p = overlong.data();
  EXPECT_EQ(ReadVarint(&p, p + overlong.size()), std::nullopt);
  const std::string eleven = std::string(10, '\x80') + '\x01';
  p = eleven.data();
  EXPECT_EQ(ReadVarlong(&p, p + eleven.size()), std::nullopt);
  p = truncated.data();
  EXPECT_EQ(ReadVarlong(&p, p), std::nullopt);
}

}  // namespace
}  // namespace lifeline::internal
