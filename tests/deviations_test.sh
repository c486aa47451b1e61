#!/usr/bin/env bash
# tests/deviations_test.sh LIFELINE_BINARY: lifeline against brokers that
# misreport, the way Tansu 0.6 was measured to (issue 14), emulated by
# compat/kfake --deviate on real network brokers:
#
#   list-offsets-end     ListOffsets lists one offset short of the end
#   configs-as-defaults  DescribeConfigs reports every topic config at its default
#   no-end-txn           ApiVersions leaves out EndTxn
#
# Every cell must end in a refusal (exit 3) that names the deviation, or in
# a pass where the deviation does not matter; never exit 0 on incomplete or
# deleted data. Needs the plaintext Apache Kafka 4.1.1 `source` cluster
# ($LIFELINE_SOURCE_BOOTSTRAP) as the honest side. Writes TSV rows to
# $LIFELINE_COMPAT_RESULTS if set (scripts/compat renders them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
L=$(realpath "${1:?usage: $0 LIFELINE_BINARY}")
# shellcheck source=lib/compat_cells.sh
. "$root/tests/lib/compat_cells.sh"
compat_require_reference
KF=$root/scripts/kfake
PLATFORM=deviant
export LIFELINE_KFAKE_PORT_DEVENDS=${LIFELINE_KFAKE_PORT_DEVENDS:-15592}
export LIFELINE_KFAKE_PORT_DEVCONFIGS=${LIFELINE_KFAKE_PORT_DEVCONFIGS:-15692}
export LIFELINE_KFAKE_PORT_DEVNOTXN=${LIFELINE_KFAKE_PORT_DEVNOTXN:-15792}

down() { "$KF" down devends devconfigs devnotxn; }
compat_begin

t0=$SECONDS
"$KF" up --deviate list-offsets-end devends >up.log 2>&1 &&
  "$KF" up --deviate configs-as-defaults devconfigs >>up.log 2>&1 &&
  "$KF" up --deviate no-end-txn devnotxn >>up.log 2>&1 || {
  cat up.log
  cell "start deviant kfake" fail "$(tail -n 1 up.log)"
  exit 1
}
ENDS=$("$KF" bootstrap devends)
CONFIGS=$("$KF" bootstrap devconfigs)
NOTXN=$("$KF" bootstrap devnotxn)
cell "start kfake --deviate list-offsets-end, configs-as-defaults, no-end-txn" pass \
  "up at $ENDS, $CONFIGS, $NOTXN in $((SECONDS - t0)) s"

T=deviant.$$
GEN=(--prompts 30 --versions 4 --seed 7 --partitions 3)
MISREPORT="the broker misreports the end of the log: ListOffsets lists it at offset [0-9]+, but its Fetch answers put it at offset [0-9]+"

# --- ListOffsets one short of the end -------------------------------------
run "generate (list-offsets-end)" 0 "generated [0-9]+ records" gen.log -- \
  generate -b "$ENDS" --topic "$T" "${GEN[@]}"
run "scan (list-offsets-end)" 3 "$MISREPORT" scan.log -- scan -b "$ENDS" --topic "$T"
run "replay into SQLite (list-offsets-end)" 3 "$MISREPORT" replay.log -- \
  replay --from "$ENDS" --topic "$T" --into replay.db
if [[ -e replay.db ]]; then
  cell "replay refused: no sandbox left behind" fail "replay.db exists after a refused replay"
else
  cell "replay refused: no sandbox left behind" pass "no replay.db"
fi
for reader in raw librdkafka; do
  run "verify records ($reader reader, list-offsets-end)" 3 "$MISREPORT" "verify-$reader.log" -- \
    verify records --source "$ENDS" --target "$ENDS" --topics "${T//./\\.}" --align identity \
    --reader "$reader"
done
# The edge: a partition whose one record the listing leaves out reads as an
# empty range, which is never fetched unless probed.
run "generate an empty topic (list-offsets-end)" 0 "generated 0 records" gen-empty.log -- \
  generate -b "$ENDS" --topic "$T.one" --prompts 0 --partitions 3
printf 'only\n' | kcat -P -b "$ENDS" -t "$T.one" -p 1
run "scan a partition holding one record (list-offsets-end)" 3 "$T.one \[1\]: $MISREPORT" \
  scan-one.log -- scan -b "$ENDS" --topic "$T.one"
# As a target: the mirror's end-of-run check holds the listing to the map.
"$L" generate -b "$REF" --topic "$T.src" "${GEN[@]}" >ref-gen.log 2>&1 || {
  cat ref-gen.log
  exit 1
}
run "mirror Kafka 4.1.1 -> list-offsets-end" 3 "misreports the end of (the|its) log" mirror-ends.log -- \
  mirror --source "$REF" --target "$ENDS" --topics "${T//./\\.}\.src" --name "dev-ends-$$" \
  --create-topics

# --- every topic config reported at its default ----------------------------
run "mirror --create-topics Kafka 4.1.1 -> configs-as-defaults" 3 \
  "the target reports retention.ms=604800000 \(wanted -1\)" mirror-configs.log -- \
  mirror --source "$REF" --target "$CONFIGS" --topics "${T//./\\.}\.src" --name "dev-cfg-$$" \
  --create-topics
# As a source: the 7-day default it reports is copied, Kafka deletes the
# 2023-dated copies, and the next run finds them gone (the first may finish
# before the broker's retention pass).
run "generate (configs-as-defaults)" 0 "generated [0-9]+ records" gen-cfg.log -- \
  generate -b "$CONFIGS" --topic "$T.cfg" "${GEN[@]}"
set +e
timeout -k 10 300 "$L" mirror --source "$CONFIGS" --target "$REF" --topics "${T//./\\.}\.cfg" \
  --name "dev-cfg-back-$$" --create-topics >mirror-back-1.log 2>&1
set -e
for _ in $(seq 1 300); do
  low=$(kcat -b "$REF" -Q -t "$T.cfg:0:-2" 2>/dev/null | awk '{print $NF}')
  [[ ${low:-0} -gt 0 ]] && break
  sleep 0.1
done
run "mirror configs-as-defaults -> Kafka 4.1.1, again after retention ran" 3 \
  "the target deleted them" mirror-back-2.log -- \
  mirror --source "$CONFIGS" --target "$REF" --topics "${T//./\\.}\.cfg" \
  --name "dev-cfg-back-$$" --create-topics

# --- no EndTxn -------------------------------------------------------------
run "mirror --exactly-once Kafka 4.1.1 -> no-end-txn" 3 "does not serve EndTxn" mirror-eos.log -- \
  mirror --source "$REF" --target "$NOTXN" --topics "${T//./\\.}\.src" --name "dev-eos-$$" \
  --create-topics --exactly-once
if kcat -b "$NOTXN" -L 2>/dev/null | grep -q "topic \"$T.src\""; then
  cell "exactly-once refused before any work" fail "the target topic was created"
else
  cell "exactly-once refused before any work" pass "no target topic created"
fi
run "mirror at-least-once Kafka 4.1.1 -> no-end-txn" 0 "mirror dev-alo-$$: [0-9]+ records" \
  mirror-alo.log -- mirror --source "$REF" --target "$NOTXN" --topics "${T//./\\.}\.src" \
  --name "dev-alo-$$" --create-topics

echo "deviant: $failures failed cell(s) in $((SECONDS - t0)) s"
((failures == 0))
