#!/usr/bin/env bash
# One agent serving a fleet: start-to-ready, memory, idle CPU and commands/s
# of a burst spread over every engine, on a real single-node Apache Kafka
# (tests/kafka/kafka.sh) on this machine.
#
#   tests/bench/fleet.sh AGENT_BINARY ENGINES N [agent settings...]
#
# e.g. tests/bench/fleet.sh build/agent/erpsync-agent 1000 10000
# A Kafka of its own is started and stopped (FLEET_NODES=3: three nodes, the
# topics replicated three times), unless FLEET_KAFKA_DIR=DIR names one
# started with `kafka.sh start --dir DIR` (left running). The agent
# serves ENGINES engines (engines.file, agent.id fleet-$$) with the default
# heartbeat (30 s). Printed, one `name value` line each:
#   ready_ms      process start to the agent's "ready:" line (every engine
#                 claimed, its first status published, consuming)
#   rss_kib       resident memory when ready, after FLEET_IDLE_S (default 30)
#                 seconds idle, and after the burst (VmRSS), and the peak
#   idle_cpu_pct  CPU of the agent over the idle seconds, % of one core
#   burst_rps     N commands (Run alternating per engine) over all engines,
#                 from the first produce to the last answering status
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
agent=$1 engines=$2 n=$3
shift 3
. "$src/tests/bench/lib.sh"
bench=$(burst_tool "$src")
tmp=$(mktemp -d /tmp/fleet.XXXXXX)
kdir=${FLEET_KAFKA_DIR:-}
if [ -z "$kdir" ]; then
    kdir=$tmp/kafka
    own_kafka "$src" "$kdir" "${FLEET_NODES:-1}"
fi
bs=$(cat "$kdir/bootstrap")
prefix=fleet$$
for i in $(seq 0 $((engines - 1))); do echo "$prefix-$i"; done >"$tmp/engines"
start=$(date +%s%N)
"$agent" --agent.id="$prefix" --engines.file="$tmp/engines" \
    --bootstrap.servers="$bs" --state.dir="$tmp/state" --topics.create=true \
    --topics.replication="${FLEET_NODES:-1}" "$@" >"$tmp/agent.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null && wait "$pid" || true
    [ -n "${FLEET_KAFKA_DIR:-}" ] || "$src/tests/kafka/kafka.sh" stop --dir "$kdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1200); do
    grep -q "ready: serving" "$tmp/agent.log" && break
    kill -0 "$pid" 2>/dev/null || { tail "$tmp/agent.log"; exit 1; }
    sleep 0.05
done
ready=$(( ($(date +%s%N) - start) / 1000000 ))
rss() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$pid/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
echo "engines $engines"
echo "ready_ms $ready"
echo "rss_kib_ready $(rss VmRSS)"
idle=${FLEET_IDLE_S:-30}
c0=$(cpu)
sleep "$idle"
c1=$(cpu)
echo "idle_cpu_pct $(awk -v a="$c0" -v b="$c1" -v s="$idle" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.2f", (b - a) / hz / s * 100}')"
echo "rss_kib_idle $(rss VmRSS)"
"$bench" -b "$bs" -e "$prefix" -E "$engines" -n 20 -L warm-up -w 120 >/dev/null
out=$("$bench" -b "$bs" -e "$prefix" -E "$engines" -n "$n" -L "fleet-$engines" -w 900)
echo "$out"
echo "burst_rps $(sed -n 's/.* = \([0-9.]*\) commands\/s.*/\1/p' <<<"$out")"
echo "rss_kib_after $(rss VmRSS)"
echo "rss_kib_peak $(rss VmHWM)"
echo "agent log: $tmp/agent.log"
