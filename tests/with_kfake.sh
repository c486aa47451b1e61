#!/usr/bin/env bash
# tests/with_kfake.sh COMMAND...: runs COMMAND with a private kfake broker
# (scripts/kfake, port $LIFELINE_KFAKE_PORT_WITHKFAKE or 15892) exported as
# LIFELINE_KFAKE_BOOTSTRAP, and stops the broker afterwards.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export LIFELINE_KFAKE_PORT_WITHKFAKE=${LIFELINE_KFAKE_PORT_WITHKFAKE:-15892}
trap '"$root/scripts/kfake" down withkfake >/dev/null 2>&1 || true' EXIT
"$root/scripts/kfake" up withkfake
LIFELINE_KFAKE_BOOTSTRAP=$("$root/scripts/kfake" bootstrap withkfake)
export LIFELINE_KFAKE_BOOTSTRAP
"$@"
