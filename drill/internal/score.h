// The readiness scorecard: a pure function of what the drill recorded, so
// each rule is tested on hand-built facts (tests/drill_score_test.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reports/reports.h"

namespace lifeline::drill {

struct Facts {
  // What the drill file declared and the run set up.
  std::set<std::string> consumer_kinds;  // kinds of the built-in consumers
  bool critical_declared = false, analytical_declared = false;
  bool embedded = false;
  std::optional<std::string> retention_ms;  // the topic's, when it could be read
  // The ACL bindings on the source cluster, or why they could not be read.
  std::optional<int64_t> acl_bindings;
  std::string acls_unread;
  // What the steps did and saw.
  bool events_published = false, rollback_published = false;
  bool replayed = false;
  int64_t quarantined = 0, violations = 0;  // summed over replays
  bool lag_checked = false;
  bool rollback_confirmed = false;  // every critical consumer committed past a rollback
  bool analytical_behind = false;   // a processed step found an analytical consumer late
  bool mirrored = false, records_verified = false, synced = false, groups_verified = false;
  bool cut_over = false, failed_back = false;
  // The access step's evidence: each reader was refused a Write (and wrote
  // nothing) and a commit to a group not its own; the publisher wrote.
  bool access_proved = false;
  bool reader_wrote = false;                // an access step saw a reader's write accepted
  std::vector<std::string> access_readers;  // principals refused, e.g. User:reader
  std::string access_publisher;             // the principal that wrote
};

// One row per readiness item, each scored 0..2 with its evidence.
std::vector<reports::Score> Score(const Facts& facts);

}  // namespace lifeline::drill
