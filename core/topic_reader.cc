#include "core/topic_reader.h"

#include <fmt/format.h>

#include "core/internal/raw_fetch.h"

namespace lifeline {
namespace {

constexpr Millis kMetaTimeout(10000);

// Whole Records for ReadTopic's callback, counted per partition.
class RecordCallbackSink : public RecordSink {
 public:
  RecordCallbackSink(const std::vector<ReadRange>& ranges,
                     const std::function<Status(const Record&)>& on_record,
                     std::map<Partition, PartitionExtent>* plan)
      : ranges_(ranges), on_record_(on_record), plan_(plan) {}
  Status OnRecord(size_t range, const RecordView& view) override {
    const TopicPartition& tp = ranges_[range].tp;
    CopyRecord(tp, view, &record_);
    ++(*plan_)[tp.partition].records;
    return on_record_(record_);
  }

 private:
  const std::vector<ReadRange>& ranges_;
  const std::function<Status(const Record&)>& on_record_;
  std::map<Partition, PartitionExtent>* plan_;
  Record record_;
};

}  // namespace

Status ReadTopic(const ClientConfig& config, const TopicReadOptions& options,
                 const std::function<Status(const Record&)>& on_record,
                 std::map<Partition, PartitionExtent>* extents) {
  LIFELINE_ASSIGN_OR_RETURN(auto admin, Admin::Create(config));
  LIFELINE_ASSIGN_OR_RETURN(auto partitions, admin->PartitionCount(options.topic, kMetaTimeout));

  // Decide every partition's range before reading anything.
  std::map<Partition, PartitionExtent> plan;
  std::vector<ReadRange> ranges;
  for (int32_t p = 0; p < partitions; ++p) {
    const Partition part(p);
    TopicPartition tp{Topic(options.topic), part};
    LIFELINE_ASSIGN_OR_RETURN(auto wm, admin->Watermarks(tp, kMetaTimeout));
    PartitionExtent ext;
    auto s = options.start.find(part);
    ext.start = s != options.start.end() ? std::max(s->second, wm.low) : wm.low;
    auto e = options.end.find(part);
    ext.end = e != options.end.end() ? std::min(e->second, wm.high) : wm.high;
    plan[part] = ext;
    // Empty ones too: the reader probes their end (range_end.h).
    if (ext.start <= ext.end) ranges.push_back({tp, ext.start.value(), ext.end.value()});
  }

  ReaderOptions read;
  read.backend = options.backend;
  read.read_committed = options.read_committed;
  read.no_progress = options.idle_timeout;
  LIFELINE_ASSIGN_OR_RETURN(auto backend, ChooseBackend(options.backend, config));
  read.backend = backend;
  RecordCallbackSink sink(ranges, on_record, &plan);
  // The raw backend asks this admin client for leaders instead of its own.
  Status st = backend == ReaderBackend::kRaw
                  ? internal::RawReadRanges(config, ranges, &sink, read, admin.get())
                  : ReadRanges(config, ranges, &sink, read);
  if (st.code() == ExitCode::kInterrupted) {
    return Status::Interrupted("read of " + options.topic + " interrupted");
  }
  if (!st.ok()) return st;
  if (extents) *extents = std::move(plan);
  return Status::Ok();
}

}  // namespace lifeline
