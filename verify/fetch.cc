#include "verify/fetch.h"

#include "core/kafka.h"
#include "core/topic_reader.h"

namespace lifeline::verify {

std::optional<Record> FetchOne(const ClientConfig& config, const std::string& topic, int32_t p,
                               int64_t offset) {
  if (offset < 0) return std::nullopt;
  TopicReadOptions read;
  read.topic = topic;
  read.start[Partition(p)] = Offset(offset);
  read.end[Partition(p)] = Offset(offset + 1);
  read.idle_timeout = Millis(10000);
  // Only this partition: others get an empty range.
  std::optional<Record> found;
  auto admin = Admin::Create(config);
  if (!admin.ok()) return std::nullopt;
  auto n = (*admin)->PartitionCount(topic, Millis(15000));
  if (!n.ok()) return std::nullopt;
  for (int32_t q = 0; q < *n; ++q) {
    if (q != p) read.start[Partition(q)] = read.end[Partition(q)] = Offset(0);
  }
  (void)ReadTopic(config, read, [&](const Record& r) {
    if (r.offset.value() == offset) found = r;
    return Status::Ok();
  });
  return found;
}

}  // namespace lifeline::verify
