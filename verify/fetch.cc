#include "verify/internal/fetch.h"

#include "core/reader.h"

namespace lifeline::verify {

Result<std::optional<Record>> FetchOne(const ClientConfig& config, const std::string& topic,
                                       int32_t partition, int64_t offset) {
  if (offset < 0) return std::optional<Record>();
  ReaderOptions options;
  options.client_id = "lifeline-verify";
  // One record of a log that was read a moment ago: a long wait means the
  // record is behind an open transaction, not that it is coming.
  options.no_progress = Millis(10000);
  return ReadOne(config, TopicPartition{Topic(topic), Partition(partition)}, offset, options);
}

}  // namespace lifeline::verify
