#include "mirror/internal/topic_configs.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

namespace lifeline::mirror {
namespace {

constexpr const char* kCopied[] = {
    "cleanup.policy",         "retention.ms",
    "retention.bytes",        "max.message.bytes",
    "message.timestamp.type", "min.compaction.lag.ms",
    "max.compaction.lag.ms",  "min.cleanable.dirty.ratio",
    "delete.retention.ms",    "segment.ms",
    "segment.bytes",          "compression.type",
};

constexpr const char* kDecidesWhatIsKept[] = {
    "cleanup.policy",         "retention.ms",          "retention.bytes",
    "message.timestamp.type", "min.compaction.lag.ms", "max.compaction.lag.ms",
    "delete.retention.ms",
};

std::set<std::string> Policies(const std::string& value) {
  std::set<std::string> out;
  std::stringstream in(value);
  for (std::string part; std::getline(in, part, ',');) {
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) out.insert(part);
  }
  return out;
}

bool AsNumber(const std::string& s, double* out) {
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end && !s.empty();
}

}  // namespace

std::span<const char* const> CopiedConfigs() { return kCopied; }

bool DecidesWhatIsKept(const std::string& name) {
  return std::find(std::begin(kDecidesWhatIsKept), std::end(kDecidesWhatIsKept), name) !=
         std::end(kDecidesWhatIsKept);
}

bool SameConfigValue(const std::string& name, const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (name == "cleanup.policy") return Policies(a) == Policies(b);
  double x = 0, y = 0;
  return AsNumber(a, &x) && AsNumber(b, &y) && x == y;
}

std::vector<ConfigDifference> CompareTopicConfigs(
    const std::map<std::string, std::string>& asked,
    const std::map<std::string, std::string>& target) {
  std::vector<ConfigDifference> out;
  for (const char* name : kCopied) {
    auto a = asked.find(name);
    if (a == asked.end()) continue;
    auto t = target.find(name);
    if (t != target.end() && SameConfigValue(name, a->second, t->second)) continue;
    ConfigDifference d;
    d.name = name;
    d.wanted = a->second;
    d.reported_at_all = t != target.end();
    if (d.reported_at_all) d.reported = t->second;
    d.decides_what_is_kept = DecidesWhatIsKept(name);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace lifeline::mirror
