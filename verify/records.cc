// verify records: read both sides of each partition concurrently, pair the
// records (offset map, identity or content), classify every difference.
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "core/bounded_queue.h"
#include "core/kafka.h"
#include "core/reader.h"
#include "core/signals.h"
#include "mirror/mirror.h"
#include "verify/internal/fetch.h"
#include "verify/internal/summary.h"
#include "verify/verify.h"

namespace lifeline::verify {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Millis kAdminTimeout{15000};
constexpr size_t kBatch = 4096;          // entries per queue batch
constexpr size_t kQueueBatches = 16;     // batches a side may read ahead
constexpr size_t kWindow = 1024;         // look-ahead of the content alignment
constexpr size_t kRecentSource = 65536;  // source digests remembered for duplicates
constexpr size_t kAheadTarget = 4096;    // extra target records held for a later original

using Entry = RecordSummary;

// The Entry of a record whose canonical encoding `w` holds, given where the
// key, value and headers end in it.
Entry Finish(int64_t offset, const CanonicalWriter& w, const std::string& buf, size_t key_end,
             size_t value_end, size_t headers_end) {
  Entry e;
  e.offset = offset;
  e.digest = w.Digest();
  const char* p = buf.data();
  e.key = XXH3_64bits(p, key_end);
  e.value = XXH3_64bits(p + key_end, value_end - key_end);
  e.headers = XXH3_64bits(p + value_end, headers_end - value_end);
  e.timestamp = XXH3_64bits(p + headers_end, buf.size() - headers_end);
  return e;
}

// A record's Entry, from the view either reader backend delivers (header
// names already end at their first NUL, as librdkafka hands them over).
Entry Summarize(const RecordView& r, std::string* buf) {
  CanonicalWriter w(buf);
  w.Key(r.key, r.key_size);
  const size_t key_end = w.Mark();
  w.Value(r.value, r.value_size);
  const size_t value_end = w.Mark();
  w.Headers(r.headers.size());
  for (const HeaderView& h : r.headers) w.Header(h.name, h.value, h.value_size);
  const size_t headers_end = w.Mark();
  w.Timestamp(r.timestamp_type, r.timestamp);
  return Finish(r.offset, w, *buf, key_end, value_end, headers_end);
}

// Entry batches from a reader thread to the comparator (an empty batch marks
// the end of a partition), with emptied batches going back to the reader:
// reusing them keeps a large allocation (and malloc's consolidation of small
// freed chunks) off the per-batch path.
class Channel {
 public:
  void Push(std::vector<Entry> batch) { (void)queue_.Push(std::move(batch)); }
  // False once the reader failed or the channel was closed and drained.
  bool Pop(std::vector<Entry>* out) { return queue_.Pop(out); }
  void Recycle(std::vector<Entry> batch) {
    batch.clear();
    std::lock_guard lock(mu_);
    if (spare_.size() < kQueueBatches) spare_.push_back(std::move(batch));
  }
  std::vector<Entry> Fresh() {
    std::lock_guard lock(mu_);
    if (spare_.empty()) {
      std::vector<Entry> v;
      v.reserve(kBatch);
      return v;
    }
    std::vector<Entry> v = std::move(spare_.back());
    spare_.pop_back();
    return v;
  }
  void Close(Status why = Status::Ok()) { queue_.Close(std::move(why)); }
  Status error() { return queue_.error(); }

 private:
  BoundedQueue<std::vector<Entry>> queue_{kQueueBatches};
  std::mutex mu_;
  std::vector<std::vector<Entry>> spare_;
};

using Range = FetchRange;  // [start, end) of one partition

// What a side reads, as Entry batches with an empty batch after each range.
class EntrySink : public RecordSink {
 public:
  explicit EntrySink(Channel* out) : out_(out), batch_(out->Fresh()) {}
  Status OnRecord(size_t, const RecordView& r) override {
    batch_.push_back(Summarize(r, &buf_));
    if (batch_.size() >= kBatch) Flush();
    return Status::Ok();
  }
  Status OnRangeEnd(size_t) override {
    if (!batch_.empty()) Flush();
    out_->Push({});
    return Status::Ok();
  }

 private:
  void Flush() {
    out_->Push(std::move(batch_));
    batch_ = out_->Fresh();
  }
  Channel* out_;
  std::vector<Entry> batch_;
  std::string buf_;
};

// Reads the ranges in order through the reader seam into `out`; `how` is
// already chosen (ChooseReader).
void ReadSide(const ClientConfig& config, const std::vector<Range>& ranges, Reader how,
              Channel* out, ReaderOptions options = {}) {
  options.backend = how;
  options.client_id = "lifeline-verify";
  EntrySink sink(out);
  if (Status st = ReadRanges(config, ranges, &sink, options); !st.ok()) out->Close(std::move(st));
}

// Which reader a side gets: the raw one wherever it can serve the
// configuration, unless the options say otherwise.
Result<Reader> ChooseReader(Reader wanted, const ClientConfig& config, const char* side) {
  auto chosen = ChooseBackend(wanted, config);
  if (!chosen.ok()) return chosen.status().WithContext(fmt::format("--reader raw, {}", side));
  return *chosen;
}

// One side of one partition, as a stream with look-ahead.
class Cursor {
 public:
  explicit Cursor(Channel* ch) : ch_(ch) {}
  // The k-th entry from the head, or null at the end of the partition.
  const Entry* At(size_t k) {
    while (buf_.size() <= k && !ended_) Fill();
    return k < buf_.size() ? &buf_[k] : nullptr;
  }
  const Entry* Peek() { return At(0); }
  Entry Pop() {
    Entry e = buf_.front();
    buf_.pop_front();
    return e;
  }
  bool failed() const { return failed_; }

 private:
  void Fill() {
    std::vector<Entry> batch;
    if (!ch_->Pop(&batch)) {
      ended_ = failed_ = true;
      return;
    }
    if (batch.empty()) {
      ended_ = true;
      return;
    }
    buf_.insert(buf_.end(), batch.begin(), batch.end());
    ch_->Recycle(std::move(batch));
  }
  Channel* ch_;
  std::deque<Entry> buf_;
  bool ended_ = false, failed_ = false;
};

// The per-side summary: counts, rolling digest and chunk digests.
class SideDigest {
 public:
  explicit SideDigest(int64_t chunk) : chunk_(chunk) {}
  void Add(const Entry& e) {
    rolling_.Add(e.digest);
    if (!current_) {
      current_ = std::make_unique<DigestChain>();
      first_ = e.offset;
    }
    current_->Add(e.digest);
    last_ = e.offset;
    ++records_;
    if (current_->count() >= chunk_) Close();
  }
  void Finish(SideSummary* out) {
    Close();
    out->records = records_;
    out->rolling = rolling_.value();
    out->chunks = std::move(chunks_);
  }

 private:
  void Close() {
    if (!current_) return;
    chunks_.push_back({first_, last_, current_->count(), current_->value()});
    current_.reset();
  }
  int64_t chunk_;
  DigestChain rolling_;
  std::unique_ptr<DigestChain> current_;
  int64_t first_ = -1, last_ = -1, records_ = 0;
  std::vector<Chunk> chunks_;
};

std::string PartsDiffering(const Entry& a, const Entry& b) {
  std::vector<std::string> parts;
  if (a.key != b.key) parts.emplace_back("key");
  if (a.value != b.value) parts.emplace_back("value");
  if (a.headers != b.headers) parts.emplace_back("headers");
  if (a.timestamp != b.timestamp) parts.emplace_back("timestamp");
  return fmt::format("{} differ{}", fmt::join(parts, ", "), parts.size() == 1 ? "s" : "");
}

// Pairs and classifies one partition's records.
class Comparator {
 public:
  Comparator(PartitionResult* out, size_t limit, const mirror::PartitionMap* map, Align align,
             int64_t target_end)
      : out_(out), limit_(limit), map_(map), align_(align), target_end_(target_end) {}

  void Run(Cursor& src, Cursor& dst, SideDigest& sd, SideDigest& td) {
    src_digest_ = &sd;
    dst_digest_ = &td;
    if (align_ == Align::kContent) {
      RunContent(src, dst);
    } else {
      RunByOffset(src, dst);
    }
    FlushPending(true);
    for (const Entry& t : ahead_) {
      Report({"extra", "", -1, -1, t.offset, "no source record maps here", ""});
    }
    ahead_.clear();
  }

 private:
  // Where the mirror put source record `s`, or -1 if nowhere (yet).
  int64_t Expected(int64_t s, bool* unmirrored) {
    *unmirrored = false;
    if (align_ == Align::kIdentity) {
      *unmirrored = s >= target_end_;
      return *unmirrored ? -1 : s;
    }
    if (!map_ || s >= map_->progress()) {
      *unmirrored = true;
      return -1;
    }
    const auto& runs = map_->runs();
    while (run_ < runs.size() && runs[run_].source_end() <= s) ++run_;
    if (run_ < runs.size() && runs[run_].source_start <= s) {
      return runs[run_].target_start + (s - runs[run_].source_start);
    }
    return -1;
  }

  void TakeSource(Cursor& c, Entry* e) {
    *e = c.Pop();
    src_digest_->Add(*e);
    // A ring, not a hash map: it is searched only for extra target records
    // (rare), while every source record passes through it.
    if (recent_.size() < kRecentSource) {
      recent_.emplace_back(e->digest, e->offset);
    } else {
      recent_[recent_next_] = {e->digest, e->offset};
    }
    recent_next_ = (recent_next_ + 1) % kRecentSource;
    for (auto it = ahead_.begin(); it != ahead_.end(); ++it) {
      if (it->digest == e->digest) {
        Report({"duplicated", "", -1, e->offset, it->offset,
                fmt::format("a copy of source offset {}, written before the one the map describes",
                            e->offset),
                ""});
        ahead_.erase(it);
        break;
      }
    }
  }
  // The most recent source record with this digest, if it is still in the ring.
  std::optional<int64_t> RecentSource(const Digest128& d) const {
    for (size_t i = 0; i < recent_.size(); ++i) {
      const auto& [digest, offset] =
          recent_[(recent_next_ + recent_.size() - 1 - i) % recent_.size()];
      if (digest == d) return offset;
    }
    return std::nullopt;
  }
  void TakeTarget(Cursor& c, Entry* e) {
    *e = c.Pop();
    dst_digest_->Add(*e);
  }

  void Report(Divergence d) {
    ++out_->counts[d.kind];
    if (out_->divergences.size() < limit_) {
      d.topic = out_->topic;
      d.partition = out_->partition;
      out_->divergences.push_back(std::move(d));
    }
  }

  void Extra(const Entry& t) {
    if (auto original = RecentSource(t.digest)) {
      Report({"duplicated", "", -1, *original, t.offset,
              fmt::format("a second copy of source offset {}", *original), ""});
    } else if (align_ == Align::kMap && map_ && map_->IsMirroredTarget(Offset(t.offset))) {
      Report({"extra", "", -1, -1, t.offset,
              "the map says this came from a source record that is no longer there", ""});
    } else if (ahead_.size() < kAheadTarget) {
      // Perhaps a copy of a source record still to come (an at-least-once
      // process's copies that another process then copied again, and the
      // map describes): decided when that record, or the end, is reached.
      ahead_.push_back(t);
    } else {
      Report({"extra", "", -1, -1, t.offset, "no source record maps here", ""});
    }
  }

  // A mismatched pair waits a little: its partner in a swap may follow.
  struct Mismatch {
    Entry s, t;
  };
  void AddMismatch(const Entry& s, const Entry& t) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->s.digest == t.digest && it->t.digest == s.digest) {
        Report({"reordered", "", -1, it->s.offset, it->t.offset,
                fmt::format("source offsets {} and {} are swapped on the target (target {} and "
                            "{})",
                            it->s.offset, s.offset, it->t.offset, t.offset),
                ""});
        pending_.erase(it);
        return;
      }
    }
    pending_.push_back({s, t});
    FlushPending(false);
  }
  void FlushPending(bool all) {
    while (!pending_.empty() && (all || pending_.size() > 64)) {
      const Mismatch& m = pending_.front();
      Report({"altered", "", -1, m.s.offset, m.t.offset, PartsDiffering(m.s, m.t), ""});
      pending_.pop_front();
    }
  }

  void RunByOffset(Cursor& src, Cursor& dst) {
    Entry s, t;
    for (;;) {
      const Entry* ps = src.Peek();
      const Entry* pt = dst.Peek();
      if (!ps && !pt) return;
      if (!ps) {
        TakeTarget(dst, &t);
        Extra(t);
        continue;
      }
      bool unmirrored = false;
      const int64_t want = Expected(ps->offset, &unmirrored);
      if (unmirrored) {
        TakeSource(src, &s);
        // Only a mirror has progress; a copy compared by identity simply
        // lacks the record.
        if (align_ == Align::kIdentity) {
          Report({"missing", "", -1, s.offset, -1, "past the end of the target", ""});
        } else {
          Report({"unmirrored", "", -1, s.offset, -1, "past the mirror's progress", ""});
        }
        continue;
      }
      if (want < 0) {
        TakeSource(src, &s);
        Report(
            {"missing", "", -1, s.offset, -1, "the offset map has no place for this record", ""});
        continue;
      }
      if (pt && pt->offset < want) {
        TakeTarget(dst, &t);
        Extra(t);
        continue;
      }
      TakeSource(src, &s);
      if (!pt || pt->offset > want) {
        Report({"missing", "", -1, s.offset, want, "not on the target where the map puts it", ""});
        continue;
      }
      TakeTarget(dst, &t);
      if (s.digest == t.digest) {
        ++out_->matched;
      } else {
        AddMismatch(s, t);
      }
    }
  }

  // No map: equal digests pair up; otherwise look ahead on both sides for a
  // swap, a run of records missing on the target, or extra target records.
  void RunContent(Cursor& src, Cursor& dst) {
    Entry s, t;
    for (;;) {
      const Entry* ps = src.Peek();
      const Entry* pt = dst.Peek();
      if (!ps && !pt) return;
      if (!pt) {
        TakeSource(src, &s);
        Report({"missing", "", -1, s.offset, -1, "past the end of the target", ""});
        continue;
      }
      if (!ps) {
        TakeTarget(dst, &t);
        Extra(t);
        continue;
      }
      if (ps->digest == pt->digest) {
        TakeSource(src, &s);
        TakeTarget(dst, &t);
        ++out_->matched;
        continue;
      }
      const Entry* s1 = src.At(1);
      const Entry* t1 = dst.At(1);
      if (s1 && t1 && s1->digest == pt->digest && t1->digest == ps->digest) {
        Entry a, b, x, y;
        TakeSource(src, &a);
        TakeSource(src, &b);
        TakeTarget(dst, &x);
        TakeTarget(dst, &y);
        Report({"reordered", "", -1, a.offset, x.offset,
                fmt::format("source offsets {} and {} are swapped on the target (target {} and "
                            "{})",
                            a.offset, b.offset, x.offset, y.offset),
                ""});
        continue;
      }
      size_t in_source = 0, in_target = 0;
      for (size_t k = 1; k < kWindow && !in_source; ++k) {
        const Entry* e = src.At(k);
        if (!e) break;
        if (e->digest == pt->digest) in_source = k;
      }
      for (size_t k = 1; k < kWindow && !in_target; ++k) {
        const Entry* e = dst.At(k);
        if (!e) break;
        if (e->digest == ps->digest) in_target = k;
      }
      if (in_source && (!in_target || in_source <= in_target)) {
        for (size_t k = 0; k < in_source; ++k) {
          TakeSource(src, &s);
          Report({"missing", "", -1, s.offset, -1, "not on the target", ""});
        }
      } else if (in_target) {
        for (size_t k = 0; k < in_target; ++k) {
          TakeTarget(dst, &t);
          Extra(t);
        }
      } else {
        TakeSource(src, &s);
        TakeTarget(dst, &t);
        Report({"altered", "", -1, s.offset, t.offset, PartsDiffering(s, t), ""});
      }
    }
  }

  PartitionResult* out_;
  size_t limit_;
  const mirror::PartitionMap* map_;
  Align align_;
  int64_t target_end_;
  size_t run_ = 0;
  SideDigest* src_digest_ = nullptr;
  SideDigest* dst_digest_ = nullptr;
  std::vector<std::pair<Digest128, int64_t>> recent_;  // ring of (digest, source offset)
  size_t recent_next_ = 0;
  std::deque<Mismatch> pending_;
  std::vector<Entry> ahead_;  // extra target records that may copy a later source record
};

// ------------------------------------------------------------ readable diff

std::string Printable(std::string_view bytes, size_t max = 60) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && out.size() < max; ++i) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (out.size() >= max) out += "...";
  return out;
}

std::string Show(const std::optional<std::string>& b) {
  return b ? "\"" + Printable(*b) + "\"" : std::string("null");
}

std::string DiffBytes(const char* what, const std::optional<std::string>& a,
                      const std::optional<std::string>& b) {
  if (!a || !b) return fmt::format("  {}: source {} / target {}\n", what, Show(a), Show(b));
  size_t i = 0;
  while (i < a->size() && i < b->size() && (*a)[i] == (*b)[i]) ++i;
  const size_t from = i > 20 ? i - 20 : 0;
  return fmt::format(
      "  {} differs at byte {} (lengths {} / {}):\n    source ...{}\n    target ...{}\n", what, i,
      a->size(), b->size(), Printable(std::string_view(*a).substr(from, 60)),
      Printable(std::string_view(*b).substr(from, 60)));
}

std::string DiffRecords(const Record& s, const Record& t) {
  std::string out;
  if (s.key != t.key) out += DiffBytes("key", s.key, t.key);
  if (s.value != t.value) out += DiffBytes("value", s.value, t.value);
  if (s.headers != t.headers) {
    const size_t n = std::max(s.headers.size(), t.headers.size());
    for (size_t i = 0; i < n; ++i) {
      const Header* a = i < s.headers.size() ? &s.headers[i] : nullptr;
      const Header* b = i < t.headers.size() ? &t.headers[i] : nullptr;
      if (a && b && *a == *b) continue;
      out += fmt::format("  header #{}: source {}={} / target {}={}\n", i,
                         a ? Printable(a->name) : "(none)", a ? Show(a->value) : "-",
                         b ? Printable(b->name) : "(none)", b ? Show(b->value) : "-");
    }
  }
  if (s.timestamp != t.timestamp || s.timestamp_type != t.timestamp_type) {
    out += fmt::format("  timestamp: source {} ({}) / target {} ({})\n", s.timestamp.value(),
                       TimestampTypeName(s.timestamp_type), t.timestamp.value(),
                       TimestampTypeName(t.timestamp_type));
  }
  return out;
}

std::string Brief(const char* side, const Record& r) {
  return fmt::format("  {} offset {}: key {}, {} header(s), timestamp {}, value {}\n", side,
                     r.offset.value(), Show(r.key), r.headers.size(), r.timestamp.value(),
                     Show(r.value));
}

void AddDiff(const RecordsOptions& o, Divergence* d) {
  std::string failures;
  // A record that cannot be read back leaves the diff without it; a failed
  // read also says why.
  auto fetch = [&](const ClientConfig& config, const char* side,
                   int64_t offset) -> std::optional<Record> {
    auto r = FetchOne(config, d->topic, d->partition, offset);
    if (r.ok()) return std::move(r).value();
    failures +=
        fmt::format("  {} offset {}: unreadable ({})\n", side, offset, r.status().message());
    return std::nullopt;
  };
  auto s = d->kind == "extra" ? std::nullopt : fetch(o.source, "source", d->source_offset);
  auto t = d->kind == "missing" || d->kind == "unmirrored"
               ? std::nullopt
               : fetch(o.target, "target", d->target_offset);
  if (s && t && (d->kind == "altered")) {
    d->diff = DiffRecords(*s, *t);
  } else {
    if (s) d->diff += Brief("source", *s);
    if (t) d->diff += Brief("target", *t);
  }
  d->diff += failures;
}

// ------------------------------------------------------------ orchestration

bool Internal(const std::string& topic) {
  return topic.rfind("__", 0) == 0 || topic.rfind("_lifeline.", 0) == 0;
}

Result<int64_t> ResolveBound(Admin& admin, const TopicPartition& tp, const Bound& b,
                             int64_t fallback, int64_t low, int64_t high) {
  int64_t v = fallback;
  if (auto it = b.partition_offsets.find(tp.partition.value()); it != b.partition_offsets.end()) {
    v = it->second;
  } else if (b.offset) {
    v = *b.offset;
  } else if (b.time) {
    auto r = admin.OffsetsForTime({tp}, *b.time, kAdminTimeout);
    if (!r.ok()) return r.status();
    v = r->count(tp) ? r->at(tp).value() : high;
  }
  return std::clamp(v, low, high);
}

std::string ReaderName(Reader r) { return ReaderBackendName(r); }

std::string AlignName(Align a) {
  return a == Align::kMap ? "map" : a == Align::kIdentity ? "identity" : "content";
}

// Evidence of a previous run: its partitions keyed by "topic/partition",
// and how it was made.
struct Evidence {
  std::map<std::string, nlohmann::json> partitions;
  std::string align;
  int64_t chunk_records = 0;
};

// Evidence written before it recorded its chunk size: a side with two or
// more chunks has a full first chunk; with one chunk at most, any size at
// least as large as the biggest chunk cuts the same chunks.
int64_t InferChunkRecords(const nlohmann::json& partitions) {
  int64_t full = 0, largest = 0;
  for (const auto& p : partitions) {
    for (const char* side : {"source", "target"}) {
      if (!p.contains(side) || !p[side].contains("chunks")) continue;
      const auto& chunks = p[side]["chunks"];
      if (chunks.size() >= 2) full = std::max(full, chunks[0]["records"].get<int64_t>());
      for (const auto& c : chunks) largest = std::max(largest, c["records"].get<int64_t>());
    }
  }
  if (full > 0) return full;
  return std::max(largest, kDefaultChunkRecords);
}

Result<Evidence> LoadEvidence(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Usage(fmt::format("--against {}: cannot read the file", path));
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("partitions") ||
      !j["partitions"].is_array()) {
    return Status::Usage(fmt::format(
        "--against {}: not a verify evidence file (write one with `verify records --json`)", path));
  }
  Evidence ev;
  try {
    for (const auto& p : j["partitions"]) {
      ev.partitions[fmt::format("{}/{}", p.at("topic").get<std::string>(),
                                p.at("partition").get<int>())] = p;
    }
    ev.align = j.value("align", std::string("map"));
    ev.chunk_records = j.contains("chunk_records") ? j["chunk_records"].get<int64_t>()
                                                   : InferChunkRecords(j["partitions"]);
  } catch (const nlohmann::json::exception& e) {
    return Status::Usage(
        fmt::format("--against {}: not a verify evidence file ({})", path, e.what()));
  }
  if (ev.chunk_records <= 0) {
    return Status::Usage(fmt::format("--against {}: chunk_records must be positive", path));
  }
  return ev;
}

// Compares a side's chunks with the stored ones; reports the first that
// differs (or a count/range mismatch).
void CompareWithEvidence(const nlohmann::json& stored, const SideSummary& now, const char* side,
                         PartitionResult* out) {
  const auto& chunks = stored[side]["chunks"];
  size_t i = 0;
  for (; i < now.chunks.size() && i < chunks.size(); ++i) {
    const Chunk& c = now.chunks[i];
    const auto& sc = chunks[i];
    if (c.first != sc["first"].get<int64_t>() || c.records != sc["records"].get<int64_t>() ||
        c.digest.Hex() != sc["digest"].get<std::string>()) {
      ++out->counts["chunk"];
      if (out->divergences.empty()) {
        out->divergences.push_back(
            {"chunk", out->topic, out->partition, std::string(side) == "source" ? c.first : -1,
             std::string(side) == "target" ? c.first : -1,
             fmt::format("{} chunk {} (offsets {}..{}, {} records) differs from the evidence "
                         "(offsets {}..{}, {} records)",
                         side, i, c.first, c.last, c.records, sc["first"].get<int64_t>(),
                         sc["last"].get<int64_t>(), sc["records"].get<int64_t>()),
             ""});
      }
      return;
    }
  }
  if (now.chunks.size() != chunks.size()) {
    ++out->counts["chunk"];
    out->divergences.push_back(
        {"chunk", out->topic, out->partition, -1, -1,
         fmt::format("{} has {} chunk(s), the evidence {}", side, now.chunks.size(), chunks.size()),
         ""});
  }
}

}  // namespace

Result<RecordsReport> VerifyRecords(const RecordsOptions& o) {
  const auto started = Clock::now();
  RecordsReport report;
  report.align = AlignName(o.align);
  report.mirror_name = o.name;
  report.against = !o.against.empty();
  const bool have_source = !o.source.bootstrap().empty();
  const bool have_target = !o.target.bootstrap().empty();
  if (!report.against && (!have_source || !have_target)) {
    return Status::Usage("verify records needs --source and --target (or --against FILE)");
  }
  if (report.against && !have_source && !have_target) {
    return Status::Usage("--against needs --source and/or --target: the side(s) to re-read");
  }
  if (o.chunk_records < 0) return Status::Usage("--chunk must be positive");
  report.chunk_records = o.chunk_records > 0 ? o.chunk_records : kDefaultChunkRecords;
  Reader source_reader = Reader::kLibrdkafka, target_reader = Reader::kLibrdkafka;
  if (have_source) {
    LIFELINE_ASSIGN_OR_RETURN(auto r, ChooseReader(o.reader, o.source, "source"));
    source_reader = r;
    report.source_reader = ReaderName(source_reader);
  }
  if (have_target) {
    LIFELINE_ASSIGN_OR_RETURN(auto r, ChooseReader(o.reader, o.target, "target"));
    target_reader = r;
    report.target_reader = ReaderName(target_reader);
  }
  std::regex pattern;
  try {
    pattern = std::regex(o.topics);
  } catch (const std::regex_error& e) {
    return Status::Usage(
        fmt::format("--topics '{}' is not a valid regular expression: {}", o.topics, e.what()));
  }
  Evidence evidence;
  if (report.against) {
    LIFELINE_ASSIGN_OR_RETURN(auto ev, LoadEvidence(o.against));
    if (o.chunk_records > 0 && o.chunk_records != ev.chunk_records) {
      return Status::Usage(fmt::format(
          "--chunk {} conflicts with --against {}, made with chunks of {} records: drop --chunk "
          "(the evidence's size is used)",
          o.chunk_records, o.against, ev.chunk_records));
    }
    if (o.align_given && AlignName(o.align) != ev.align) {
      return Status::Usage(
          fmt::format("--align {} conflicts with --against {}, made with --align {}: drop --align",
                      AlignName(o.align), o.against, ev.align));
    }
    report.chunk_records = ev.chunk_records;
    report.align = ev.align;
    evidence = std::move(ev);
  }

  // The side topics are listed from (the source unless only the target is read).
  const ClientConfig& lister = have_source ? o.source : o.target;
  auto admin = Admin::Create(lister);
  if (!admin.ok()) return admin.status().WithContext(have_source ? "source" : "target");
  std::unique_ptr<Admin> target_admin;
  if (have_target) {
    LIFELINE_ASSIGN_OR_RETURN_CTX(target_admin, Admin::Create(o.target), "target");
  }
  LIFELINE_ASSIGN_OR_RETURN(auto topics, (*admin)->ListTopics(kAdminTimeout));
  mirror::MapSet maps;
  if (o.align == Align::kMap && !report.against) {
    mirror::MapSource from{o.target, o.state_dir};
    LIFELINE_ASSIGN_OR_RETURN_CTX(maps, mirror::LoadRequiredMaps(from, o.name),
                                  "offset map of mirror " + o.name);
  }

  // Whether the user bounded partition p's range on that end.
  const auto bounded = [](const Bound& b, int32_t p) {
    return b.offset || b.partition_offsets.count(p) || b.time;
  };
  std::vector<Range> src_ranges, dst_ranges;
  std::vector<PartitionResult> results;
  for (const auto& [topic, partitions] : topics) {
    if (Internal(topic) || !std::regex_match(topic, pattern)) continue;
    for (int32_t p = 0; p < partitions; ++p) {
      const TopicPartition tp{Topic(topic), Partition(p)};
      PartitionResult r;
      r.topic = topic;
      r.partition = p;
      const bool from_bounded = bounded(o.from, p), until_bounded = bounded(o.until, p);
      Range sr{tp, 0, 0}, tr{tp, 0, 0};
      if (have_source) {
        auto wm = (*admin)->Watermarks(tp, kAdminTimeout);
        if (!wm.ok()) return wm.status().WithContext("source");
        auto lo =
            ResolveBound(**admin, tp, o.from, wm->low.value(), wm->low.value(), wm->high.value());
        auto hi =
            ResolveBound(**admin, tp, o.until, wm->high.value(), wm->low.value(), wm->high.value());
        if (!lo.ok()) return lo.status();
        if (!hi.ok()) return hi.status();
        sr.start = *lo;
        sr.end = std::max(*lo, *hi);
      }
      if (have_target) {
        auto wm = target_admin->Watermarks(tp, kAdminTimeout);
        if (!wm.ok()) {
          return wm.status().WithContext(fmt::format(
              "target (does {} exist there? verify compares topics of the same name)", topic));
        }
        tr.start = wm->low.value();
        tr.end = wm->high.value();
        if (report.against) {
          // Re-read what the evidence covered.
          auto it = evidence.partitions.find(fmt::format("{}/{}", topic, p));
          if (it != evidence.partitions.end()) {
            tr.start = std::max(tr.start, it->second["target"]["start"].get<int64_t>());
            tr.end = std::min(tr.end, it->second["target"]["end"].get<int64_t>());
          }
        } else if (o.align == Align::kIdentity) {
          // Unbounded, each side's whole log: a target record past the
          // source's end is extra, never out of sight.
          if (from_bounded) tr.start = std::max(tr.start, sr.start);
          if (until_bounded) tr.end = std::min(tr.end, sr.end);
        } else if (o.align == Align::kMap) {
          // Only a bound the user gave narrows the target, through the map;
          // otherwise the whole target log is read, so records the map does
          // not describe (before its start, after its end) are extra.
          auto m = maps.find(tp);
          if (m != maps.end()) {
            const mirror::Translation lo = m->second.Translate(Offset(sr.start));
            if (from_bounded && lo.kind == mirror::Translation::Kind::kExact) {
              tr.start = std::max(tr.start, lo.target_offset.value());
            }
            const mirror::Translation hi = m->second.Translate(Offset(sr.end));
            if (until_bounded && hi.kind == mirror::Translation::Kind::kExact) {
              tr.end = std::min(tr.end, hi.target_offset.value());
            }
          }
        } else if (o.from.time || o.until.time) {
          auto lo = ResolveBound(*target_admin, tp, o.from, tr.start, tr.start, tr.end);
          auto hi = ResolveBound(*target_admin, tp, o.until, tr.end, tr.start, tr.end);
          if (lo.ok() && hi.ok()) tr.start = *lo, tr.end = std::max(*lo, *hi);
        }
      }
      if (report.against && have_source) {
        auto it = evidence.partitions.find(fmt::format("{}/{}", topic, p));
        if (it != evidence.partitions.end()) {
          sr.start = std::max(sr.start, it->second["source"]["start"].get<int64_t>());
          sr.end = std::min(sr.end, it->second["source"]["end"].get<int64_t>());
        }
      }
      r.source.start = sr.start;
      r.source.end = sr.end;
      r.target.start = tr.start;
      r.target.end = std::max(tr.start, tr.end);
      tr.end = r.target.end;
      src_ranges.push_back(sr);
      dst_ranges.push_back(tr);
      results.push_back(std::move(r));
    }
  }
  if (results.empty()) {
    return Status::Usage(fmt::format("--topics '{}' matches no topic on the {}", o.topics,
                                     have_source ? "source" : "target"));
  }
  // Partitions the evidence holds and the cluster no longer has (a topic
  // recreated with fewer partitions): a divergence, not a silent pass.
  std::vector<PartitionResult> vanished;
  if (report.against) {
    std::set<std::string> read;
    for (const PartitionResult& r : results)
      read.insert(fmt::format("{}/{}", r.topic, r.partition));
    for (const auto& [key, stored] : evidence.partitions) {
      const std::string topic = stored["topic"].get<std::string>();
      if (read.count(key) || Internal(topic) || !std::regex_match(topic, pattern)) continue;
      PartitionResult r;
      r.topic = topic;
      r.partition = stored["partition"].get<int32_t>();
      ++r.counts["chunk"];
      r.divergences.push_back({"chunk", r.topic, r.partition, -1, -1,
                               "the evidence holds this partition; the cluster does not", ""});
      vanished.push_back(std::move(r));
    }
  }

  Channel src_ch, dst_ch;
  std::thread src_thread, dst_thread;
  auto start_side = [&](const ClientConfig& config, const std::vector<Range>& ranges, Reader how,
                        Channel* ch) {
    return std::thread([&config, &ranges, how, ch] { ReadSide(config, ranges, how, ch); });
  };
  if (have_source) {
    src_thread = start_side(o.source, src_ranges, source_reader, &src_ch);
  } else {
    src_ch.Close();
  }
  if (have_target) {
    dst_thread = start_side(o.target, dst_ranges, target_reader, &dst_ch);
  } else {
    dst_ch.Close();
  }
  Status failure;
  for (PartitionResult& r : results) {
    Cursor src(&src_ch), dst(&dst_ch);
    SideDigest sd(report.chunk_records), td(report.chunk_records);
    if (report.against) {
      // Each side alone, against its stored chunks.
      while (have_source && src.Peek()) sd.Add(src.Pop());
      while (have_target && dst.Peek()) td.Add(dst.Pop());
    } else {
      const auto m = maps.find({Topic(r.topic), Partition(r.partition)});
      Comparator cmp(&r, o.report_limit, m == maps.end() ? nullptr : &m->second, o.align,
                     r.target.end);
      cmp.Run(src, dst, sd, td);
    }
    if ((have_source && src.failed()) || (have_target && dst.failed())) {
      failure = !src_ch.error().ok() ? src_ch.error() : dst_ch.error();
      if (failure.ok()) failure = Status::Infra("a reader stopped early");
      break;
    }
    sd.Finish(&r.source);
    td.Finish(&r.target);
    report.records_read += r.source.records + r.target.records;
    if (report.against) {
      auto it = evidence.partitions.find(fmt::format("{}/{}", r.topic, r.partition));
      if (it == evidence.partitions.end()) {
        ++r.counts["chunk"];
        r.divergences.push_back({"chunk", r.topic, r.partition, -1, -1,
                                 "the evidence has no record of this partition", ""});
      } else {
        if (have_source) CompareWithEvidence(it->second, r.source, "source", &r);
        if (have_target) CompareWithEvidence(it->second, r.target, "target", &r);
      }
    }
  }
  src_ch.Close();
  dst_ch.Close();
  if (src_thread.joinable()) src_thread.join();
  if (dst_thread.joinable()) dst_thread.join();
  if (!failure.ok()) return failure;
  for (PartitionResult& r : vanished) results.push_back(std::move(r));

  report.duplicates_allowed = o.allow_duplicates;
  for (PartitionResult& r : results) {
    for (const auto& [kind, n] : r.counts) {
      if (kind == "duplicated") report.duplicates += n;
      if (kind != "duplicated" || !o.allow_duplicates) report.divergences += n;
    }
    if (!report.against && !r.divergences.empty()) AddDiff(o, &r.divergences.front());
  }
  report.partitions = std::move(results);
  report.pass = report.divergences == 0;
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return report;
}

namespace {
// "raw", or "source raw, target librdkafka" when the sides differ.
std::string ReadersText(const RecordsReport& r) {
  if (r.source_reader == r.target_reader || r.target_reader.empty()) return r.source_reader;
  if (r.source_reader.empty()) return r.target_reader;
  return fmt::format("source {}, target {}", r.source_reader, r.target_reader);
}
}  // namespace

std::string FormatRecordsText(const RecordsReport& r) {
  std::string out;
  for (const PartitionResult& p : r.partitions) {
    out += fmt::format(
        "{} [{}]: read source [{}, {}) ({} records), target [{}, {}) ({} records), {} "
        "matched",
        p.topic, p.partition, p.source.start, p.source.end, p.source.records, p.target.start,
        p.target.end, p.target.records, p.matched);
    if (p.counts.empty()) {
      out += ", no divergence\n";
      continue;
    }
    out += "; divergences:";
    for (const auto& [kind, n] : p.counts) out += fmt::format(" {}={}", kind, n);
    out += "\n";
    for (const Divergence& d : p.divergences) {
      out += fmt::format("  {} at source {} / target {}: {}\n", d.kind,
                         d.source_offset < 0 ? "-" : std::to_string(d.source_offset),
                         d.target_offset < 0 ? "-" : std::to_string(d.target_offset), d.detail);
      if (!d.diff.empty()) out += d.diff;
    }
    int64_t total = 0;
    for (const auto& [kind, n] : p.counts) total += n;
    if (total > static_cast<int64_t>(p.divergences.size())) {
      out += fmt::format("  ... and {} more\n", total - static_cast<int64_t>(p.divergences.size()));
    }
  }
  out += fmt::format(
      "{}: {} partition(s), {} records read in {:.2f} s ({:.0f} records/s), {} "
      "divergence(s){} (align: {}, reader: {}{})\n",
      r.pass ? "PASS" : "FAIL", r.partitions.size(), r.records_read, r.seconds,
      r.seconds > 0 ? r.records_read / r.seconds : 0.0, r.divergences,
      r.duplicates_allowed && r.duplicates > 0
          ? fmt::format(", {} duplicate(s) allowed (--allow-duplicates)", r.duplicates)
          : "",
      r.align, ReadersText(r),
      r.against ? fmt::format(", against stored evidence made with align {} and chunks of {}",
                              r.align, r.chunk_records)
                : "");
  return out;
}

nlohmann::ordered_json RecordsToJson(const RecordsReport& r) {
  using Json = nlohmann::ordered_json;
  Json j;
  j["check"] = "records";
  j["pass"] = r.pass;
  j["align"] = r.align;
  j["chunk_records"] = r.chunk_records;
  auto reader = [](const std::string& name) { return name.empty() ? Json(nullptr) : Json(name); };
  j["reader"] = {{"source", reader(r.source_reader)}, {"target", reader(r.target_reader)}};
  j["mirror"] = r.mirror_name;
  j["against"] = r.against;
  j["divergences"] = r.divergences;
  j["duplicates"] = r.duplicates;
  j["duplicates_allowed"] = r.duplicates_allowed;
  j["records_read"] = r.records_read;
  j["seconds"] = r.seconds;
  auto side = [](const SideSummary& s) {
    Json x;
    x["start"] = s.start;
    x["end"] = s.end;
    x["records"] = s.records;
    x["rolling_digest"] = s.rolling.Hex();
    x["chunks"] = Json::array();
    for (const Chunk& c : s.chunks) {
      x["chunks"].push_back({{"first", c.first},
                             {"last", c.last},
                             {"records", c.records},
                             {"digest", c.digest.Hex()}});
    }
    return x;
  };
  j["partitions"] = Json::array();
  for (const PartitionResult& p : r.partitions) {
    Json x;
    x["topic"] = p.topic;
    x["partition"] = p.partition;
    x["matched"] = p.matched;
    x["counts"] = p.counts;
    x["source"] = side(p.source);
    x["target"] = side(p.target);
    x["divergences"] = Json::array();
    for (const Divergence& d : p.divergences) {
      x["divergences"].push_back({{"kind", d.kind},
                                  {"source_offset", d.source_offset},
                                  {"target_offset", d.target_offset},
                                  {"detail", d.detail},
                                  {"diff", d.diff}});
    }
    j["partitions"].push_back(std::move(x));
  }
  return j;
}

std::string FormatRecordsJson(const RecordsReport& r) { return RecordsToJson(r).dump(2) + "\n"; }

namespace {
// Runs `reader` over `ranges` on a thread of its own and hands each range's
// entries to `take(index, entry)` in order.
template <typename Take>
Status ReadEachRange(const ClientConfig& config, const std::vector<FetchRange>& ranges,
                     Reader reader, const ReaderOptions& raw, Take take) {
  LIFELINE_ASSIGN_OR_RETURN(auto how, ChooseReader(reader, config, "client"));
  Channel ch;
  std::thread t([&] { ReadSide(config, ranges, how, &ch, raw); });
  for (size_t i = 0; i < ranges.size(); ++i) {
    Cursor c(&ch);
    while (c.Peek()) take(i, c.Pop());
    if (c.failed()) break;
  }
  ch.Close();
  t.join();
  return ch.error();
}
}  // namespace

Result<std::vector<RangeDigest>> DigestRanges(const ClientConfig& config,
                                              const std::vector<FetchRange>& ranges,
                                              Reader reader) {
  std::vector<DigestChain> chains(ranges.size());
  LIFELINE_RETURN_IF_ERROR(ReadEachRange(
      config, ranges, reader, {}, [&](size_t i, const Entry& e) { chains[i].Add(e.digest); }));
  std::vector<RangeDigest> out;
  out.reserve(chains.size());
  for (const DigestChain& c : chains) out.push_back({c.count(), c.value()});
  return out;
}

Result<std::vector<std::vector<RecordSummary>>> SummarizeRanges(
    const ClientConfig& config, const std::vector<FetchRange>& ranges, Reader reader,
    const ReaderOptions& raw) {
  std::vector<std::vector<RecordSummary>> out(ranges.size());
  LIFELINE_RETURN_IF_ERROR(ReadEachRange(config, ranges, reader, raw,
                                         [&](size_t i, const Entry& e) { out[i].push_back(e); }));
  return out;
}

}  // namespace lifeline::verify
