#!/usr/bin/env bash
# The long crash soak: the engine killed with SIGKILL hundreds of times at random moments while a
# workload writes, then the replay check. Not part of the default suite (it runs for a long time).
#   KILLS=300 CHANGES=1000000 SEED=123 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
args=(-Dferry.kills="${KILLS:-300}" -Dferry.changes="${CHANGES:-1000000}")
if [ -n "${SEED:-}" ]; then
  args+=(-Dferry.seed="$SEED")
fi
./mvnw -B verify -pl ferry-cli -am -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test='CrashRecoveryIT#survivesRepeatedSigkillWithoutLosingOrDuplicatingAChange' "${args[@]}"
grep -h "CrashRecoveryIT" ferry-cli/target/failsafe-reports/*-output.txt || true
