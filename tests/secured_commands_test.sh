#!/usr/bin/env bash
# Every lifeline command against two secured clusters (SASL_SSL, ACLs on,
# scripts/kafka up --secure), as the admin principal through --config /
# --source-config / --target-config / --into-config, a Java client.properties,
# the misconfigurations that must each get their own cause and fix (exit 3),
# least privilege as reader and publisher, the secured-rollback drill's access
# step (item 2 with the ACLs, 0 with a reader that may write), and no password
# anywhere in what the commands printed or wrote.
#   tests/secured_commands_test.sh LIFELINE_BINARY
# The clusters: $LIFELINE_SECURE_SOURCE and $LIFELINE_SECURE_TARGET (names of
# scripts/kafka clusters, started by scripts/test), and the plaintext
# $LIFELINE_SOURCE_BOOTSTRAP for the wrong-listener checks.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
L=$(realpath "${1:?usage: $0 LIFELINE_BINARY}")
K=${LIFELINE_KAFKA_SCRIPT:-$root/scripts/kafka}
SRC=${LIFELINE_SECURE_SOURCE:-}
DST=${LIFELINE_SECURE_TARGET:-}
PLAIN=${LIFELINE_SOURCE_BOOTSTRAP:-}
if [[ -z $SRC || -z $DST || -z $PLAIN ]]; then
  echo "FAIL: set LIFELINE_SECURE_SOURCE and LIFELINE_SECURE_TARGET (secure clusters) and" \
    "LIFELINE_SOURCE_BOOTSTRAP (a plaintext one); scripts/test starts them, or by hand:" \
    "scripts/kafka up --secure secsource sectarget && scripts/kafka up source" >&2
  exit 1
fi
clusters=$("$K" status)
for name in "$SRC" "$DST"; do
  if ! grep -Eq "^$name +[0-9]+ +running " <<<"$clusters"; then
    echo "FAIL: secure cluster $name is not running; start it: scripts/kafka up --secure $name" >&2
    printf '%s\n' "$clusters" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
out=$work/printed.log # everything the commands printed, for the secrets check
failures=0
pass() { printf 'ok   %s\n' "$*"; }
fail() {
  printf 'FAIL %s\n' "$*"
  failures=$((failures + 1))
}
# run DESCRIPTION WANT_RC PATTERN -- ARGS...: runs lifeline ARGS; its exit
# code must be WANT_RC and its output (stdout and stderr) match PATTERN, and
# it must end within $limit seconds (a hang detector, not a speed claim).
limit=900
run() {
  local what=$1 want=$2 pattern=$3 got text
  shift 4
  set +e
  text=$(timeout --kill-after=10 "$limit" "$L" "$@" 2>&1)
  got=$?
  set -e
  printf '%s\n' "$text" >>"$out"
  if [[ $got -eq 124 || $got -eq 137 ]]; then
    fail "$what: still running after $limit s: $(grep -v '^%' <<<"$text" | tail -n 3)"
  elif [[ $got -ne $want ]]; then
    fail "$what: exit $got, wanted $want: $(grep -v '^%' <<<"$text" | tail -n 3)"
  elif ! grep -Eq -- "$pattern" <<<"$text"; then
    fail "$what: wanted /$pattern/ in: $(grep -v '^%' <<<"$text" | tail -n 3)"
  else
    pass "$what"
  fi
}

A=$("$K" client-config "$SRC" admin)
B=$("$K" client-config "$DST" admin)
SRC_BOOT=$("$K" bootstrap "$SRC")
DST_BOOT=$("$K" bootstrap "$DST")
T=prompt.lifecycle.sec$$ # a topic of this run's own

# --- every command, as admin -------------------------------------------------
run "generate" 0 "generated [0-9]+ records" -- \
  generate --config "$A" --topic "$T" --prompts 8 --versions 3 --seed 5 \
  --malformed-rate 0.03 --manifest manifest.json
run "scan with the manifest" 0 "rejected as expected, 0 mismatch" -- \
  scan --config "$A" --topic "$T" --expect-manifest manifest.json
run "scan with a Java client.properties (JAAS, PEM truststore)" 0 "read in" -- \
  scan --config "$("$K" client-config "$SRC" admin --java)" -X sasl.mechanism=PLAIN --topic "$T"
run "mirror (at-least-once)" 0 "mirror sec: [0-9]+ records" -- \
  mirror --source-config "$A" --target-config "$B" --topics "$T" --name sec --create-topics
run "verify records" 0 "^PASS" -- \
  verify records --source-config "$A" --target-config "$B" --topics "$T" --name sec \
  --evidence verify.json
# --reader auto takes lifeline's own Fetch reader over TLS + SASL too.
readers=$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["reader"]; print(r["source"], r["target"])' verify.json 2>&1) || true
if [[ $readers == "raw raw" ]]; then pass "verify records read both secured sides with the raw reader"; else fail "verify records readers: $readers, wanted raw raw"; fi
run "verify records --reader librdkafka on the secured pair" 0 "reader: librdkafka" -- \
  verify records --source-config "$A" --target-config "$B" --topics "$T" --name sec \
  --reader librdkafka
run "verify records against stored evidence, one cluster" 0 "PASS" -- \
  verify records --target-config "$B" --topics "$T" --against verify.json
run "offsets translate" 0 "$T \[0\] 2 -> 2" -- \
  offsets translate --name sec --target-config "$B" --topic "$T" --partition 0 --offset 2
"$K" tool "$SRC" groups --group sec-readers --topic "$T" --reset-offsets --to-offset 1 \
  --execute >/dev/null 2>&1 || fail "admin sets a group's offsets on $SRC"
run "groups sync" 0 "sec-readers" -- \
  groups sync --source-config "$A" --target-config "$B" --name sec --group sec-readers
run "verify groups" 0 "PASS" -- \
  verify groups --source-config "$A" --target-config "$B" --name sec --groups sec-readers
run "replay into a file" 0 "state hash [0-9a-f]{32}" -- \
  replay --config "$A" --topic "$T" --into sandbox.db
run "replay into a kafka:// sandbox on the other secured cluster (--into-config)" 0 \
  "sandbox topic: [0-9]+ valid event" -- \
  replay --config "$A" --into-config "$B" --topic "$T" --into "kafka://$DST_BOOT/$T.sandbox"
run "state hash" 0 "[0-9a-f]{32}" -- state hash sandbox.db
prompt=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select prompt_id from prompts order by 1 limit 1").fetchone()[0])' sandbox.db) ||
  fail "sandbox.db has no prompt"
run "audit with the live groups (--source, --config)" 0 "sec-readers" -- \
  audit sandbox.db --prompt "$prompt" --source "$SRC_BOOT" --config "$A" --groups sec-readers
run "mirror --exactly-once" 0 "mirror sec-eos: [0-9]+ records" -- \
  mirror --source-config "$A" --target-config "$B" --topics "$T" --name sec-eos \
  --exactly-once --create-topics
run "mirror --reverse (failback, nothing born on the target)" 0 "" -- \
  mirror --source-config "$A" --target-config "$B" --topics "$T" --name sec --reverse
run "drill on the secured pair (migration, cutover, failback)" 0 "readiness score" -- \
  drill "$root/drills/migration-rehearsal.yaml" --source "$SRC_BOOT" --target "$DST_BOOT" \
  --source-config "$A" --target-config "$B" --out drill-out

# --- misconfigurations: their own cause and fix, exit 3 ---------------------
# Each within the usual bound of a request (about 10 s, docs/security.md):
# a minute here means it hung.
limit=60
run "a wrong password names the user and the settings" 3 \
  "refused the SASL login of user 'admin'.*check sasl.username and sasl.password" -- \
  scan --config "$A" -X sasl.password=not-the-password --topic "$T"
run "SCRAM with this librdkafka names its bug and the way around it" 3 \
  "librdkafka#4895.*sasl.mechanism=PLAIN" -- \
  scan --config "$A" -X sasl.mechanism=SCRAM-SHA-512 --topic "$T"
run "a wrong CA names ssl.ca.location" 3 \
  "could not be verified against ssl.ca.location=.*set ssl.ca.location to the CA" -- \
  scan --config "$A" -X "ssl.ca.location=$(dirname "$(dirname "$B")")/tls/ca.pem" --topic "$T"
run "plaintext against the TLS listener" 3 \
  "closed the connection at the first request.*set security.protocol=SSL or SASL_SSL" -- \
  scan -b "$SRC_BOOT" --topic "$T"
run "TLS against a plaintext listener" 3 \
  "did not answer the TLS handshake.*plaintext listener" -- \
  scan --config "$A" -b "$PLAIN" --topic "$T"
run "SASL against a plaintext listener" 3 "does not take SASL on this listener" -- \
  scan --config "$A" -X security.protocol=SASL_PLAINTEXT -b "$PLAIN" --topic "$T"
run "an unsupported JAAS login module is a usage error naming the supported ones" 2 \
  "OAuthBearerLoginModule is not supported.*ScramLoginModule.*PlainLoginModule" -- \
  scan -b "$SRC_BOOT" -X 'sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;' \
  --topic "$T"
limit=900

# --- least privilege: exactly the ACLs docs/security.md lists ---------------
acl() { "$K" acl "$SRC" "$@" --force >/dev/null 2>&1 || fail "kafka-acls $*"; }
dacl() { "$K" acl "$DST" "$@" --force >/dev/null 2>&1 || fail "kafka-acls $DST $*"; }
R=$("$K" client-config "$SRC" reader)
P=$("$K" client-config "$SRC" publisher)
reader_group=(--resource-pattern-type prefixed --group _lifeline.reader.)
acl --add --allow-principal User:reader --operation Read --topic "$T"
acl --add --allow-principal User:publisher --operation Write --topic "$T"
run "scan as reader: Read on the topic (lifeline's own reader uses no group)" 0 "read in" -- \
  scan --config "$R" --topic "$T"
run "replay as reader, the same ACL" 0 "state hash [0-9a-f]{32}" -- \
  replay --config "$R" --topic "$T" --into reader.db
# A kafka:// sandbox on the other cluster, written by its publisher: Create
# and Write on the sandbox topic and its quarantine, Write on the
# transactional id of its one transaction.
PD=$("$K" client-config "$DST" publisher)
S=$T.lp-sandbox
sandbox_writer=(--allow-principal User:publisher --operation Create --operation Write)
dacl --add "${sandbox_writer[@]}" --topic "$S" --topic "$S.quarantine"
dacl --add --allow-principal User:publisher --operation Write --transactional-id "lifeline-replay-$S"
run "replay into kafka:// as reader (source) and publisher (sandbox), exactly those ACLs" 0 \
  "sandbox topic: [0-9]+ valid event" -- \
  replay --config "$R" --into-config "$PD" --topic "$T" --into "kafka://$DST_BOOT/$S"
dacl --add "${sandbox_writer[@]}" --topic "$S.2" --topic "$S.2.quarantine"
run "replay into kafka:// without Write on its transactional id names it" 3 \
  "User:publisher is not allowed to Write transactional-id lifeline-replay-$S.2" -- \
  replay --config "$R" --into-config "$PD" --topic "$T" --into "kafka://$DST_BOOT/$S.2"
for t in "$S" "$S.quarantine" "$S.2" "$S.2.quarantine"; do dacl --remove --topic "$t"; done
dacl --remove --transactional-id "lifeline-replay-$S"
run "generate as publisher into an existing topic: Write on it" 0 "generated [0-9]+ records" -- \
  generate --config "$P" --topic "$T" --prompts 2 --versions 2 --seed 9
run "reader may not publish (generate is refused Write)" 3 \
  "User:reader is not allowed to Write topic $T" -- \
  generate --config "$R" --topic "$T" --prompts 1 --versions 1 --seed 9
# A setting lifeline's own reader does not speak (a Kerberos one, harmless
# here) sends the read to librdkafka's consumer, whose group of its own
# needs Describe.
kerberos=(-X sasl.kerberos.service.name=kafka)
run "scan through librdkafka's reader without Describe on its group names the group prefix" 3 \
  "User:reader is not allowed to Describe group _lifeline.reader.*--resource-pattern-type prefixed --group '_lifeline.reader.'" -- \
  scan --config "$R" "${kerberos[@]}" --topic "$T"
acl --add --allow-principal User:reader --operation Describe "${reader_group[@]}"
run "scan through librdkafka's reader with Describe on _lifeline.reader.*" 0 "read in" -- \
  scan --config "$R" "${kerberos[@]}" --topic "$T"
acl --remove --allow-principal User:reader --operation Read --topic "$T"
run "scan without Read on the topic names Describe (the broker hides the topic)" 3 \
  "User:reader is not allowed to Describe topic $T.*--operation Describe --topic '$T'" -- \
  scan --config "$R" --topic "$T"
acl --add --allow-principal User:reader --operation Describe --topic "$T"
run "scan with Describe but not Read on the topic names Read" 3 \
  "User:reader is not allowed to Read topic $T.*--operation Read --topic '$T'" -- \
  scan --config "$R" --topic "$T"
run "replay with Describe but not Read on the topic names Read" 3 \
  "User:reader is not allowed to Read topic $T.*--operation Read --topic '$T'" -- \
  replay --config "$R" --topic "$T" --into refused.db
if [[ ! -e refused.db ]] && ! compgen -G 'refused.db*' >/dev/null; then
  pass "the refused replay left no sandbox file, whole or partial"
else
  fail "the refused replay left: $(ls refused.db* 2>&1)"
fi
acl --remove --allow-principal User:publisher --operation Write --topic "$T"
run "generate without Write names Describe first (the broker hides the topic)" 3 \
  "User:publisher is not allowed to Describe topic $T" -- \
  generate --config "$P" --topic "$T" --prompts 1 --versions 1 --seed 9
acl --add --allow-principal User:publisher --operation Describe --topic "$T"
run "generate with Describe but not Write names Write" 3 \
  "User:publisher is not allowed to Write topic $T.*--operation Write --topic '$T'" -- \
  generate --config "$P" --topic "$T" --prompts 1 --versions 1 --seed 9
# audit --source as auditor: Describe on each group it is asked about.
U=$("$K" client-config "$SRC" auditor)
run "audit --source without Describe on the group names it" 3 \
  "User:auditor is not allowed to Describe group sec-readers.*--operation Describe --group 'sec-readers'" -- \
  audit sandbox.db --prompt "$prompt" --source "$SRC_BOOT" --config "$U" --groups sec-readers
acl --add --allow-principal User:auditor --operation Describe --group sec-readers
run "audit --source as auditor: Describe on the group" 0 "sec-readers" -- \
  audit sandbox.db --prompt "$prompt" --source "$SRC_BOOT" --config "$U" --groups sec-readers
acl --remove --group sec-readers
# (kafka-acls --remove with a principal but no operation removes nothing:
# these remove every ACL of the resource.)
acl --remove --topic "$T"
acl --remove "${reader_group[@]}"

# --- the access drill step: readers refused, the publisher allowed -----------
# The shipped drill, with the ACLs docs/security.md gives it; then once more
# with a reader that may write, which must fail the step and score 0.
lifecycle=(--resource-pattern-type prefixed --topic prompt.lifecycle.)
acl --add --allow-principal User:publisher --operation Write "${lifecycle[@]}"
acl --add --allow-principal User:reader --allow-principal User:auditor --operation Read "${lifecycle[@]}"
acl --add --allow-principal User:reader --operation Read --resource-pattern-type prefixed --group release-controller.
acl --add --allow-principal User:auditor --operation Read --resource-pattern-type prefixed --group audit.
export LIFELINE_SECURE_SOURCE_BOOTSTRAP=$SRC_BOOT LIFELINE_SECURE_TARGET_BOOTSTRAP=$DST_BOOT \
  LIFELINE_PUBLISHER_CONFIG=$P LIFELINE_READER_CONFIG=$R LIFELINE_AUDITOR_CONFIG=$U
access_row='^\| access controls that separate publishers from readers \|'
run "secured-rollback drill passes on the secured pair" 0 "readiness score 14 / 14" -- \
  drill "$root/drills/secured-rollback.yaml" --source-config "$A" --target-config "$B" \
  --out drill-access
if grep -Eq "$access_row 2 \| as User:reader, User:auditor: a lifecycle event was refused" \
  drill-access/summary.md &&
  [[ $(grep -c '"error": "TOPIC_AUTHORIZATION_FAILED"' <(python3 -m json.tool drill-access/evidence.json)) -eq 2 ]] &&
  [[ $(grep -c 'Group authorization failed (GROUP_AUTHORIZATION_FAILED)' drill-access/evidence.json) -eq 2 ]]; then
  pass "the access item scores 2 from evidence: two refused writes, two refused commits"
else
  fail "access item: $(grep -E "$access_row" drill-access/summary.md)"
fi
acl --add --allow-principal User:reader --operation Write "${lifecycle[@]}"
run "a reader that may publish fails the access step" 1 \
  "User:reader published a lifecycle event \(partition [0-9]+ offset [0-9]+\): readers can write" -- \
  drill "$root/drills/secured-rollback.yaml" --source-config "$A" --target-config "$B" \
  --out drill-access-open
if grep -Eq "$access_row 0 \| a read-only principal published" drill-access-open/summary.md; then
  pass "a reader that may publish scores the access item 0"
else
  fail "access item with a writing reader: $(grep -E "$access_row" drill-access-open/summary.md)"
fi
acl --remove "${lifecycle[@]}"
acl --remove --resource-pattern-type prefixed --group release-controller.
acl --remove --resource-pattern-type prefixed --group audit.
leftover=$("$K" acl "$SRC" --list 2>&1; "$K" acl "$DST" --list 2>&1) || fail "kafka-acls --list"
[[ -z $leftover ]] && pass "every ACL this test granted is removed" ||
  fail "ACLs left behind: $leftover"

# --- least privilege: the mirror principal ----------------------------------
# User:mirror with exactly the ACLs docs/security.md lists runs both delivery
# modes, verify, groups sync, verify groups, offsets translate and failback;
# then single ACLs are taken away and the refusal must name each.
MS=$("$K" client-config "$SRC" mirror)
MT=$("$K" client-config "$DST" mirror)
TA=prompt.mirror.alo$$ # at-least-once mirror lpa$$
TE=prompt.mirror.eos$$ # exactly-once mirror lpe$$
TC=prompt.mirror.cfg$$ # a topic whose configs the mirror may not read
G=lp-readers$$
for t in "$TA" "$TE" "$TC"; do
  "$L" generate --config "$A" --topic "$t" --prompts 3 --versions 2 --seed 6 >>"$out" 2>&1 ||
    fail "generate $t as admin"
done
sacl() { "$K" acl "$SRC" "$@" --force >/dev/null 2>&1 || fail "kafka-acls $SRC $*"; }
tacl() { "$K" acl "$DST" "$@" --force >/dev/null 2>&1 || fail "kafka-acls $DST $*"; }
m=(--allow-principal User:mirror)
readers=(--resource-pattern-type prefixed --group _lifeline.reader.)
# source: read the topics and their configs, the mirror's group, assign-only
# readers; failback writes the topic and keeps its map there.
sacl --add "${m[@]}" --operation Read --operation DescribeConfigs --topic "$TA" --topic "$TE"
sacl --add "${m[@]}" --operation Read --topic "$TC"
sacl --add "${m[@]}" --operation Read --group _lifeline.mirror.lpa$$ --group _lifeline.mirror.lpe$$
sacl --add "${m[@]}" --operation Describe "${readers[@]}"
sacl --add "${m[@]}" --operation Describe --group "$G"
sacl --add "${m[@]}" --operation Write --topic "$TA"
sacl --add "${m[@]}" --operation Create --operation Read --operation Write --topic _lifeline.offset-map
# The failback's map writers (one transactional id per partition).
writers_rev=(--resource-pattern-type prefixed --transactional-id "lifeline-mirror-lpa$$.reverse/")
sacl --add "${m[@]}" --operation Write "${writers_rev[@]}"
# target: create, write and read the topics, the offset map, readers; the
# mirrors' map writers (transactional ids lifeline-mirror-NAME/TOPIC/P), the
# exactly-once progress group; the moved group.
writers_a=(--resource-pattern-type prefixed --transactional-id "lifeline-mirror-lpa$$/")
writers_e=(--resource-pattern-type prefixed --transactional-id "lifeline-mirror-lpe$$/")
tacl --add "${m[@]}" --operation Create --operation Write --operation Read --topic "$TA" --topic "$TE"
tacl --add "${m[@]}" --operation DescribeConfigs --topic "$TA" --topic "$TE"
tacl --add "${m[@]}" --operation Create --operation Read --operation Write --topic _lifeline.offset-map
tacl --add "${m[@]}" --operation Describe "${readers[@]}"
tacl --add "${m[@]}" --operation Write "${writers_a[@]}"
tacl --add "${m[@]}" --operation Write "${writers_e[@]}"
tacl --add "${m[@]}" --operation Read --group _lifeline.mirror.lpe$$ --group "$G"
# Mirror lpa$$ also carries a topic User:mirror may see on neither side
# (admin mirrors it): what User:mirror runs under that name must ask only
# about its own topics and the group's partitions.
TX=prompt.mirror.hidden$$
"$L" generate --config "$A" --topic "$TX" --prompts 1 --versions 1 --seed 6 >>"$out" 2>&1 ||
  fail "generate $TX as admin"
run "admin mirrors a topic of lpa$$ that User:mirror may not see" 0 "mirror lpa$$: [0-9]+ records" -- \
  mirror --source-config "$A" --target-config "$B" --topics "$TX" --name lpa$$ --create-topics
run "mirror as User:mirror (at-least-once, --create-topics)" 0 "mirror lpa$$: [0-9]+ records" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$ --create-topics
run "mirror as User:mirror (--exactly-once, --create-topics)" 0 "mirror lpe$$: [0-9]+ records" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TE" --name lpe$$ --create-topics \
  --exactly-once
run "verify records as User:mirror (at-least-once)" 0 "^PASS" -- \
  verify records --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$
run "verify records as User:mirror (exactly-once)" 0 "^PASS" -- \
  verify records --source-config "$MS" --target-config "$MT" --topics "$TE" --name lpe$$
"$K" tool "$SRC" groups --group "$G" --topic "$TA" --reset-offsets --to-offset 1 --execute \
  >/dev/null 2>&1 || fail "admin sets $G's offsets on $SRC"
run "groups sync as User:mirror" 0 "$G" -- \
  groups sync --source-config "$MS" --target-config "$MT" --name lpa$$ --group "$G"
run "verify groups as User:mirror" 0 "^PASS" -- \
  verify groups --source-config "$MS" --target-config "$MT" --name lpa$$ --groups "$G"
run "offsets translate as User:mirror" 0 "$TA \[0\] 1 -> 1" -- \
  offsets translate --name lpa$$ --target-config "$MT" --topic "$TA" --partition 0 --offset 1
tacl --remove "${m[@]}" --operation Read --topic "$TA"
run "verify records without Read on the target topic names it" 3 \
  "User:mirror is not allowed to Read topic $TA" -- \
  verify records --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$
tacl --add "${m[@]}" --operation Read --topic "$TA"
sacl --remove "${m[@]}" --operation Describe --group "$G"
run "verify groups without Describe on the source group names it" 3 \
  "User:mirror is not allowed to Describe group $G" -- \
  verify groups --source-config "$MS" --target-config "$MT" --name lpa$$ --groups "$G"
sacl --add "${m[@]}" --operation Describe --group "$G"
tacl --remove "${m[@]}" --operation Read --topic _lifeline.offset-map
run "offsets translate without Read on the offset map names it" 3 \
  "User:mirror is not allowed to Read topic _lifeline.offset-map" -- \
  offsets translate --name lpa$$ --target-config "$MT" --topic "$TA" --partition 0 --offset 1
tacl --add "${m[@]}" --operation Read --topic _lifeline.offset-map
# One ACL away at a time: exit 3 naming it. New records give the mirrors work.
for t in "$TA" "$TE"; do
  "$L" generate --config "$A" --topic "$t" --prompts 1 --versions 1 --seed 9 >>"$out" 2>&1 ||
    fail "more records on $t"
done
sacl --remove "${m[@]}" --operation Read --group _lifeline.mirror.lpa$$
run "mirror without Read on its group names it" 3 \
  "User:mirror is not allowed to Read group _lifeline.mirror.lpa$$" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$
sacl --add "${m[@]}" --operation Read --group _lifeline.mirror.lpa$$
tacl --remove "${m[@]}" --operation Write --topic "$TA"
run "mirror without Write on the target topic names it" 3 \
  "User:mirror is not allowed to Write topic $TA" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$
tacl --add "${m[@]}" --operation Write --topic "$TA"
run "the mirror resumes once Write is back, and nothing is lost" 0 "mirror lpa$$: [1-9][0-9]* records" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$
run "verify records after the refusals: nothing lost" 0 "^PASS" -- \
  verify records --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$
tacl --remove "${m[@]}" --operation Write "${writers_e[@]}"
run "exactly-once without Write on its partitions' transactional ids names one" 3 \
  "User:mirror is not allowed to Write transactional-id lifeline-mirror-lpe$$/$TE/[0-9]+" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TE" --name lpe$$ --exactly-once
tacl --add "${m[@]}" --operation Write "${writers_e[@]}"
tacl --remove "${m[@]}" --operation Write --topic "$TE"
run "exactly-once without Write on the target topic says the transaction was refused it" 3 \
  "the transaction failed: .*Topic authorization failed" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TE" --name lpe$$ --exactly-once
tacl --add "${m[@]}" --operation Write --topic "$TE"
run "exactly-once resumes once Write is back" 0 "mirror lpe$$: [1-9][0-9]* records" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TE" --name lpe$$ --exactly-once
run "verify exactly-once after the refusals: nothing lost, nothing twice" 0 "^PASS" -- \
  verify records --source-config "$MS" --target-config "$MT" --topics "$TE" --name lpe$$
run "a topic whose configs cannot be read is not created with the broker's defaults" 3 \
  "User:mirror is not allowed to DescribeConfigs topic $TC" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TC" --name lpc$$ --create-topics
tacl --remove "${m[@]}" --operation Read --group "$G"
run "groups sync without Read on the target group names it" 3 \
  "User:mirror is not allowed to (Describe|Read) group $G" -- \
  groups sync --source-config "$MS" --target-config "$MT" --name lpa$$ --group "$G"
"$L" generate --config "$B" --topic "$TA" --prompts 1 --versions 1 --seed 8 >>"$out" 2>&1 ||
  fail "records born on the target"
sacl --remove "${m[@]}" --operation Write --topic "$TA"
run "failback without Write on the source topic names it" 3 \
  "User:mirror is not allowed to Write topic $TA" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$ --reverse
sacl --add "${m[@]}" --operation Write --topic "$TA"
run "failback as User:mirror (mirror --reverse)" 0 "mirror lpa$$.reverse: [1-9][0-9]* records" -- \
  mirror --source-config "$MS" --target-config "$MT" --topics "$TA" --name lpa$$ --reverse
run "verify the failback as User:mirror" 0 "^PASS" -- \
  verify records --source-config "$MT" --target-config "$MS" --topics "$TA" --name lpa$$.reverse
for t in "$TA" "$TE" "$TC"; do
  sacl --remove --topic "$t"
  tacl --remove --topic "$t"
done
sacl --remove --group _lifeline.mirror.lpa$$
sacl --remove --group _lifeline.mirror.lpe$$
sacl --remove "${writers_rev[@]}"
sacl --remove --group "$G"
sacl --remove "${readers[@]}"
sacl --remove --topic _lifeline.offset-map
tacl --remove --topic _lifeline.offset-map
tacl --remove "${readers[@]}"
tacl --remove "${writers_a[@]}"
tacl --remove "${writers_e[@]}"
tacl --remove --group _lifeline.mirror.lpe$$
tacl --remove --group "$G"
leftover=$("$K" acl "$SRC" --list 2>&1; "$K" acl "$DST" --list 2>&1) || fail "kafka-acls --list"
[[ -z $leftover ]] && pass "every mirror ACL this test granted is removed" ||
  fail "mirror ACLs left behind: $leftover"

# --- secrets: none in anything printed or written ---------------------------
leaks=0
state=${LIFELINE_KAFKA_STATE:-$HOME/.cache/lifeline/clusters}
while IFS='=' read -r user password; do
  [[ -n $password ]] || continue
  if grep -rlF -- "$password" "$work" >/dev/null 2>&1; then
    fail "the password of $user appears in: $(grep -rlF -- "$password" "$work" | sed "s|$work/||" | tr '\n' ' ')"
    leaks=$((leaks + 1))
  fi
done < <(cat "$state/$SRC/secrets/passwords" "$state/$DST/secrets/passwords")
files=$(find "$work" -type f | wc -l)
[[ $leaks -eq 0 ]] && pass "no password in the $files files printed or written (every user of both clusters)"

"$K" tool "$SRC" topics --delete --topic "$T" >/dev/null 2>&1 || true
for t in "$T" "$S" "$S.quarantine" "$S.2" "$S.2.quarantine"; do
  "$K" tool "$DST" topics --delete --topic "$t" >/dev/null 2>&1 || true
done
if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
