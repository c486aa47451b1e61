#!/usr/bin/env bash
# tests/compat_test.sh LIFELINE_BINARY PLATFORM: the compatibility matrix of
# one Kafka-compatible platform against Apache Kafka 4.1.1 (the plaintext
# `source` cluster of scripts/test, $LIFELINE_SOURCE_BOOTSTRAP).
#
# PLATFORM is kafka39 (Apache Kafka 3.9.2, scripts/kafka up --kafka-version)
# or kfake (franz-go's kfake, scripts/kfake). The test starts the platform on
# its own port (15092, 15192: below the ephemeral range, like the others), runs every operation with the platform as source and as
# target, prints one line per cell ("ok", or "FAIL" with the reason), writes
# them as TSV to $LIFELINE_COMPAT_RESULTS if set (scripts/compat renders
# docs/COMPATIBILITY.md from it), stops the platform and exits non-zero if
# any cell failed. A cell passes only on the exit code and output it names:
# a state hash equal to Apache Kafka's, a verify PASS, exact group offsets.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
L=$(realpath "${1:?usage: $0 LIFELINE_BINARY PLATFORM}")
PLATFORM=${2:?usage: $0 LIFELINE_BINARY kafka39|kfake}
K=$root/scripts/kafka
# shellcheck source=lib/compat_cells.sh
. "$root/tests/lib/compat_cells.sh"
compat_require_reference

case $PLATFORM in
  kafka39)
    NAME=compat39
    # shellcheck source=../compat/versions.env
    VERSION=$(. "$root/compat/versions.env" && echo "$KAFKA3_VERSION")
    export LIFELINE_KAFKA_PORT_COMPAT39=${LIFELINE_KAFKA_PORT_COMPAT39:-15092}
    up() { "$K" up --kafka-version "$VERSION" "$NAME"; }
    down() { "$K" down "$NAME"; }
    bootstrap() { "$K" bootstrap "$NAME"; }
    ;;
  kfake)
    NAME=compatkfake
    VERSION=$(sed -n 's:^require github.com/twmb/franz-go/pkg/kfake \(.*\)$:\1:p' "$root/compat/kfake/go.mod")
    export LIFELINE_KFAKE_PORT_COMPATKFAKE=${LIFELINE_KFAKE_PORT_COMPATKFAKE:-15192}
    up() { "$root/scripts/kfake" up "$NAME"; }
    down() { "$root/scripts/kfake" down "$NAME"; }
    bootstrap() { "$root/scripts/kfake" bootstrap "$NAME"; }
    ;;
  *)
    echo "FAIL: unknown platform '$PLATFORM' (known: kafka39, kfake)" >&2
    exit 2
    ;;
esac

compat_begin

hash_of() { sed -n 's/.*state hash \([0-9a-f]\{32\}\).*/\1/p' "$1" | head -n 1; }
# same_hash OPERATION FILE: FILE's state hash is the reference's.
same_hash() {
  local got
  got=$(hash_of "$2")
  if [[ -n $got && $got == "$REF_HASH" ]]; then cell "$1" pass "state hash $got = Apache Kafka 4.1.1's"; else
    cell "$1" fail "state hash '${got:-none}', Apache Kafka 4.1.1 gave $REF_HASH"
  fi
}

t0=$SECONDS
up >up.log 2>&1 || {
  cat up.log
  cell "start $PLATFORM" fail "$(tail -n 1 up.log)"
  exit 1
}
P=$(bootstrap)
cell "start $PLATFORM $VERSION" pass "up at $P in $((SECONDS - t0)) s"

T=compat.$PLATFORM.$$
GEN=(--prompts 30 --versions 4 --seed 7 --partitions 3)

# The reference: the same generated stream on Apache Kafka 4.1.1.
"$L" generate -b "$REF" --topic "$T.ref" "${GEN[@]}" >ref-gen.log 2>&1 || {
  cat ref-gen.log
  exit 1
}
"$L" replay --from "$REF" --topic "$T.ref" --into ref.db >ref-replay.log 2>&1 || {
  cat ref-replay.log
  exit 1
}
REF_HASH=$(hash_of ref-replay.log)

run "generate" 0 "generated [0-9]+ records" gen.log -- generate -b "$P" --topic "$T" "${GEN[@]}"
run "scan" 0 "[0-9]+ (events|records)" scan.log -- scan -b "$P" --topic "$T"
run "replay into SQLite" 0 "state hash [0-9a-f]{32}" replay.log -- \
  replay --from "$P" --topic "$T" --into replay.db
same_hash "replay into SQLite: same state as Apache Kafka" replay.log
run "replay into kafka://" 0 "[0-9]+ valid event\(s\) written" replay-kafka.log -- \
  replay --from "$P" --topic "$T" --into "kafka://$P/$T.sandbox"
run "replay the kafka:// sandbox" 0 "state hash [0-9a-f]{32}" replay-sandbox.log -- \
  replay --from "$P" --topic "$T.sandbox" --into sandbox.db
same_hash "replay into kafka://: same state as Apache Kafka" replay-sandbox.log

# mirror FROM TO LABEL MODE...: copy T (as generated on FROM) to TO, verify
# with both readers, replay the copy.
mirror_cell() {
  local from=$1 to=$2 label=$3 topic=$4 name=$5
  shift 5
  label+=${1:+ $*}
  run "mirror $label" 0 "mirror $name: [0-9]+ records" "mirror-$name.log" -- \
    mirror --source "$from" --target "$to" --topics "${topic//./\\.}" --name "$name" --create-topics "$@"
  for reader in raw librdkafka; do
    run "verify records $label ($reader reader)" 0 "^PASS" "verify-$name-$reader.log" -- \
      verify records --source "$from" --target "$to" --topics "${topic//./\\.}" --name "$name" \
      --reader "$reader"
  done
  run "replay the copy $label" 0 "state hash" "copy-$name.log" -- \
    replay --from "$to" --topic "$topic" --into "copy-$name.db"
  same_hash "replay the copy $label: same state" "copy-$name.log"
}
"$L" generate -b "$REF" --topic "$T.in" "${GEN[@]}" >gen-in.log 2>&1
mirror_cell "$P" "$REF" "$PLATFORM -> Kafka 4.1.1" "$T" "cx-out-alo"
"$L" generate -b "$P" --topic "$T.eos" "${GEN[@]}" >gen-eos.log 2>&1
mirror_cell "$P" "$REF" "$PLATFORM -> Kafka 4.1.1" "$T.eos" "cx-out-eos" --exactly-once
mirror_cell "$REF" "$P" "Kafka 4.1.1 -> $PLATFORM" "$T.in" "cx-in-alo"
"$L" generate -b "$REF" --topic "$T.in.eos" "${GEN[@]}" >gen-in-eos.log 2>&1
mirror_cell "$REF" "$P" "Kafka 4.1.1 -> $PLATFORM" "$T.in.eos" "cx-in-eos" --exactly-once

# groups FROM TO LABEL TOPIC NAME: a group that read 40 records on FROM
# (kcat, committed on close) moved to TO and verified.
groups_cell() {
  local from=$1 to=$2 label=$3 topic=$4 name=$5 group=compat.$PLATFORM.$5.$$
  kcat -b "$from" -G "$group" -X auto.offset.reset=earliest -c 40 -q -f '.' "$topic" >/dev/null 2>&1 ||
    true
  run "groups sync $label" 0 "group $group: moved" "sync-$name.log" -- \
    groups sync --source "$from" --target "$to" --name "$name" --group "$group"
  run "verify groups $label" 0 "^PASS" "vgroups-$name.log" -- \
    verify groups --source "$from" --target "$to" --name "$name" --groups "$group"
}
groups_cell "$P" "$REF" "$PLATFORM -> Kafka 4.1.1" "$T" cx-out-alo
groups_cell "$REF" "$P" "Kafka 4.1.1 -> $PLATFORM" "$T.in" cx-in-alo

# The shipped drills: the rollback drill with the platform as its source
# cluster, the migration rehearsal (cutover and failback) both ways.
run "drill n-n1-rollback on $PLATFORM" 0 "drill n-n1-rollback: PASS" drill-rollback.log -- \
  drill "$root/drills/n-n1-rollback.yaml" --source "$P" --target "$REF" --out drill-rollback
run "drill migration-rehearsal Kafka 4.1.1 -> $PLATFORM" 0 "drill migration-rehearsal: PASS" \
  drill-in.log -- drill "$root/drills/migration-rehearsal.yaml" --source "$REF" --target "$P" \
  --out drill-in
run "drill migration-rehearsal $PLATFORM -> Kafka 4.1.1" 0 "drill migration-rehearsal: PASS" \
  drill-out.log -- drill "$root/drills/migration-rehearsal.yaml" --source "$P" --target "$REF" \
  --out drill-out

echo "$PLATFORM: $failures failed cell(s) in $((SECONDS - t0)) s"
((failures == 0))
