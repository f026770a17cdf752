#!/usr/bin/env bash
# ryw.sh - read your writes across shims, measured: section 8 of run.sh, and
# runnable alone. For each broker (the devbroker, then a real single-node
# Apache Kafka 3.8.1 from tests/kafka/kafka.sh) it starts an agent and three
# shims on the same topics: A and B with the defaults (read your writes on),
# C with --status.read.cached=true. Then, each baseline in the same run:
#
#   a. stale reads: N pairs of ChangeEngineStatus at A, then at once
#      GetEngineStatus at B (and the same pair with C as the reader);
#   b. GetEngineStatus latency (p50/p99/p99.9) at fixed offered rates, 8
#      connections split over A and B, against the raw Kafka floor of the
#      same path (bench_read_floor: where the partition ends, then the
#      consumer up to there; librdkafka alone, same rate);
#   c. GetEngineStatus requests/s at 8 connections, closed loop: A alone,
#      A and B, C (cached), and nginx returning the same body.
#
#   tests/bench/ryw.sh [BUILD_DIR]   (default: <repo>/build-bench)
#
# Environment: BENCH_RESULTS (tests/bench/results) gets ryw.txt and ryw.csv
# (section,label,param,metric,value); BENCH_QUICK=1 a short smoke run;
# BENCH_RYW_BROKERS ("devbroker kafka"); BENCH_RYW_PAIRS (1000);
# BENCH_RYW_RATES ("100 500 1000"); BENCH_RYW_SECONDS (10) per rate.
# Load goes to 127.0.0.1 only; it stops exactly what it started, by pid
# (Kafka through kafka.sh stop, which signals only the pids it wrote).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(realpath -m "${1:-$src/build-bench}")
tools=$build/bench-tools
out=${BENCH_RESULTS:-$here/results}
brokers=${BENCH_RYW_BROKERS:-devbroker kafka}
pairs=${BENCH_RYW_PAIRS:-1000}
rates=${BENCH_RYW_RATES:-100 500 1000}
secs=${BENCH_RYW_SECONDS:-10}
tput_n=40000
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    pairs=100 rates=500 secs=2 tput_n=4000
fi

pids=()
tmp=""
kafka_dir=""
. "$here/lib.sh" # die, alive, stop_pid, remove_tmp, free_port, wait_until, nginx_conf
stop_all() {
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        stop_pid "${pids[i]}"
    done
    pids=()
    if [ -n "$kafka_dir" ]; then
        "$src/tests/kafka/kafka.sh" stop --dir "$kafka_dir" >/dev/null 2>&1 || true
        kafka_dir=""
    fi
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_all
    remove_tmp "$rc"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ ! -x "$build/shim/erpsync-shim" ]; then
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j "$(nproc)" >/dev/null
fi
cmake -S "$here" -B "$tools" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tools" -j "$(nproc)" >/dev/null
for pkg in nginx kcat; do
    if ! command -v "$pkg" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$pkg" ]; then
        [ "$(id -u)" = 0 ] || die "$pkg is missing: run sudo apt-get install -y $pkg"
        apt-get install -y "$pkg" >/dev/null
    fi
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

mkdir -p "$out"
txt=$out/ryw.txt
csv=$out/ryw.csv
: >"$txt"
echo "section,label,param,metric,value" >"$csv"
say() { printf '%s\n' "$*" | tee -a "$txt"; }
get() { # SECTION LABEL PARAM METRIC
    awk -F, -v s="$1" -v l="$2" -v p="$3" -v m="$4" \
        '$1 == s && $2 == l && $3 == p && $4 == m { v = $5 } END { print v }' "$csv"
}
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-";
        else printf "%.2f", a / b }'
}
tmp=$(mktemp -d)
chmod 755 "$tmp"
mkdir -p "$tmp/www"
engine=bench
password=bench-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
hash=$(printf '%s\n' "$password" | "$build/shim/erpsync-shim" --hash-password)
printf 'bench:%s:tenant-bench:admin\n' "$hash" >"$tmp/users"
printf 'tenant-bench:%s\n' "$engine" >"$tmp/tenants"
chmod 600 "$tmp/users"
auth="Authorization: Basic $(printf 'bench:%s' "$password" | base64 -w0)"
base=/api/v1/Agents/ErpSync

say "read your writes across shims  $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?')"
say "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); load generator, brokers, shims and nginx share them"

start_devbroker() {
    local kport
    kport=$(free_port)
    "$build/devbroker/erpsync-devbroker" --port="$kport" --port.file="$tmp/broker" \
        >>"$tmp/devbroker.log" 2>&1 &
    pids+=($!)
    wait_until 15 devbroker test -s "$tmp/broker"
    bootstrap=$(cat "$tmp/broker")
    topic_args=()
}
start_kafka() {
    kafka_dir=$tmp/kafka
    "$src/tests/kafka/kafka.sh" start --dir "$kafka_dir" >"$tmp/kafka-start.log" 2>&1 ||
        die "kafka.sh start failed: $(tail -5 "$tmp/kafka-start.log")"
    bootstrap=$(cat "$kafka_dir/bootstrap")
    topic_args=(--topics.create=true --topics.replication=1)
}
start_shim() { # NAME PORT EXTRA...
    local name=$1 port=$2
    shift 2
    "$build/shim/erpsync-shim" --bootstrap.servers="$bootstrap" --users.file="$tmp/users" \
        --tenants.file="$tmp/tenants" --listen.port="$port" "${topic_args[@]}" "$@" \
        >>"$tmp/shim-$name.log" 2>&1 &
    pids+=($!)
    wait_until 60 "shim $name /readyz" curl -fs "http://127.0.0.1:$port/readyz"
}
start_erpsync() {
    "$build/agent/erpsync-agent" --engine.id="$engine" --bootstrap.servers="$bootstrap" \
        --state.dir="$tmp/state-$1" "${topic_args[@]}" >>"$tmp/agent.log" 2>&1 &
    pids+=($!)
    pa=$(free_port) pb=$(free_port) pc=$(free_port)
    start_shim A "$pa"
    start_shim B "$pb"
    start_shim C "$pc" --status.read.cached=true
    wait_until 60 "the agent's first status" curl -fs -X POST -H "$auth" \
        "http://127.0.0.1:$pa$base/GetEngineStatus"
}
start_nginx() {
    local nport=$1
    nginx_conf "$tmp" "$nport" "$tmp/www/status.json"
    "$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" -g 'daemon off;' \
        >"$tmp/nginx.log" 2>&1 &
    pids+=($!)
    wait_until 10 nginx curl -fs -X POST "http://127.0.0.1:$nport/api"
}

# a. write at A, read at once at READER: how many reads were older
stale_pairs() { # BROKER READER_LABEL READER_PORT
    python3 - "$pa" "$3" "$auth" "$pairs" "$base" <<'PY' | tee -a "$txt"
import http.client, json, sys
pa, pr, auth, n, base = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
name, value = auth.split(": ", 1)
a, r = http.client.HTTPConnection("127.0.0.1", pa), http.client.HTTPConnection("127.0.0.1", pr)
stale = errors = 0
for i in range(n):
    run = i % 2 == 0
    a.request("POST", base + "/ChangeEngineStatus", json.dumps({"Run": run}),
              {name: value, "Content-Type": "application/json"})
    ra = a.getresponse(); ra.read()
    r.request("POST", base + "/GetEngineStatus", None, {name: value})
    rr = r.getresponse(); body = rr.read()
    if ra.status != 200 or rr.status != 200:
        errors += 1
    elif json.loads(body)["IsRunning"] is not run:
        stale += 1
print(f"{stale} {errors}")
PY
}

measure_broker() { # devbroker|kafka
    local b=$1 s=8$1 line part rate n
    say ""
    say "== 8. read your writes on the $b ($bootstrap)  [load average $(cut -d' ' -f1-3 /proc/loadavg)] =="
    for reader in B C; do
        local port=$pb label="B (read your writes)"
        [ "$reader" = C ] && port=$pc label="C (status.read.cached=true)"
        line=$(stale_pairs "$b" "$reader" "$port" | tail -1)
        echo "$s,stale,$reader,stale_reads,${line% *}" >>"$csv"
        echo "$s,stale,$reader,errors,${line#* }" >>"$csv"
        say "   a. $pairs pairs, ChangeEngineStatus at A then GetEngineStatus at $label: ${line% *} stale, ${line#* } errors"
    done
    part=$(kcat -C -b "$bootstrap" -t erpsync.status -e -q -f '%k %p\n' -X isolation.level=read_committed |
        awk -v e="$engine" '$1 == e { p = $2 } END { print p + 0 }')
    say "   b. GetEngineStatus at fixed offered rates, 8 connections over A and B, vs the raw Kafka floor (partition $part)"
    for rate in $rates; do
        n=$((rate * secs / 8))
        "$tools/bench_read_floor" -b "$bootstrap" -t erpsync.status -p "$part" -r "$rate" \
            -n $((rate * secs)) -o "$csv" -S "$s" -L "floor-r$rate" | sed 's/^/      /' | tee -a "$txt"
        "$tools/http_load" -p "$pa" -p "$pb" -c 8 -r "$rate" -n "$n" -w 20 -t $((secs * 3)) -m POST \
            -u "$base/GetEngineStatus" -H "$auth" -o "$csv" -S "$s" -L "ryw-r$rate" |
            sed 's/^/      /' | tee -a "$txt"
    done
    "$tools/http_load" -p "$pc" -c 8 -r 500 -n $((500 * secs / 8)) -w 20 -t $((secs * 3)) -m POST \
        -u "$base/GetEngineStatus" -H "$auth" -o "$csv" -S "$s" -L "cached-r500" |
        sed 's/^/      /' | tee -a "$txt"
    say "   c. GetEngineStatus requests/s, 8 connections, closed loop"
    local -a get=(-c 8 -n $((tput_n / 8)) -w 50 -t 60 -m POST -u "$base/GetEngineStatus" -H "$auth" -o "$csv" -S "$s")
    "$tools/http_load" -p "$nport" "${get[@]}" -L nginx | sed 's/^/      /' | tee -a "$txt"
    "$tools/http_load" -p "$pa" "${get[@]}" -L ryw-A | sed 's/^/      /' | tee -a "$txt"
    "$tools/http_load" -p "$pa" -p "$pb" "${get[@]}" -L ryw-AB | sed 's/^/      /' | tee -a "$txt"
    "$tools/http_load" -p "$pc" "${get[@]}" -L cached-C | sed 's/^/      /' | tee -a "$txt"
    "$tools/http_load" -p "$nport" "${get[@]}" -L nginx-again | sed 's/^/      /' | tee -a "$txt"
}

summary() { # devbroker|kafka
    local s=8$1 rate=500
    local fl50 fl99 r50 r99 ng
    fl50=$(get "$s" "floor-r$rate" 1 p50_ms) fl99=$(get "$s" "floor-r$rate" 1 p99_ms)
    r50=$(get "$s" "ryw-r$rate" 8 p50_ms) r99=$(get "$s" "ryw-r$rate" 8 p99_ms)
    ng=$(awk -v a="$(get "$s" nginx 8 rps)" -v b="$(get "$s" nginx-again 8 rps)" 'BEGIN { print (a + b) / 2 }')
    printf '| %s | %s / %s | %s / %s | %s | %s | %s | %s | %s |\n' "$1" \
        "$(get "$s" stale B stale_reads)" "$pairs" "$(get "$s" stale C stale_reads)" "$pairs" \
        "$(ratio "$r50" "$fl50")" "$(ratio "$r99" "$fl99")" \
        "$(ratio "$(get "$s" ryw-A 8 rps)" "$ng")" \
        "$(ratio "$(get "$s" ryw-AB 8 rps)" "$ng")" "$(ratio "$(get "$s" cached-C 8 rps)" "$ng")" | tee -a "$txt"
}

nport=$(free_port)
for b in $brokers; do
    rm -f "$tmp/broker"
    case $b in
    devbroker) start_devbroker ;;
    kafka) start_kafka ;;
    *) die "unknown broker $b (devbroker or kafka)" ;;
    esac
    start_erpsync "$b"
    if [ ! -s "$tmp/www/status.json" ]; then
        curl -fs -X POST -H "$auth" "http://127.0.0.1:$pa$base/GetEngineStatus" >"$tmp/www/status.json"
        start_nginx "$nport"
        nginx_pid=${pids[-1]}
    fi
    measure_broker "$b"
    # Everything but nginx goes; nginx serves the next broker's run too.
    keep=$nginx_pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        [ "${pids[i]}" = "$keep" ] || stop_pid "${pids[i]}"
    done
    pids=("$keep")
    if [ -n "$kafka_dir" ]; then
        "$src/tests/kafka/kafka.sh" stop --dir "$kafka_dir" >/dev/null 2>&1 || true
        kafka_dir=""
    fi
done

say ""
say "Summary (targets: 0 stale reads with read your writes; p50 <= 1.3x and p99 <= 2x the floor at 500 requests/s; requests/s >= 0.7x nginx at 8 connections)"
say "| broker | stale reads, B (read your writes) | stale reads, C (cached) | p50 / floor at 500/s | p99 / floor at 500/s | A / nginx | A+B / nginx | C (cached) / nginx |"
say "|---|---|---|---|---|---|---|---|"
for b in $brokers; do
    summary "$b"
done
