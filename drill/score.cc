#include "drill/internal/score.h"

#include <fmt/format.h>

#include <charconv>

#include "core/envelope.h"

namespace lifeline::drill {
namespace {

reports::Score SchemaScore(const Facts& f) {
  const int score = f.replayed && f.quarantined == 0 && f.violations == 0 ? 2
                    : !f.events_published                                 ? 0
                                                                          : 1;
  return {"versioned, immutable event schema", score,
          f.replayed ? fmt::format("every event carries schema {} and a versioned ce_type; a "
                                   "replay found {} quarantined event(s) and {} violation(s)",
                                   envelope::kSchemaVersion, f.quarantined, f.violations)
                     : "events are versioned, but no replay checked them"};
}

reports::Score GroupsScore(const Facts& f) {
  const size_t kinds = f.consumer_kinds.size();
  return {"independent consumer groups for release, audit, evaluation, observability",
          kinds == 4 && f.lag_checked ? 2
          : kinds == 0                ? 0
                                      : 1,
          fmt::format("{} of the 4 kinds ran as their own groups ({}){}", kinds,
                      fmt::join(f.consumer_kinds, ", "),
                      f.lag_checked ? "; their committed offsets were checked" : "")};
}

reports::Score RetentionScore(const Facts& f) {
  const char* item = "retention long enough for incident reconstruction";
  if (!f.retention_ms) {
    return {item, 0,
            f.embedded ? "embedded sandbox: no topic configuration to read"
                       : "the topic's retention.ms could not be read"};
  }
  const std::string& text = *f.retention_ms;
  int64_t ms = 0;
  std::from_chars(text.data(), text.data() + text.size(), ms);
  const bool long_enough = ms < 0 || ms >= 30LL * 24 * 3600 * 1000;
  return {item,
          long_enough && f.replayed ? 2
          : long_enough             ? 1
                                    : 0,
          fmt::format("retention.ms={} ({}){}", text,
                      ms < 0 ? "forever" : fmt::format("{:.1f} days", ms / 86400000.0),
                      f.replayed ? "; a replay from the log start rebuilt the registry" : "")};
}

reports::Score RollbackScore(const Facts& f) {
  return {"rollback tested with real consumers",
          f.rollback_confirmed   ? 2
          : f.rollback_published ? 1
                                 : 0,
          f.rollback_confirmed ? "a rollback was processed by every critical consumer, read from "
                                 "committed offsets"
                               : "no rollback was confirmed from committed offsets"};
}

reports::Score LagScore(const Facts& f) {
  const bool split = f.critical_declared && f.analytical_declared;
  return {"lag alerts that tell critical from analytical consumers",
          split && f.lag_checked ? 2
          : f.critical_declared  ? 1
                                 : 0,
          split ? fmt::format("critical and analytical consumers declared; lag {}evaluated "
                              "(critical behind fails, analytical behind warns){}",
                              f.lag_checked ? "" : "not ",
                              f.analytical_behind ? "; an analytical consumer was behind" : "")
                : "no split between critical and analytical consumers"};
}

reports::Score AccessScore(const Facts& f) {
  const char* item = "access controls that separate publishers from readers";
  if (f.reader_wrote) {
    return {item, 0, "a read-only principal published to the lifecycle topic (access step)"};
  }
  if (f.access_proved) {
    return {item, 2,
            fmt::format("as {}: a lifecycle event was refused (TOPIC_AUTHORIZATION_FAILED, end "
                        "offsets unchanged) and so was a commit to another consumer's group "
                        "(GROUP_AUTHORIZATION_FAILED); as {} it was published",
                        fmt::join(f.access_readers, ", "), f.access_publisher)};
  }
  if (f.acl_bindings && *f.acl_bindings > 0) {
    return {item, 1,
            fmt::format("the source cluster holds {} ACL binding(s), but no access step showed "
                        "a reader refused and a publisher allowed",
                        *f.acl_bindings)};
  }
  return {item, 0,
          f.embedded       ? "embedded sandbox: no authorizer"
          : f.acl_bindings ? "the source cluster holds no ACLs"
                           : "the source cluster's ACLs could not be read: " + f.acls_unread};
}

reports::Score MigrationScore(const Facts& f) {
  return {"migration plan that keeps data, client behaviour and consumer progress",
          f.mirrored && f.records_verified && f.synced && f.groups_verified ? 2
          : f.mirrored                                                      ? 1
                                                                            : 0,
          f.mirrored
              ? fmt::format(
                    "mirrored with an exact offset map; records {}; groups {}{}{}",
                    f.records_verified ? "verified" : "not verified",
                    f.synced ? "moved" : "not moved", f.groups_verified ? " and verified" : "",
                    f.cut_over ? (f.failed_back ? "; cut over and failed back" : "; cut over") : "")
              : "no migration rehearsed"};
}

}  // namespace

std::vector<reports::Score> Score(const Facts& f) {
  return {SchemaScore(f), GroupsScore(f), RetentionScore(f), RollbackScore(f),
          LagScore(f),    AccessScore(f), MigrationScore(f)};
}

}  // namespace lifeline::drill
