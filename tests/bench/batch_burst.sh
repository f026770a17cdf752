#!/usr/bin/env bash
# Batched transactions: commands/s of one agent working through a burst of
# commands for one engine, produced straight to erpsync.commands, on a real
# single-node Apache Kafka (tests/kafka/kafka.sh) on this machine.
#
#   tests/bench/batch_burst.sh AGENT_BINARY LABEL N [agent settings...]
#
# e.g. tests/bench/batch_burst.sh build/agent/erpsync-agent default 2000
#      tests/bench/batch_burst.sh build/agent/erpsync-agent one 2000 --batch.max=1
# A Kafka of its own is started and stopped (a few seconds), so no run reads
# through another run's commands; BATCH_KAFKA_DIR=DIR reuses one started with
# `kafka.sh start --dir DIR` instead (left running). Each run uses an
# engine of its own; bench_agent_burst (built into build/bench-tools if
# missing) sends 20 warm-up commands (BATCH_WARMUP times, default once:
# the broker is a fresh JVM), then the N, and prints commands/s from
# the first produce to the last answering status. The agent's log (debug)
# goes to the temporary directory printed at the end.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
agent=$1 label=$2 n=$3
shift 3
. "$src/tests/bench/lib.sh"
bench=$(burst_tool "$src")
tmp=$(mktemp -d /tmp/batch_burst.XXXXXX)
kdir=${BATCH_KAFKA_DIR:-}
if [ -z "$kdir" ]; then
    kdir=$tmp/kafka
    own_kafka "$src" "$kdir"
fi
bs=$(cat "$kdir/bootstrap")
engine=bench-$label-$n-$$
"$agent" --engine.id="$engine" --bootstrap.servers="$bs" \
    --state.dir="$tmp/state" --topics.create=true --topics.replication=1 \
    --status.heartbeat.ms=0 "$@" >"$tmp/agent.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null && wait "$pid" || true
    [ -n "${BATCH_KAFKA_DIR:-}" ] || "$src/tests/kafka/kafka.sh" stop --dir "$kdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 600); do  # until its topics exist
    grep -q "started (bootstrap" "$tmp/agent.log" && sleep 1 && break
    sleep 0.1
done
for _ in $(seq "${BATCH_WARMUP:-1}"); do
    "$bench" -b "$bs" -e "$engine" -n 20 -L warm-up -w 120 >/dev/null
done
"$bench" -b "$bs" -e "$engine" -n "$n" -L "$label" -w 900
echo "agent log: $tmp/agent.log"
