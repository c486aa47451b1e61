// What a created target topic is held to (mirror/internal/topic_configs.h).
#include "mirror/internal/topic_configs.h"

#include <gtest/gtest.h>

namespace lifeline::mirror {
namespace {

TEST(TopicConfigs, ValuesCompareByMeaning) {
  EXPECT_TRUE(SameConfigValue("cleanup.policy", "compact,delete", "delete, compact"));
  EXPECT_FALSE(SameConfigValue("cleanup.policy", "compact", "compact,delete"));
  EXPECT_TRUE(SameConfigValue("min.cleanable.dirty.ratio", "0.5", "0.50"));
  EXPECT_FALSE(SameConfigValue("retention.ms", "-1", "604800000"));
  EXPECT_FALSE(SameConfigValue("message.timestamp.type", "CreateTime", "LogAppendTime"));
  EXPECT_FALSE(SameConfigValue("retention.ms", "", "0"));
}

// A broker that reports every config as its default (Tansu 0.6): the
// retention difference decides what is kept, the segment size does not,
// and a config the target leaves out is flagged as not reported.
TEST(TopicConfigs, FindsWhatTheTargetKeepsDifferently) {
  const std::map<std::string, std::string> asked = {{"retention.ms", "-1"},
                                                    {"segment.bytes", "1048576"},
                                                    {"cleanup.policy", "delete"},
                                                    {"delete.retention.ms", "86400000"}};
  const std::map<std::string, std::string> target = {
      {"retention.ms", "604800000"}, {"segment.bytes", "1073741824"}, {"cleanup.policy", "delete"}};
  auto diffs = CompareTopicConfigs(asked, target);
  ASSERT_EQ(diffs.size(), 3u);
  EXPECT_EQ(diffs[0].name, "retention.ms");
  EXPECT_EQ(diffs[0].wanted, "-1");
  EXPECT_EQ(diffs[0].reported, "604800000");
  EXPECT_TRUE(diffs[0].decides_what_is_kept);
  EXPECT_EQ(diffs[1].name, "delete.retention.ms");
  EXPECT_FALSE(diffs[1].reported_at_all);
  EXPECT_EQ(diffs[2].name, "segment.bytes");
  EXPECT_FALSE(diffs[2].decides_what_is_kept);
}

TEST(TopicConfigs, EveryConfigThatDecidesWhatIsKeptIsCopied) {
  for (const char* name :
       {"cleanup.policy", "retention.ms", "retention.bytes", "message.timestamp.type",
        "min.compaction.lag.ms", "max.compaction.lag.ms", "delete.retention.ms"}) {
    EXPECT_TRUE(DecidesWhatIsKept(name)) << name;
    auto copied = CopiedConfigs();
    EXPECT_NE(std::find(copied.begin(), copied.end(), std::string_view(name)), copied.end())
        << name;
  }
  EXPECT_FALSE(DecidesWhatIsKept("segment.bytes"));
}

}  // namespace
}  // namespace lifeline::mirror
