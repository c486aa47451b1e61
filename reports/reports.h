// Drill reports: what a drill established, written as JUnit XML (CI),
// Markdown (people), one self-contained HTML page (people, offline), a JSON
// evidence bundle (auditors) and a SHA-256 manifest of every file in the
// report folder.
//
// The model is plain data filled by the drill runner; the writers only
// format it. Nothing here talks to Kafka.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace lifeline::reports {

struct StepResult {
  int index = 0;      // 1-based position in the drill file
  std::string kind;   // deploy, rollback, processed, ...
  std::string title;  // "rollback support-triage to 1.0.0 in global"
  bool passed = true;
  bool warning = false;  // passed, with something to look at (e.g. an analytical consumer lags)
  bool skipped = false;  // not run (a step it depends on failed)
  std::string message;   // what happened, or why it failed
  std::string evidence;  // JSON text with the facts behind the result
  double started = 0;    // seconds since the drill started
  double seconds = 0;
};

// One cell of an acknowledgement matrix: did `consumer` process `event`?
// From the group's committed offset, never from the consumer's own claim.
struct Ack {
  std::string consumer, group, event_id, event_label;
  std::string event_kind;  // rolled_back, deployed, ... (which matrix the cell is in)
  bool critical = false;
  bool external = false;
  int32_t partition = -1;
  int64_t offset = -1;     // the event's offset
  int64_t committed = -1;  // the group's committed offset on that partition (-1: none)
  bool processed = false;  // committed > offset
  int64_t lag = -1;        // high watermark - committed
};

// One item of the readiness scorecard: 0 not designed, 1 partly, 2 tested.
struct Score {
  std::string item;
  int score = 0;
  std::string evidence;
};

// A sample of a group's total committed offset, for the timeline.
struct Sample {
  double t = 0;
  std::string group;
  int64_t committed = 0;  // summed over partitions
};
struct Mark {
  double t = 0;
  std::string label;
};

struct DrillReport {
  std::string name, file, description;
  std::string started_at;  // RFC 3339
  double seconds = 0;
  bool pass = false;
  std::string lifeline_version, librdkafka_version;
  std::map<std::string, std::string> clusters;  // name -> redacted configuration
  std::string topic;
  std::map<std::string, std::string> topic_configs;
  std::vector<StepResult> steps;
  std::vector<Ack> acks;
  std::vector<Score> scores;
  std::map<std::string, std::string> hashes;  // e.g. "source.db state" -> hash
  std::vector<Sample> samples;
  std::vector<Mark> marks;
  std::string extra_evidence;  // JSON object text merged into evidence.json ("facts")
};

struct Written {
  std::string dir;
  std::vector<std::string> files;  // relative names, MANIFEST.sha256 last
};

// Writes junit.xml, summary.md, report.html and evidence.json into `dir`
// (created if missing).
Result<Written> WriteReports(const DrillReport& report, const std::string& dir);

// Writes MANIFEST.sha256 (sha256sum's format, paths relative to `dir`,
// sorted) over every regular file under `dir`, subfolders included: the
// reports and whatever else the run left there. Call it last, once nothing
// writes into `dir` any more. `files` lists what it covers, MANIFEST last.
Result<Written> WriteManifest(const std::string& dir);

// WriteReports, then WriteManifest.
Result<Written> WriteAll(const DrillReport& report, const std::string& dir);

// The individual formats (for tests).
std::string JUnitXml(const DrillReport& report);
std::string SummaryMarkdown(const DrillReport& report);
std::string ReportHtml(const DrillReport& report);
std::string EvidenceJson(const DrillReport& report);

}  // namespace lifeline::reports
