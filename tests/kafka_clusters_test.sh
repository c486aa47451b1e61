#!/usr/bin/env bash
# Checks scripts/kafka's secure and multi-broker clusters against real Kafka:
#   tests/kafka_clusters_test.sh [secure] [brokers] [secure-brokers]
# (default: secure brokers). Each part starts a cluster of its own (names
# below, never source/target), checks it and takes it down, also on failure.
# Needs the Kafka jars (scripts/setup kafka), kcat, openssl, Java 17. ctest
# runs `secure brokers` as KafkaClusters.SecureAndThreeBrokers (labels kafka,
# secure, multi-broker); each part starts one to three JVMs for about a minute.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K=$root/scripts/kafka
SECURE_NAME=${LIFELINE_TEST_SECURE_NAME:-sec1}
MULTI_NAME=${LIFELINE_TEST_MULTI_NAME:-tri}
BOTH_NAME=${LIFELINE_TEST_BOTH_NAME:-sectri}
TOPIC=prompt.lifecycle

failures=0
started=()
pass() { printf 'ok   %s\n' "$*"; }
fail() {
  printf 'FAIL %s\n' "$*"
  failures=$((failures + 1))
}
# expect DESCRIPTION PATTERN COMMAND...: the command's output (stdout and
# stderr) must match the extended regex PATTERN.
expect() {
  local what=$1 pattern=$2 out
  shift 2
  out=$("$@" 2>&1) || true
  if grep -Eq -- "$pattern" <<<"$out"; then pass "$what"; else fail "$what: wanted /$pattern/, got: $(tail -n 3 <<<"$out")"; fi
}
cleanup() {
  local n
  for n in "${started[@]+"${started[@]}"}"; do "$K" down "$n" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# Grants publisher Write and reader Read on TOPIC of cluster NAME, then checks
# who may do what.
check_acls() {
  local name=$1 pub rd bad
  "$K" tool "$name" topics --create --topic "$TOPIC" --partitions 2 >/dev/null 2>&1 ||
    fail "$name: admin creates $TOPIC"
  "$K" acl "$name" --add --allow-principal User:publisher --operation Write --operation Describe --topic "$TOPIC" >/dev/null
  "$K" acl "$name" --add --allow-principal User:reader --operation Read --operation Describe --topic "$TOPIC" >/dev/null
  pub=$("$K" client-config "$name" publisher)
  rd=$("$K" client-config "$name" reader)
  [[ $(stat -c %a "$pub") == 600 ]] && pass "$name: client files are mode 600" || fail "$name: $pub is not mode 600"
  expect "$name: publisher produces after the ACL grant" '^produced$' \
    bash -c "printf 'e1\ne2\ne3\n' | kcat -F '$pub' -P -t $TOPIC -X acks=all >/dev/null 2>&1 && echo produced"
  expect "$name: reader without Write is refused" 'Topic authorization failed' \
    bash -c "printf 'x\n' | kcat -F '$rd' -P -t $TOPIC"
  expect "$name: reader reads the three events" '^3$' \
    bash -c "kcat -F '$rd' -C -t $TOPIC -o beginning -e -q 2>/dev/null | wc -l"
  expect "$name: mirror, with no ACL, cannot read" 'Topic authorization failed' \
    kcat -F "$("$K" client-config "$name" mirror)" -C -t "$TOPIC" -o beginning -e
  bad=$(mktemp)
  sed 's/^sasl.password=.*/sasl.password=wrong/' "$pub" >"$bad"
  expect "$name: a wrong password is refused" 'Invalid username or password|invalid credentials' \
    kcat -F "$bad" -L -m 3
  rm -f "$bad"
  expect "$name: a client without TLS/SASL gets nothing" 'ERROR|failed|Failed' \
    kcat -b "$("$K" bootstrap "$name")" -L -m 3
  expect "$name: the Java tools authenticate with SCRAM-SHA-512" "^$TOPIC\$" \
    "$K" tool "$name" topics --list
}

part_secure() {
  local name=$SECURE_NAME
  started+=("$name")
  "$K" up --secure "$name" || { fail "$name: up --secure"; return; }
  expect "$name: status knows it is running without flags" "^$name +[0-9]+ +running" "$K" status
  check_acls "$name"
  "$K" stop "$name" >/dev/null
  "$K" start "$name" >/dev/null && pass "$name: start after stop (mode remembered)" || fail "$name: start after stop"
  expect "$name: the events survive the restart" '^3$' \
    bash -c "kcat -F '$("$K" client-config "$name" reader)' -C -t $TOPIC -o beginning -e -q 2>/dev/null | wc -l"
  "$K" down "$name" >/dev/null
}

# On a 3-broker cluster NAME: RF 3, one broker out, acks=all still works;
# two out, it does not; back in; a leader moved.
check_three() {
  local name=$1 cfg=() b
  if "$K" client-config "$name" admin >/dev/null 2>&1; then
    cfg=(-F "$("$K" client-config "$name" admin)")
  fi
  b=$("$K" bootstrap "$name")
  "$K" tool "$name" topics --create --topic rf3 --partitions 2 >/dev/null 2>&1 || fail "$name: create rf3"
  expect "$name: default replication factor is 3" 'ReplicationFactor: 3' "$K" tool "$name" topics --describe --topic rf3
  "$K" stop "$name" 2 >/dev/null
  expect "$name: broker 2 out, status says degraded" "^$name +[-0-9,]+ +degraded" "$K" status
  expect "$name: broker 2 out, acks=all produce still succeeds" '^produced$' \
    bash -c "printf '1\n2\n3\n' | kcat ${cfg[*]} -b $b -P -t rf3 -X acks=all >/dev/null 2>&1 && echo produced"
  "$K" stop "$name" 3 >/dev/null
  expect "$name: brokers 2 and 3 out, acks=all produce fails (min.insync.replicas=2)" 'NOT_ENOUGH_REPLICAS|Not enough in-sync|Delivery failed|timed out' \
    bash -c "printf 'x\n' | kcat ${cfg[*]} -b $b -P -t rf3 -X acks=all -X message.timeout.ms=8000"
  "$K" start "$name" 2 >/dev/null && "$K" start "$name" 3 >/dev/null &&
    pass "$name: brokers 2 and 3 start again on their data" || fail "$name: start brokers 2, 3"
  expect "$name: the three records are all there" '^3$' \
    bash -c "kcat ${cfg[*]} -b $b -C -t rf3 -o beginning -e -q 2>/dev/null | wc -l"
  expect "$name: leader of rf3-0 moves to broker 3" 'now led by broker 3|already led by broker 3' \
    "$K" leader "$name" rf3 0 3
  expect "$name: kafka-topics agrees" 'Partition: 0[[:space:]]+Leader: 3' "$K" tool "$name" topics --describe --topic rf3
}

part_brokers() {
  local name=$MULTI_NAME
  started+=("$name")
  "$K" up --brokers 3 "$name" || { fail "$name: up --brokers 3"; return; }
  check_three "$name"
  "$K" down "$name" >/dev/null
}

part_secure_brokers() {
  local name=$BOTH_NAME
  started+=("$name")
  "$K" up --secure --brokers 3 "$name" || { fail "$name: up --secure --brokers 3"; return; }
  check_acls "$name"
  check_three "$name"
  "$K" down "$name" >/dev/null
}

parts=("$@")
((${#parts[@]})) || parts=(secure brokers)
for part in "${parts[@]}"; do
  case $part in
    secure) part_secure ;;
    brokers) part_brokers ;;
    secure-brokers) part_secure_brokers ;;
    *)
      echo "unknown part '$part' (secure, brokers, secure-brokers)" >&2
      exit 2
      ;;
  esac
done
if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
