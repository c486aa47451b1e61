#include "core/reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>

#include "core/internal/broker_link.h"
#include "core/internal/range_end.h"
#include "core/internal/raw_fetch.h"
#include "core/signals.h"

namespace lifeline {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kPollBatch = 4096;
constexpr Millis kMetaTimeout{15000};

// Reads the ranges in order, one partition at a time, through one librdkafka
// consumer that is re-assigned for each range.
class LibrdkafkaReader {
 public:
  LibrdkafkaReader(const ClientConfig& config, const std::vector<ReadRange>& ranges,
                   RecordSink* sink, const ReaderOptions& options)
      : config_(config), ranges_(ranges), sink_(sink), options_(options) {}

  Status Run() {
    std::unique_ptr<Consumer> consumer;
    for (size_t i = 0; i < ranges_.size(); ++i) {
      const ReadRange& r = ranges_[i];
      if (!internal::RangeEnd(r.start, r.end).finished()) {
        if (!consumer) {
          LIFELINE_ASSIGN_OR_RETURN(auto created, Create());
          consumer = std::move(created);
        }
        LIFELINE_RETURN_IF_ERROR(ReadOneRange(consumer.get(), i));
      }
      LIFELINE_RETURN_IF_ERROR(sink_->OnRangeEnd(i));
    }
    if (consumer) (void)consumer->Close();
    return Status::Ok();
  }

 private:
  Result<std::unique_ptr<Consumer>> Create() const {
    ConsumerOptions copts;
    copts.read_committed = options_.read_committed;
    copts.partition_eof = true;
    copts.client_id = options_.client_id;
    // A bulk read: see ConsumerOptions::keep_fetching (librdkafka 2.0.2 idles
    // for up to a second each time its prefetch queue fills).
    copts.keep_fetching = true;
    ClientConfig c = config_;
    // The prefetch is bounded to 8 MB and fetches to 8 MB: topped up at once,
    // larger ones only cost memory (16/8/32 MB: 86-93 MB peak for a 1M-event
    // read). The ends are known, so no long polls: after a range ends, its
    // last fetch would otherwise hold the connection for fetch.wait.max.ms
    // (500 ms) before the next range's first fetch goes out.
    for (auto [k, v] : {std::pair{"queued.max.messages.kbytes", "8192"},
                        {"max.partition.fetch.bytes", "8388608"},
                        {"fetch.max.bytes", "8388608"},
                        {"fetch.wait.max.ms", "10"}}) {
      if (!c.Get(k)) c.Set(k, v);
    }
    return Consumer::Create(c, copts);
  }

  Status ReadOneRange(Consumer* consumer, size_t i) {
    const ReadRange& r = ranges_[i];
    LIFELINE_RETURN_IF_ERROR(consumer->Assign({{r.tp, Offset(r.start)}}));
    internal::RangeEnd range(r.start, r.end);
    auto last_progress = Clock::now();
    while (!range.finished()) {
      if (Interrupted()) return Status::Interrupted("interrupted");
      LIFELINE_ASSIGN_OR_RETURN(auto polled, consumer->PollMessages(kPollBatch, Millis(200)));
      for (const Message& m : polled.messages) {
        if (range.finished()) break;
        if (!range.Delivers(m->offset)) {
          range.Advance(m->offset);
          continue;
        }
        LIFELINE_RETURN_IF_ERROR(sink_->OnRecord(i, View(m.get())));
        range.Advance(m->offset + 1);
      }
      // An end-of-partition event can report a position short of the end
      // (seen in CI on a topic read right after it was written: 4 of 967
      // records went missing), so it only finishes a range it reaches.
      for (const PartitionEnd& e : polled.reached_end) {
        if (e.where == r.tp) range.Advance(e.offset.value());
      }
      if (!polled.messages.empty() || !polled.reached_end.empty()) {
        last_progress = Clock::now();
      } else if (Clock::now() - last_progress > options_.no_progress) {
        return Status::Infra(fmt::format(
            "{} [{}]: no progress for {} s reading up to offset {} (at {})", r.tp.topic.value(),
            r.tp.partition.value(),
            std::chrono::duration_cast<std::chrono::seconds>(options_.no_progress).count(), r.end,
            range.next()));
      }
    }
    return CheckListedEnd(consumer, r);
  }

  // The end the last fetch reported against what a listing says now
  // (range_end.h). librdkafka 2.0.2 caches only the fetch's high watermark,
  // while a read-committed handle lists the last stable offset (which an
  // open transaction holds behind it): so the listing is asked of a handle
  // reading uncommitted, made only when a range ended short of the fetches.
  Status CheckListedEnd(Consumer* consumer, const ReadRange& r) {
    int64_t low = -1, fetched = -1;
    if (rd_kafka_get_watermark_offsets(consumer->handle(), r.tp.topic.value().c_str(),
                                       r.tp.partition.value(), &low, &fetched) != 0) {
      return Status::Ok();  // no fetch answer cached: nothing to hold the listing against
    }
    return listed_end_.Check(
        r.tp, r.end, fetched, [&](const TopicPartition& tp) -> Result<int64_t> {
          Consumer* lister = consumer;
          if (options_.read_committed) {
            if (!uncommitted_) {
              ConsumerOptions copts;
              copts.read_committed = false;
              copts.client_id = options_.client_id;
              LIFELINE_ASSIGN_OR_RETURN(uncommitted_, Consumer::Create(config_, copts));
            }
            lister = uncommitted_.get();
          }
          int64_t lo = -1, hi = -1;
          if (rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
                  lister->handle(), tp.topic.value().c_str(), tp.partition.value(), &lo, &hi,
                  static_cast<int>(kMetaTimeout.count()))) {
            return KafkaError(
                fmt::format("watermarks of {} [{}]", tp.topic.value(), tp.partition.value()), err);
          }
          return hi;
        });
  }

  RecordView View(const rd_kafka_message_t* m) {
    RecordView v;
    v.offset = m->offset;
    v.key = static_cast<const char*>(m->key);
    v.key_size = m->key_len;
    v.value = static_cast<const char*>(m->payload);
    v.value_size = m->len;
    headers_.clear();
    ForEachHeader(m, [&](const char* name, const char* value, size_t size) {
      headers_.push_back({std::string_view(name), value, size});
    });
    v.headers = headers_;
    const auto [type, ts] = MessageTimestamp(m);
    v.timestamp_type = type;
    v.timestamp = ts;
    return v;
  }

  const ClientConfig& config_;
  const std::vector<ReadRange>& ranges_;
  RecordSink* sink_;
  const ReaderOptions& options_;
  std::vector<HeaderView> headers_;
  internal::ListedEndCheck listed_end_;
  std::unique_ptr<Consumer> uncommitted_;  // lists high watermarks
};

// Keeps the one record ReadOne asked for.
class OneRecordSink : public RecordSink {
 public:
  OneRecordSink(TopicPartition tp, int64_t offset) : tp_(std::move(tp)), offset_(offset) {}
  Status OnRecord(size_t, const RecordView& r) override {
    if (r.offset == offset_) {
      found_.emplace();
      CopyRecord(tp_, r, &*found_);
    }
    return Status::Ok();
  }
  std::optional<Record>& found() { return found_; }

 private:
  TopicPartition tp_;
  int64_t offset_;
  std::optional<Record> found_;
};

void Assign(std::optional<std::string>* out, const char* data, size_t n) {
  if (!data) {
    out->reset();
  } else if (*out) {
    (*out)->assign(data, n);
  } else {
    out->emplace(data, n);
  }
}

}  // namespace

void CopyRecord(const TopicPartition& tp, const RecordView& view, Record* out) {
  if (out->topic != tp.topic) out->topic = tp.topic;
  out->partition = tp.partition;
  out->offset = Offset(view.offset);
  Assign(&out->key, view.key, view.key_size);
  Assign(&out->value, view.value, view.value_size);
  out->headers.resize(view.headers.size());
  for (size_t i = 0; i < view.headers.size(); ++i) {
    const HeaderView& h = view.headers[i];
    out->headers[i].name.assign(h.name);
    Assign(&out->headers[i].value, h.value, h.value_size);
  }
  out->timestamp = TimestampMs(view.timestamp);
  out->timestamp_type = view.timestamp_type;
}

const char* ReaderBackendName(ReaderBackend backend) {
  switch (backend) {
    case ReaderBackend::kRaw:
      return "raw";
    case ReaderBackend::kLibrdkafka:
      return "librdkafka";
    case ReaderBackend::kAuto:
      break;
  }
  return "auto";
}

std::optional<std::string> RawReaderUnsupported(const ClientConfig& config) {
  auto security = internal::LinkSecurityFor(config);
  if (security.ok()) return std::nullopt;
  return security.status().message();
}

Result<ReaderBackend> ChooseBackend(ReaderBackend wanted, const ClientConfig& config) {
  if (wanted == ReaderBackend::kLibrdkafka) return ReaderBackend::kLibrdkafka;
  auto why_not = RawReaderUnsupported(config);
  if (!why_not) return ReaderBackend::kRaw;
  if (wanted == ReaderBackend::kAuto) return ReaderBackend::kLibrdkafka;
  return Status::Usage(fmt::format(
      "the raw reader cannot serve this configuration ({}); use --reader auto or librdkafka",
      *why_not));
}

Status ReadRanges(const ClientConfig& config, const std::vector<ReadRange>& ranges,
                  RecordSink* sink, const ReaderOptions& options) {
  LIFELINE_ASSIGN_OR_RETURN(auto backend, ChooseBackend(options.backend, config));
  if (backend == ReaderBackend::kRaw) {
    return internal::RawReadRanges(config, ranges, sink, options, nullptr);
  }
  return LibrdkafkaReader(config, ranges, sink, options).Run();
}

Result<std::optional<Record>> ReadOne(const ClientConfig& config, const TopicPartition& tp,
                                      int64_t offset, const ReaderOptions& options) {
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(config));
  LIFELINE_ASSIGN_OR_RETURN(auto wm, admin->Watermarks(tp, kMetaTimeout));
  // Outside the log there is nothing to wait for; a fetch there would be an
  // out-of-range error (raw) or a wait for records that never come.
  if (offset < wm.low.value() || offset >= wm.high.value()) return std::optional<Record>();
  const std::vector<ReadRange> ranges = {{tp, offset, offset + 1}};
  OneRecordSink sink(tp, offset);
  LIFELINE_ASSIGN_OR_RETURN(auto backend, ChooseBackend(options.backend, config));
  Status st = backend == ReaderBackend::kRaw
                  ? internal::RawReadRanges(config, ranges, &sink, options, admin.get())
                  : LibrdkafkaReader(config, ranges, &sink, options).Run();
  if (!st.ok()) return st;
  return std::move(sink.found());
}

}  // namespace lifeline
