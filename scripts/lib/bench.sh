# Helpers shared by scripts/bench, scripts/bench-replay and scripts/bench-verify.
# Sourced, not run. The caller sets ROOT (the repository) first, and OUT (its
# report folder) as soon as it knows it: say and die also append to
# $OUT/bench.log.
#
# Numbers travel as text; a value that could not be measured is the word
# "null", which every helper here passes through, so it lands in results.json
# as JSON null. results.json is built by json_obj (python3's json), never by
# printf, so a broken measurement is an error, not a broken file.

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-}

say() {
  local line
  line="bench: $(date +%H:%M:%S) $*"
  printf '%s\n' "$line"
  if [[ -n $OUT ]]; then printf '%s\n' "$line" >>"$OUT/bench.log"; fi
}
die() {
  printf 'bench: error: %s\n' "$*" >&2
  if [[ -n $OUT ]]; then printf 'bench: error: %s\n' "$*" >>"$OUT/bench.log"; fi
  exit 1
}

now() { printf '%s\n' "$EPOCHREALTIME"; }
# Seconds since T0 (a `now` value), 3 decimals.
since() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f\n", a - b }'; }
# a - b with 3 decimals
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a - b }'; }
# a / b with D decimals (default 0); "null" when b is 0 or either is null
div() {
  awk -v a="$1" -v b="$2" -v d="${3:-0}" 'BEGIN {
    if (a == "null" || b == "null" || b + 0 == 0) { print "null"; exit }
    printf "%.*f\n", d, a / b }'
}
# N events in S seconds, per second (no decimals); "null" if unknown
rate() { div "$1" "$2" 0; }
# median of the arguments ("null" ones ignored; "null" if none)
median() {
  printf '%s\n' "$@" | { grep -v -e '^null$' -e '^$' || true; } | sort -g |
    awk '{ a[NR] = $1 } END {
      if (NR == 0) { print "null"; exit }
      if (NR % 2) { print a[(NR + 1) / 2]; exit }
      m = (a[NR / 2] + a[NR / 2 + 1]) / 2
      if (m == int(m)) print m; else printf "%.3f\n", m }'
}
# MB/s from bytes and seconds (1 decimal), "null" if unknown
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s == "null" || s + 0 == 0) print "null"; else printf "%.1f\n", b / s / 1e6 }'; }
# The larger of two numbers.
max2() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }
loadavg() { cut -d ' ' -f 1 /proc/loadavg; }

# One JSON object from PATH=TEXT, PATH:=JSON and PATH@=WORDS arguments
# (scripts/lib/jsonobj.py documents them); --compact first for one line.
json_obj() { python3 "$BENCH_LIB/jsonobj.py" "$@"; }
# A JSON array of JSON values given as arguments (objects from json_obj).
json_array() {
  local IFS=,
  printf '[%s]\n' "$*"
}

# Whether the scripts/kafka cluster NAME is up (its status lists every cluster).
kafka_running() {
  local table
  table=$("$ROOT/scripts/kafka" status 2>/dev/null) || return 1
  awk -v n="$1" '$1 == n && $3 == "running" { found = 1 } END { exit !found }' <<<"$table"
}

# Refuses the test clusters: a bench restarts and fills the clusters it uses.
require_own_cluster() {
  local c
  for c in "$@"; do
    [[ $c != source && $c != target ]] || {
      echo "bench: use clusters of its own, not the test cluster $c" >&2
      exit 2
    }
  done
}

# scripts/setup kafka and scripts/build, logged to $OUT/bench.log.
bench_setup() {
  "$ROOT/scripts/setup" kafka >>"$OUT/bench.log" 2>&1 || die "scripts/setup kafka failed; see $OUT/bench.log"
  "$ROOT/scripts/build" >>"$OUT/bench.log" 2>&1 || die "scripts/build failed; see $OUT/bench.log"
}
