// Drills: run a drill file (docs/drills.md) against real
// consumer groups — on the embedded sandbox or on real clusters — and write
// its reports. A failing step fails the drill; later steps still run and are
// reported.
#pragma once

#include <string>

#include "core/config.h"
#include "core/status.h"
#include "reports/reports.h"

namespace lifeline::drill {

struct DrillOptions {
  std::string file;
  // clusters.source / .target override the drill file's clusters ("" keeps
  // the file's choice); per-side property files and -X [source.|target.]
  // settings as the CLI took them (secrets are redacted in reports, and a
  // background mirror gets the files, not their contents).
  TwoClusterInputs clusters;
  std::string out_dir;  // default reports/NAME-RUNID; refused if not empty
  bool force = false;   // empty a non-empty out_dir first
};

struct DrillOutcome {
  reports::DrillReport report;
  reports::Written written;
};

// Usage errors (exit 2) for invalid drill files; infrastructure errors (3)
// when a cluster cannot be used at all. A drill whose expectations fail
// returns a report with pass == false.
Result<DrillOutcome> RunDrill(const DrillOptions& options);

std::string FormatDrillText(const DrillOutcome& outcome);
std::string FormatDrillJson(const DrillOutcome& outcome);

}  // namespace lifeline::drill
