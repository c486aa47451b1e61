#!/usr/bin/env bash
# tests/tansu_test.sh LIFELINE_BINARY: lifeline against Tansu (scripts/tansu),
# as source and as target of the plaintext Apache Kafka 4.1.1 `source`
# cluster ($LIFELINE_SOURCE_BOOTSTRAP). librdkafka 2.0.2 cannot parse
# Tansu 0.6's ApiVersions reply (librdkafka#4278), so every operation must
# refuse with exit 3 naming that, never hang and never exit 0. Writes TSV
# rows to $LIFELINE_COMPAT_RESULTS if set (scripts/compat). CMake's
# Compat.tansu; scripts/test builds Tansu first (docs/compat.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
L=$(realpath "${1:?usage: $0 LIFELINE_BINARY}")
# shellcheck source=lib/compat_cells.sh
. "$root/tests/lib/compat_cells.sh"
compat_require_reference
TS=$root/scripts/tansu
PLATFORM=tansu
VERSION=$(. "$root/compat/versions.env" && echo "$TANSU_VERSION")
export LIFELINE_TANSU_PORT_COMPATTANSU=${LIFELINE_TANSU_PORT_COMPATTANSU:-15292}

down() { "$TS" down compattansu; }
compat_begin

NAMED="answered ApiVersions in a form librdkafka [0-9.]+ cannot parse"
# refused OPERATION OUTFILE -- ARGS...: lifeline ARGS must exit 3 naming it.
refused() {
  local what=$1 file=$2
  shift 3
  run "$what" 3 "$NAMED" "$file" -- "$@"
}

t0=$SECONDS
"$TS" up compattansu >up.log 2>&1 || {
  cat up.log
  cell "start tansu $VERSION" fail "$(tail -n 1 up.log)"
  exit 1
}
P=$("$TS" bootstrap compattansu)
cell "start tansu $VERSION" pass "up at $P in $((SECONDS - t0)) s"

T=compat.tansu.$$
"$TS" topic compattansu "$T" 3 >topic.log 2>&1 || {
  cat topic.log
  exit 1
}
"$L" generate -b "$REF" --topic "$T.ref" --prompts 5 --versions 2 >ref-gen.log 2>&1 || {
  cat ref-gen.log
  exit 1
}

refused "generate" gen.log -- generate -b "$P" --topic "$T"
refused "scan" scan.log -- scan -b "$P" --topic "$T"
refused "replay into SQLite" replay.log -- replay --from "$P" --topic "$T" --into replay.db
refused "replay into kafka://" replay-k.log -- \
  replay --from "$REF" --topic "$T.ref" --into "kafka://$P/$T.sandbox"
refused "mirror Kafka 4.1.1 -> Tansu" mirror-in.log -- \
  mirror --source "$REF" --target "$P" --topics "${T//./\\.}\.ref" --name "tansu-in-$$" \
  --create-topics
refused "mirror Tansu -> Kafka 4.1.1" mirror-out.log -- \
  mirror --source "$P" --target "$REF" --topics "${T//./\\.}" --name "tansu-out-$$" \
  --create-topics
refused "verify records" verify.log -- \
  verify records --source "$REF" --target "$P" --topics "${T//./\\.}\.ref" --align identity
refused "groups sync Kafka 4.1.1 -> Tansu" groups.log -- \
  groups sync --source "$REF" --target "$P" --name "tansu-in-$$" --group "g-$$"

echo "tansu: $failures failed cell(s) in $((SECONDS - t0)) s"
((failures == 0))
