// The topic configs a mirror copies when it creates a target topic, and the
// check that the created topic holds them (issue 14: a broker that accepts
// a config and then ignores it, or reports every config as its default,
// left a target topic with 7-day retention that deleted the 2023-dated
// copies at once). Pure: no Kafka here; mirror.cc asks the brokers.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

namespace lifeline::mirror {

// Names of the configs copied to a created target topic and checked on it.
std::span<const char* const> CopiedConfigs();

// Whether `name` decides which records a topic keeps (retention, compaction,
// the timestamps time-based retention goes by): a difference in one of
// these can delete copies the map vouches for. The others (segment sizes,
// compression, the cleaner's dirty ratio, the largest record) are harmless
// to what is kept.
bool DecidesWhatIsKept(const std::string& name);

// Whether two values of config `name` mean the same: numbers by value,
// cleanup.policy as a set ("compact,delete" is "delete,compact").
bool SameConfigValue(const std::string& name, const std::string& a, const std::string& b);

struct ConfigDifference {
  std::string name;
  std::string wanted;    // what the topic was created with
  std::string reported;  // the target's, or "" when not reported
  bool reported_at_all = true;
  bool decides_what_is_kept = false;
};

// Every config asked for at creation (`asked`: the source's effective value
// of each config that decides what is kept, its other non-default configs,
// and what the mirror chose instead, e.g. LogAppendTime created as
// CreateTime) that the target reports with another value, or not at all.
std::vector<ConfigDifference> CompareTopicConfigs(const std::map<std::string, std::string>& asked,
                                                  const std::map<std::string, std::string>& target);

}  // namespace lifeline::mirror
