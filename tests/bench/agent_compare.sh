#!/usr/bin/env bash
# Two agent builds, alternating on a real single-node Kafka (a fresh one per
# run): commands/s and the agent's CPU in a 20,000-command burst to one
# engine, a lone command's latency, and a fleet of 1,000 engines (and on
# three nodes), as in docs/benchmarks.md "Less CPU per command".
#
#   tests/bench/agent_compare.sh BEFORE_AGENT AFTER_AGENT [ROUNDS]
#
# ROUNDS (default 5) bursts of each, 3 lone commands, 3 fleet runs. Agent
# CPU is user + system time of the agent process over the whole run (start,
# warm-up, burst), from /proc/PID/stat just before it is stopped.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
before=$1 after=$2 rounds=${3:-5}
tmp=$(mktemp -d /tmp/agent_compare.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The agent under a wrapper that writes its CPU seconds to $CPU_OUT when
# batch_burst.sh stops it.
cat >"$tmp/cpu.sh" <<'WRAP'
#!/usr/bin/env bash
"$CPU_AGENT" "$@" &
child=$!
on_stop() {
    awk '{print ($14 + $15) / 100.0}' "/proc/$child/stat" >"$CPU_OUT"
    kill -TERM "$child"
}
trap on_stop TERM INT
wait "$child" || true
wait "$child" 2>/dev/null || true
WRAP
chmod +x "$tmp/cpu.sh"

pick() { [ "$1" = before ] && echo "$before" || echo "$after"; }

echo "### burst 20000, 1 engine (commands/s, agent CPU s)"
for _ in $(seq "$rounds"); do
    for lab in before after; do
        rps=$(CPU_AGENT=$(pick $lab) CPU_OUT=$tmp/cpu \
            "$src/tests/bench/batch_burst.sh" "$tmp/cpu.sh" "$lab" 20000 2>&1 |
            sed -n 's/.*= \([0-9.]*\) commands\/s.*/\1/p')
        echo "$lab $rps commands/s cpu $(cat "$tmp/cpu")"
    done
done
echo "### lone command after 30 warm-up rounds (ms)"
for _ in 1 2 3; do
    for lab in before after; do
        echo "$lab $(BATCH_WARMUP=30 "$src/tests/bench/batch_burst.sh" "$(pick $lab)" "$lab" 1 2>&1 | grep answered)"
    done
done
echo "### fleet 1000 engines, 20000 commands"
for _ in 1 2 3; do
    for lab in before after; do
        echo "$lab $(FLEET_IDLE_S=30 "$src/tests/bench/fleet.sh" "$(pick $lab)" 1000 20000 2>&1 |
            grep -E 'ready_ms|burst_rps|rss_kib|idle_cpu' | tr '\n' ' ')"
    done
done
echo "### fleet 3 nodes, 1000 engines"
for lab in before after; do
    echo "$lab $(FLEET_NODES=3 FLEET_IDLE_S=5 "$src/tests/bench/fleet.sh" "$(pick $lab)" 1000 20000 2>&1 |
        grep -E 'ready_ms|burst_rps|rss_kib_peak' | tr '\n' ' ')"
done
