# tests/lib/compat_cells.sh: the cells of the compatibility matrix, shared by
# tests/compat_test.sh, tests/deviations_test.sh and tests/tansu_test.sh.
# Source it, set PLATFORM and define `down` (stops the platform), then call
# compat_begin. Rows go to $LIFELINE_COMPAT_RESULTS as TSV when it is set
# (scripts/compat renders them): PLATFORM, operation, result, detail.
# Results: pass, refused (exit 3 with the deviation named: what a platform
# that deviates must do) or fail.

# The reference cluster (plaintext Apache Kafka 4.1.1) into REF, or exit 1
# saying how to start it.
compat_require_reference() {
  REF=${LIFELINE_SOURCE_BOOTSTRAP:-}
  if [[ -z $REF ]]; then
    echo "FAIL: set LIFELINE_SOURCE_BOOTSTRAP (a plaintext Apache Kafka 4.1.1 cluster);" \
      "scripts/test starts it, or by hand: scripts/kafka up source" >&2
    exit 1
  fi
}

# A work folder (kept when a cell failed), the results file, and the trap
# that stops the platform and copies the results out.
compat_begin() {
  work=$(mktemp -d)
  failures=0
  results=$work/results.tsv
  : >"$results"
  trap compat_end EXIT
  cd "$work"
}

compat_end() {
  down >/dev/null 2>&1 || true
  if [[ -n ${LIFELINE_COMPAT_RESULTS:-} ]]; then cp "$results" "$LIFELINE_COMPAT_RESULTS"; fi
  if ((failures)); then echo "logs kept in $work"; else rm -rf "$work"; fi
}

# cell OPERATION RESULT DETAIL: one matrix cell, printed and kept.
cell() {
  printf '%s\t%s\t%s\t%s\n' "$PLATFORM" "$1" "$2" "$3" >>"$results"
  if [[ $2 == pass || $2 == refused ]]; then printf 'ok   %s: %s: %s\n' "$1" "$2" "$3"; else
    printf 'FAIL %s: %s\n' "$1" "$3"
    failures=$((failures + 1))
  fi
}

# run OPERATION WANT_RC PATTERN OUTFILE -- ARGS...: lifeline ($L) ARGS,
# within 300 s, must exit WANT_RC with output matching PATTERN. A cell that
# wants a non-zero exit is a refusal.
run() {
  local what=$1 want=$2 pattern=$3 file=$4 got
  shift 5
  set +e
  timeout -k 10 300 "$L" "$@" >"$file" 2>&1
  got=$?
  set -e
  if [[ $got -ne $want ]]; then
    cell "$what" fail "exit $got, wanted $want: $(grep -v '^%' "$file" | tail -n 2 | tr '\n\t' '  ')"
  elif ! grep -Eq -- "$pattern" "$file"; then
    cell "$what" fail "wanted /$pattern/ in: $(grep -v '^%' "$file" | tail -n 2 | tr '\n\t' '  ')"
  elif ((want == 0)); then
    cell "$what" pass "$(grep -Eo -- "$pattern" "$file" | head -n 1)"
  else
    cell "$what" refused "exit $got: $(grep -Eo -- "$pattern" "$file" | head -n 1)"
  fi
}
