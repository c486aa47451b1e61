// The readiness scorecard on hand-built facts, one test per rule: no Kafka,
// no drill run.
#include <gtest/gtest.h>

#include <string>

#include "drill/internal/score.h"

namespace lifeline::drill {
namespace {

// The row for `item`'s opening words.
reports::Score Row(const Facts& f, const std::string& item) {
  for (const reports::Score& s : Score(f)) {
    if (s.item.rfind(item, 0) == 0) return s;
  }
  ADD_FAILURE() << "no scorecard row " << item;
  return {};
}

TEST(Score, HasSevenRowsInReportOrder) {
  const auto rows = Score(Facts{});
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows[0].item, "versioned, immutable event schema");
  EXPECT_EQ(rows[6].item, "migration plan that keeps data, client behaviour and consumer progress");
}

TEST(Score, SchemaNeedsACleanReplayForFullMarks) {
  Facts f;
  EXPECT_EQ(Row(f, "versioned").score, 0);
  f.events_published = true;
  EXPECT_EQ(Row(f, "versioned").score, 1);
  EXPECT_EQ(Row(f, "versioned").evidence, "events are versioned, but no replay checked them");
  f.replayed = true;
  EXPECT_EQ(Row(f, "versioned").score, 2);
  f.quarantined = 1;
  EXPECT_EQ(Row(f, "versioned").score, 1);
  EXPECT_NE(Row(f, "versioned").evidence.find("1 quarantined event(s) and 0 violation(s)"),
            std::string::npos);
  f.quarantined = 0;
  f.violations = 2;
  EXPECT_EQ(Row(f, "versioned").score, 1);
}

TEST(Score, GroupsNeedAllFourKindsAndCheckedOffsets) {
  Facts f;
  EXPECT_EQ(Row(f, "independent").score, 0);
  f.consumer_kinds = {"audit", "evaluation", "observability", "release-controller"};
  EXPECT_EQ(Row(f, "independent").score, 1);
  f.lag_checked = true;
  EXPECT_EQ(Row(f, "independent").score, 2);
  EXPECT_EQ(Row(f, "independent").evidence,
            "4 of the 4 kinds ran as their own groups (audit, evaluation, observability, "
            "release-controller); their committed offsets were checked");
  f.consumer_kinds.erase("audit");
  EXPECT_EQ(Row(f, "independent").score, 1);
}

TEST(Score, RetentionOfThirtyDaysOrForeverAndAReplayScoresTwo) {
  Facts f;
  EXPECT_EQ(Row(f, "retention").score, 0);
  EXPECT_EQ(Row(f, "retention").evidence, "the topic's retention.ms could not be read");
  f.embedded = true;
  EXPECT_EQ(Row(f, "retention").evidence, "embedded sandbox: no topic configuration to read");
  f.retention_ms = "86400000";  // a day
  f.replayed = true;
  EXPECT_EQ(Row(f, "retention").score, 0);
  EXPECT_NE(Row(f, "retention").evidence.find("(1.0 days)"), std::string::npos);
  f.retention_ms = "2592000000";  // 30 days
  EXPECT_EQ(Row(f, "retention").score, 2);
  f.retention_ms = "-1";
  EXPECT_EQ(Row(f, "retention").score, 2);
  EXPECT_NE(Row(f, "retention").evidence.find("(forever)"), std::string::npos);
  f.replayed = false;
  EXPECT_EQ(Row(f, "retention").score, 1);
}

TEST(Score, RollbackCountsOnlyWhenConfirmedFromCommittedOffsets) {
  Facts f;
  EXPECT_EQ(Row(f, "rollback").score, 0);
  f.rollback_published = true;
  EXPECT_EQ(Row(f, "rollback").score, 1);
  EXPECT_EQ(Row(f, "rollback").evidence, "no rollback was confirmed from committed offsets");
  f.rollback_confirmed = true;
  EXPECT_EQ(Row(f, "rollback").score, 2);
}

TEST(Score, LagNeedsCriticalAndAnalyticalConsumersAndACheck) {
  Facts f;
  EXPECT_EQ(Row(f, "lag alerts").score, 0);
  f.analytical_declared = true;
  EXPECT_EQ(Row(f, "lag alerts").score, 0);
  f.critical_declared = true;
  EXPECT_EQ(Row(f, "lag alerts").score, 1);
  EXPECT_NE(Row(f, "lag alerts").evidence.find("lag not evaluated"), std::string::npos);
  f.lag_checked = true;
  f.analytical_behind = true;
  EXPECT_EQ(Row(f, "lag alerts").score, 2);
  EXPECT_NE(Row(f, "lag alerts").evidence.find("; an analytical consumer was behind"),
            std::string::npos);
  f.analytical_declared = false;
  EXPECT_EQ(Row(f, "lag alerts").score, 1);
  EXPECT_EQ(Row(f, "lag alerts").evidence, "no split between critical and analytical consumers");
}

TEST(Score, AccessIsTwoOnlyFromTheAccessStepsEvidence) {
  Facts f;
  f.acls_unread = "no authorizer (SECURITY_DISABLED)";
  EXPECT_EQ(Row(f, "access").score, 0);
  EXPECT_NE(Row(f, "access").evidence.find("could not be read: no authorizer"), std::string::npos);
  f.acl_bindings = 0;
  EXPECT_EQ(Row(f, "access").score, 0);
  EXPECT_EQ(Row(f, "access").evidence, "the source cluster holds no ACLs");
  // ACLs that exist but were not exercised.
  f.acl_bindings = 12;
  EXPECT_EQ(Row(f, "access").score, 1);
  EXPECT_NE(Row(f, "access").evidence.find("12 ACL binding(s), but no access step"),
            std::string::npos);
  f.access_proved = true;
  f.access_readers = {"User:reader", "User:auditor"};
  f.access_publisher = "User:publisher";
  EXPECT_EQ(Row(f, "access").score, 2);
  EXPECT_NE(Row(f, "access")
                .evidence.find("as User:reader, User:auditor: a lifecycle event was "
                               "refused (TOPIC_AUTHORIZATION_FAILED"),
            std::string::npos);
  EXPECT_NE(Row(f, "access").evidence.find("as User:publisher it was published"),
            std::string::npos);
  // A reader that could write outweighs everything else.
  f.reader_wrote = true;
  EXPECT_EQ(Row(f, "access").score, 0);
  f.embedded = true;
  f.reader_wrote = f.access_proved = false;
  f.acl_bindings.reset();
  EXPECT_EQ(Row(f, "access").evidence, "embedded sandbox: no authorizer");
}

TEST(Score, MigrationNeedsMirrorRecordsGroupsMovedAndVerified) {
  Facts f;
  EXPECT_EQ(Row(f, "migration").score, 0);
  EXPECT_EQ(Row(f, "migration").evidence, "no migration rehearsed");
  f.mirrored = true;
  EXPECT_EQ(Row(f, "migration").score, 1);
  f.records_verified = f.synced = true;
  EXPECT_EQ(Row(f, "migration").score, 1);
  f.groups_verified = true;
  EXPECT_EQ(Row(f, "migration").score, 2);
  f.cut_over = f.failed_back = true;
  EXPECT_EQ(Row(f, "migration").evidence,
            "mirrored with an exact offset map; records verified; groups moved and verified; cut "
            "over and failed back");
}

}  // namespace
}  // namespace lifeline::drill
