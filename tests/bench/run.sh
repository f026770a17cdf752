#!/usr/bin/env bash
# run.sh - erpsync benchmarks, reported as ratios against baselines measured
# in the same run on the same machine. Prints tables and writes them to
# tests/bench/results/latest.txt and latest.csv (long format:
# section,label,param,metric,value). Never passes or fails on time.
#
#   tests/bench/run.sh [BUILD_DIR]      (default: <repo>/build-bench)
#
# BUILD_DIR is an erpsync build (configured and built Release if it has no
# binaries yet); the bench tools are built into BUILD_DIR/bench-tools.
# It starts erpsync-devbroker, erpsync-agent, erpsync-shim and nginx on free
# loopback ports in a temporary directory, sends load only to 127.0.0.1, and
# stops exactly the processes it started, by pid, on exit.
#
# Environment: BENCH_N (500) sequential iterations for the latency runs;
# BENCH_QUICK=1 for a short smoke run; BENCH_RESULTS (tests/bench/results;
# when set, the plots go there too instead of docs/img);
# BENCH_WAIT_IDLE=SECONDS waits up to that long for the 1-minute load
# average to drop below 1 before measuring (for shared machines).
# BENCH_RYW=0 skips section 8 (read your writes, tests/bench/ryw.sh).
# Section 5 and its parts restart the shim with one setting changed at a
# time (credential cache off, failed-login limit off, Bearer JWT with a
# token made by PyJWT); the other sections run the product's defaults.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(realpath -m "${1:-$src/build-bench}")
tools=$build/bench-tools
out=${BENCH_RESULTS:-$here/results}
N=${BENCH_N:-500}
quick=${BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
    N=60
fi

# ---- process bookkeeping: only what we started, by pid ----
pids=()
tmp=""
. "$here/lib.sh" # die, alive, stop_pid, remove_tmp, free_port, wait_until, nginx_conf
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        stop_pid "${pids[i]}"
    done
    remove_tmp "$rc"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- build ----
if [ ! -x "$build/shim/erpsync-shim" ] || [ ! -x "$build/agent/erpsync-agent" ] ||
    [ ! -x "$build/devbroker/erpsync-devbroker" ]; then
    echo "building erpsync (Release) into $build"
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" -j "$(nproc)" >/dev/null
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
cmake -S "$here" -B "$tools" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tools" -j "$(nproc)" >/dev/null

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y nginx >/dev/null
    else
        die "nginx is missing: run sudo apt-get install -y nginx"
    fi
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
command -v curl >/dev/null || die "curl is missing"
command -v python3 >/dev/null || die "python3 is missing"

# ---- a quiet machine, when asked to wait for one ----
if [ "${BENCH_WAIT_IDLE:-0}" -gt 0 ]; then
    end=$((SECONDS + BENCH_WAIT_IDLE))
    while [ $SECONDS -lt $end ] && awk '{ exit !($1 >= 1) }' /proc/loadavg; do
        sleep 5
    done
fi

# ---- results ----
mkdir -p "$out"
txt=$out/latest.txt
csv=$out/latest.csv
: >"$txt"
echo "section,label,param,metric,value" >"$csv"
say() { printf '%s\n' "$*" | tee -a "$txt"; }
tee_txt() { tee -a "$txt"; }
section() { # a header with the load average, since other work on a shared machine shows up in every number
    say "== $1 ==  [load average $(cut -d' ' -f1-3 /proc/loadavg)]"
    echo "load,$(echo "$1" | cut -d' ' -f1 | tr -d .),1,loadavg1,$(cut -d' ' -f1 /proc/loadavg)" >>"$csv"
}
# get SECTION LABEL PARAM METRIC: a value from the CSV ("" if missing)
get() {
    awk -F, -v s="$1" -v l="$2" -v p="$3" -v m="$4" \
        '$1 == s && $2 == l && $3 == p && $4 == m { v = $5 } END { print v }' "$csv"
}
codes() { # SECTION LABEL PARAM: the status codes seen, as "200:n 429:m"
    awk -F, -v s="$1" -v l="$2" -v p="$3" '$1 == s && $2 == l && $3 == p && $4 ~ /^code_/ {
        sub("code_", "", $4); printf "%s%s:%d", sep, $4, $5; sep = " " }' "$csv"
}
# balmean "SECTIONS" LABEL PARAM METRIC [PREFIX]: the mean of METRIC over
# the sections (rounds) in which both shim HTTP threads worked, or over all
# of them when none did; PREFIX "cpu_" reads METRIC from the CPU rows.
balmean() {
    awk -F, -v ss="$1" -v l="$2" -v p="$3" -v m="$4" -v pre="${5:-}" '
        BEGIN { n = split(ss, s, " "); for (i = 1; i <= n; i++) want[s[i]] = 1 }
        $2 == l && $3 == p && $4 == m && (substr($1, 1, length(pre)) == pre) && (substr($1, length(pre) + 1) in want) {
            v[substr($1, length(pre) + 1)] = $5 }
        $2 == l && $3 == p && $4 == "shim_http_threads_busy" && substr($1, 1, 4) == "cpu_" { busy[substr($1, 5)] = $5 }
        END {
            for (k in v) { all += v[k]; na++; if (busy[k] >= 2) { bal += v[k]; nb++ } }
            if (nb) printf "%.6f", bal / nb; else if (na) printf "%.6f", all / na }' "$csv"
}
balused() { # "SECTIONS" LABEL PARAM: "used/all" rounds for balmean
    awk -F, -v ss="$1" -v l="$2" -v p="$3" '
        BEGIN { n = split(ss, s, " "); for (i = 1; i <= n; i++) want["cpu_" s[i]] = 1 }
        $1 in want && $2 == l && $3 == p && $4 == "shim_http_threads_busy" { na++; if ($5 >= 2) nb++ }
        END { printf "%d/%d", nb, na }' "$csv"
}
# ratio A B: A/B with two decimals, "-" when either is missing
ratio() { # two decimals, or three significant digits below 0.1
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-";
        else if (a / b < 0.1) printf "%.3g", a / b; else printf "%.2f", a / b }'
}
fmt() { # one decimal for rates, two for ms; "-" when missing
    awk -v v="$1" -v d="${2:-2}" 'BEGIN { if (v == "") print "-"; else printf "%.*f", d, v }'
}

tmp=$(mktemp -d) # a fresh /tmp/tmp.* directory, removed on exit
chmod 755 "$tmp"
state=$tmp/state
mkdir -p "$state" "$tmp/www" "$tmp/nginx-tmp"

kport=$(free_port)
hport=$(free_port)
nport=$(free_port)
engine=bench
user=bench
password=bench-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')
hash=$(printf '%s\n' "$password" | "$build/shim/erpsync-shim" --hash-password)
printf '%s:%s:tenant-bench:admin\n' "$user" "$hash" >"$tmp/users"
printf 'tenant-bench:%s\n' "$engine" >"$tmp/tenants"
chmod 600 "$tmp/users"
auth="Authorization: Basic $(printf '%s:%s' "$user" "$password" | base64 -w0)"
badauth="Authorization: Basic $(printf '%s:%s' "$user" "wrong-$password" | base64 -w0)"
# Bearer: an HS256 key and one token (claims iss, aud, sub, tenant, role,
# exp) made with PyJWT; section 5d starts a shim that accepts it.
jwt_iss=https://bench.erpsync.invalid
head -c 48 /dev/urandom >"$tmp/jwt.key"
chmod 600 "$tmp/jwt.key"
bearer=""
if python3 -c 'import jwt' 2>/dev/null; then
    token=$(python3 - "$tmp/jwt.key" "$jwt_iss" <<'PY'
import sys, time
import jwt
key = open(sys.argv[1], "rb").read()
print(jwt.encode({"iss": sys.argv[2], "aud": "erpsync", "sub": "bench-jwt", "tenant": "tenant-bench",
                  "role": "admin", "exp": int(time.time()) + 7200}, key, algorithm="HS256"))
PY
    )
    bearer="Authorization: Bearer $token"
fi
base=/api/v1/Agents/ErpSync

# ---- machine ----
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
say "erpsync benchmarks  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "machine: $(nproc) CPUs, ${cpu_model:-unknown CPU}, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
say "erpsync build: $build (CMAKE_BUILD_TYPE=${build_type:-unknown}), commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$src" diff --quiet HEAD 2>/dev/null || echo ' + local changes')"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine shows up here)"
say "librdkafka $(pkg-config --modversion rdkafka 2>/dev/null || echo '?'), libmicrohttpd $(pkg-config --modversion libmicrohttpd 2>/dev/null || echo '?'), $("$nginx_bin" -v 2>&1 | sed 's/.*: //'); load generator and servers share the same $(nproc) CPUs"
say ""

# ---- start devbroker, agent, shim ----
start_broker() {
    rm -f "$tmp/broker"
    "$build/devbroker/erpsync-devbroker" --port="$kport" --port.file="$tmp/broker" \
        --topics=erpsync.commands,erpsync.status,erpsync.audit,erpsync.commands.dlq,bench.rtt.req,bench.rtt.rep,bench.rtt.audit \
        >>"$tmp/devbroker.log" 2>&1 &
    pids+=($!)
    pid_broker=$!
    wait_until 15 "devbroker" test -s "$tmp/broker"
    broker=$(cat "$tmp/broker")
}
start_broker

# Agent and shim with the product's defaults; EXTRA arguments (section 7)
# pass librdkafka properties through.
start_agent() { # EXTRA...
    "$build/agent/erpsync-agent" --engine.id="$engine" --bootstrap.servers="$broker" \
        --state.dir="$state" "$@" >>"$tmp/agent.log" 2>&1 &
    pids+=($!)
    pid_agent=$!
}
start_shim() { # EXTRA...: the product's defaults plus EXTRA
    "$build/shim/erpsync-shim" --bootstrap.servers="$broker" --users.file="$tmp/users" --tenants.file="$tmp/tenants" \
        --listen.port="$hport" "$@" >>"$tmp/shim.log" 2>&1 &
    pids+=($!)
    pid_shim=$!
    wait_until 20 "shim /readyz" curl -fs "http://127.0.0.1:$hport/readyz"
    wait_until 20 "the agent's first status" curl -fs -X POST -H "$auth" \
        "http://127.0.0.1:$hport$base/GetEngineStatus"
}
start_erpsync() { # EXTRA...
    start_agent "$@"
    start_shim "$@"
}
shim_metric() { # NAME: a counter of the running shim's /metrics (0 if missing)
    curl -fs "http://127.0.0.1:$hport/metrics" | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}
forget_pid() { # stop_pid, then drop it from the list cleanup walks
    local keep=() p
    stop_pid "$1"
    for p in "${pids[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    pids=("${keep[@]}")
}
start_erpsync

# ---- nginx, answering with the shim's own GetEngineStatus body ----
curl -fs -X POST -H "$auth" "http://127.0.0.1:$hport$base/GetEngineStatus" >"$tmp/www/status.json"
body_bytes=$(wc -c <"$tmp/www/status.json")
chmod 644 "$tmp/www/status.json"
chmod 755 "$tmp/www"
nginx_conf "$tmp" "$nport" "$tmp/www/status.json"
"$nginx_bin" -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/nginx-error.log" -g 'daemon off;' \
    >"$tmp/nginx.log" 2>&1 &
pids+=($!)
pid_nginx=$!
wait_until 10 "nginx" curl -fs -X POST "http://127.0.0.1:$nport/api"

say "processes: devbroker $pid_broker ($broker), agent $pid_agent (engine $engine),"
say "           shim $pid_shim (http://127.0.0.1:$hport), nginx $pid_nginx (http://127.0.0.1:$nport, 2 workers)"
say "shim and nginx answer the same ${body_bytes}-byte GetEngineStatus JSON body"
say ""

# ---- CPU accounting from /proc/PID/stat (utime + stime) ----
hz=$(getconf CLK_TCK)
nginx_pids() { echo "$pid_nginx" $(ps -o pid= --ppid "$pid_nginx" 2>/dev/null); }
ticks() { # PIDS...: summed utime+stime ticks
    local t=0 p v
    for p in "$@"; do
        v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}
declare -A cpu0 thr0
# The shim's HTTP threads (libmicrohttpd's pool, "MHD-worker"): a connection
# stays on the thread that accepted it, so a run's connections may all land
# on one thread and the shim then uses one CPU. Their ticks per thread:
mhd_ticks() { # prints "TID TICKS" per HTTP thread of the shim
    local t
    for t in /proc/"$pid_shim"/task/*; do
        [ "$(cat "$t/comm" 2>/dev/null)" = MHD-worker ] || continue
        awk -v id="${t##*/}" '{ print id, $14 + $15 }' "$t/stat" 2>/dev/null
    done
}
cpu_begin() {
    local id v
    thr0=()
    while read -r id v; do thr0[$id]=$v; done < <(mhd_ticks)
    cpu0[shim]=$(ticks "$pid_shim")
    cpu0[agent]=$(ticks "$pid_agent")
    cpu0[devbroker]=$(ticks "$pid_broker")
    cpu0[nginx]=$(ticks $(nginx_pids))
    cpu0[t]=$(date +%s.%N)
}
cpu_end() { # SECTION LABEL PARAM REQUESTS: CPU ms per request per process
    local section=$1 label=$2 param=$3 reqs=$4 name now d
    local -A cur=([shim]=$(ticks "$pid_shim") [agent]=$(ticks "$pid_agent")
        [devbroker]=$(ticks "$pid_broker") [nginx]=$(ticks $(nginx_pids)))
    now=$(date +%s.%N)
    local id v busy=0 sum=0 top=0 n=0
    local -a ds=()
    while read -r id v; do
        ds+=($((v - ${thr0[$id]:-$v})))
    done < <(mhd_ticks)
    for d in "${ds[@]}"; do
        sum=$((sum + d))
        [ "$d" -gt "$top" ] && top=$d
    done
    for d in "${ds[@]}"; do
        [ "$sum" -gt 0 ] && [ $((d * 10)) -ge "$sum" ] && busy=$((busy + 1))
    done
    n=${#ds[@]}
    if [ "$sum" -gt 0 ]; then
        echo "cpu_$section,$label,$param,shim_http_threads_busy,$busy" >>"$csv"
        echo "cpu_$section,$label,$param,shim_http_threads,$n" >>"$csv"
        echo "cpu_$section,$label,$param,shim_http_busiest_pct,$((100 * top / sum))" >>"$csv"
    fi
    for name in shim agent devbroker nginx; do
        d=$((cur[$name] - cpu0[$name]))
        awk -v s="$section" -v l="$label" -v p="$param" -v n="$name" -v d="$d" \
            -v hz="$hz" -v r="$reqs" -v w="$(awk -v a="${cpu0[t]}" -v b="$now" 'BEGIN { print b - a }')" \
            'BEGIN { printf "cpu_%s,%s,%s,%s_ms_per_req,%.4f\n", s, l, p, n, (r > 0 ? d * 1000 / hz / r : 0);
                     printf "cpu_%s,%s,%s,%s_cpu_pct,%.2f\n", s, l, p, n, (w > 0 ? d * 100 / hz / w : 0) }' >>"$csv"
    done
}

# ---- 0. idle cost: what the four servers burn with no requests ----
cpu_begin
sleep 3
cpu_end idle idle 0 0

# ---- 1. the fixed costs inside a call, timed alone ----
section "1. fixed costs inside a call, timed alone"
say "   command: $tools/bench_micro crypt '<hash from the users file>' 200; $tools/bench_micro fsync $state 200 41000"
"$tools/bench_micro" -o "$csv" crypt "$hash" 200 | tee_txt
# 41000 bytes: the agent's state file once its ring of 1024 applied command
# ids is full (it is rewritten whole for every command).
"$tools/bench_micro" -o "$csv" fsync "$state" 200 41000 | tee_txt
say ""

# ---- 2. Kafka raw round trip (the baselines) ----
section "2. Kafka round trip on the devbroker (librdkafka only; erpsync's client settings)"
say "   command: $tools/bench_kafka_rtt -b $broker -n $N -w 50 -m all -d $state"
"$tools/bench_kafka_rtt" -b "$broker" -n "$N" -w 50 -m all -d "$state" -o "$csv" | tee_txt
say "   the same with a delivery-report callback on the transactional producer (as erpsync's agent has):"
say "   command: $tools/bench_kafka_rtt -b $broker -n $((N / 2)) -w 20 -D -m txn-audit-fsync -d $state"
"$tools/bench_kafka_rtt" -b "$broker" -n "$((N / 2))" -w 20 -D -m txn-audit-fsync -d "$state" -o "$csv" | tee_txt
say ""

# ---- 3. erpsync ChangeEngineStatus, sequential ----
section "3. erpsync ChangeEngineStatus end to end, 1 connection, Run alternating true/false"
ces=(-p "$hport" -m POST -u "$base/ChangeEngineStatus" -H "$auth"
    -H "Content-Type: application/json" -d '{"Run": true}' -d '{"Run": false}'
    -e 200 -o "$csv" -S ces -L ChangeEngineStatus)
say "   command: $tools/http_load -c 1 -n $N -w 20 -t 120 -m POST -u $base/ChangeEngineStatus -H 'Authorization: Basic ...' -H 'Content-Type: application/json' -d '{\"Run\": true}' -d '{\"Run\": false}'"
cpu_begin
"$tools/http_load" "${ces[@]}" -c 1 -n "$N" -w 20 -t 120 -l "$tmp/ces-c1.log" | tee_txt
cpu_end ces ChangeEngineStatus 1 "$(get ces ChangeEngineStatus 1 n)"
say ""

# ---- 4. ChangeEngineStatus under concurrency ----
section "4. ChangeEngineStatus throughput: C connections, each alternating true/false (one engine: changes serialize in the agent)"
for c in 4 16; do
    per=$((N * 4 / 5 / c))
    [ "$quick" = 1 ] && per=$((60 / c + 1))
    say "   command: http_load -c $c -n $per -w 2 -t 60 (same request as 3.)"
    cpu_begin
    "$tools/http_load" "${ces[@]}" -c "$c" -n "$per" -w 2 -t 60 -l "$tmp/ces-c$c.log" | tee_txt ||
        say "   (run failed)"
    cpu_end ces ChangeEngineStatus "$c" "$(get ces ChangeEngineStatus "$c" n)"
done
say ""

# ---- 4b. the agent alone: a queue of commands, no shim ----
burst=200
[ "$quick" = 1 ] && burst=40
say "   the agent alone: $burst commands produced at once to erpsync.commands, each answered by a status"
say "   command: $tools/bench_agent_burst -b $broker -e $engine -n $burst  (after a 20-command warm-up)"
"$tools/bench_agent_burst" -b "$broker" -e "$engine" -n 20 -L warm-up >/dev/null || true
cpu_begin
"$tools/bench_agent_burst" -b "$broker" -e "$engine" -n "$burst" -L agent -o "$csv" | tee_txt ||
    say "   (run failed)"
cpu_end agent_burst agent "$burst" "$burst"
say ""

# ---- 5. HTTP: shim GetEngineStatus vs nginx ----
# One measured http_load run with the CPU of each process around it.
run_load() { # SECTION LABEL C HTTP_LOAD_ARGS...
    local s=$1 l=$2 c=$3
    shift 3
    cpu_begin
    "$tools/http_load" "$@" -o "$csv" -S "$s" -L "$l" -c "$c" | tee_txt || say "   (run failed)"
    cpu_end "$s" "$l" "$c" "$(get "$s" "$l" "$c" n)"
    local busy threads pct
    busy=$(get "cpu_$s" "$l" "$c" shim_http_threads_busy)
    threads=$(get "cpu_$s" "$l" "$c" shim_http_threads)
    pct=$(get "cpu_$s" "$l" "$c" shim_cpu_pct)
    if [ "$c" -gt 1 ] && [ "$busy" = 1 ] && [ "${threads:-0}" -gt 1 ] && [ "${pct%.*}" -gt 20 ]; then
        say "   (all $c connections were served by one of the shim's $threads HTTP threads: $(get "cpu_$s" "$l" "$c" shim_http_busiest_pct)% of their CPU)"
    fi
}
# A new shim on the same port, the product's defaults plus EXTRA; its
# in-memory credential cache, failed-login counts and metrics start empty.
shim_sent=0 shim_timeouts=0 # counters of the shims already stopped
restart_shim() { # EXTRA...
    shim_sent=$((shim_sent + $(shim_metric erpsync_shim_commands_sent_total)))
    shim_timeouts=$((shim_timeouts + $(shim_metric erpsync_shim_requests_timed_out_total)))
    forget_pid "$pid_shim"
    start_shim "$@"
    say "   shim restarted: pid $pid_shim, the product's defaults${*:+ plus $*}"
}
secs=6
[ "$quick" = 1 ] && secs=2
bsecs=$((secs > 3 ? secs - 2 : 1))
# /healthz on 1 connection while C connections send GetEngineStatus; the
# background run's status codes are printed too (a 429 there would mean the
# failed-login limit, not GetEngineStatus, was measured).
healthz_beside() { # SUFFIX C GETENGINESTATUS_ARGS...
    local suffix=$1 c=$2 bg
    shift 2
    "$tools/http_load" "$@" -o "$csv" -S http_bg -L "shim_GetEngineStatus_bg$suffix" -c "$c" -n 100000 -w 1 \
        -t "$secs" >"$tmp/bg.txt" &
    bg=$!
    sleep 1
    "$tools/http_load" -p "$hport" -m GET -u /healthz -e 200 -o "$csv" -S http_under_load \
        -L "shim_healthz_during_GetEngineStatus${suffix}_c$c" -c 1 -n 100000 -t "$bsecs" |
        sed "s/\$/  (beside $c connections of GetEngineStatus)/" | tee_txt || say "   (run failed)"
    wait "$bg" || true
    sed 's/^/   background: /' "$tmp/bg.txt" | tee_txt
}
gets=(-p "$hport" -m POST -u "$base/GetEngineStatus" -H "$auth" -e 200)
ngx=(-p "$nport" -m POST -u "$base/GetEngineStatus" -H "$auth" -e 200)
hz_args=(-p "$hport" -m GET -u /healthz -e 200)
bad=(-p "$hport" -m POST -u "$base/GetEngineStatus" -H "$badauth" -e 401)

section "5. HTTP: shim GetEngineStatus (read your writes: a Kafka query per batch of reads; Basic auth, credential cache on: the defaults) vs nginx POST returning the same body"
say "   commands: http_load -c C -n REQS -w 1 -t $secs -m POST -u $base/GetEngineStatus -H 'Authorization: Basic ...' against the shim;"
say "             the same against nginx with keep-alive (-w 5), and with -H 'Connection: close' (a new TCP connection per request);"
say "             http_load ... -m GET -u /healthz against the shim (no auth)"
curl -fs -X POST -H "$auth" "http://127.0.0.1:$hport$base/GetEngineStatus" >"$tmp/shim-status.json" || true
if cmp -s "$tmp/shim-status.json" "$tmp/www/status.json"; then
    say "   the shim's answer is byte for byte nginx's body ($body_bytes bytes)"
else
    say "   NOTE: the shim's answer ($(wc -c <"$tmp/shim-status.json") bytes) differs from nginx's body ($body_bytes bytes)"
fi
for c in 1 8 32; do
    run_load http shim_GetEngineStatus "$c" "${gets[@]}" -n 100000 -w 1 -t "$secs"
    run_load http nginx_POST "$c" "${ngx[@]}" -n 1000000 -w 5 -t "$secs"
    run_load http nginx_POST_close "$c" "${ngx[@]}" -H "Connection: close" -n 1000000 -w 5 -t "$secs"
    run_load http shim_healthz "$c" "${hz_args[@]}" -n 1000000 -w 5 -t "$secs"
done
say "   /healthz on 1 connection while C connections send GetEngineStatus:"
for c in 8 32; do
    healthz_beside "" "$c" "${gets[@]}"
done
# Last on this shim: the failed-login limit blocks 127.0.0.1, the address
# of every request here, until the shim is restarted.
say "   a wrong password with the default failed-login limit (auth.failures.max=10 per 60 s per client address; all load comes from 127.0.0.1):"
run_load http shim_wrong_password_limited 8 "${bad[@]}" -e 429 -n 100000 -w 0 -t "$secs"
say ""

# ---- memory after the load of section 5 ----
mem() { # PID: VmHWM VmRSS in KiB
    awk '/^VmHWM/ { h = $2 } /^VmRSS/ { r = $2 } END { print h + 0, r + 0 }' "/proc/$1/status" 2>/dev/null || echo "0 0"
}
mem_row() { # NAME PIDS...
    local name=$1 h=0 r=0 p v
    shift
    for p in "$@"; do
        v=($(mem "$p"))
        h=$((h + v[0]))
        r=$((r + v[1]))
    done
    echo "memory,$name,1,vmhwm_kib,$h" >>"$csv"
    echo "memory,$name,1,vmrss_kib,$r" >>"$csv"
}
mem_row agent "$pid_agent"
mem_row shim "$pid_shim"
mem_row devbroker "$pid_broker"
mem_row nginx $(nginx_pids)

# ---- 5b. credential cache off ----
section "5b. GetEngineStatus with the credential cache off (--auth.cache.ttl.ms=0: one yescrypt check per call, as before the cache)"
restart_shim --auth.cache.ttl.ms=0
say "   commands: as in 5 (http_load -c C -n REQS -w 1 -t $secs ... -H 'Authorization: Basic ...')"
for c in 1 8 32; do
    run_load http shim_GetEngineStatus_nocache "$c" "${gets[@]}" -n 100000 -w 1 -t "$secs"
done
say "   /healthz on 1 connection while 8 connections send GetEngineStatus (the password check runs on the HTTP threads):"
healthz_beside _nocache 8 "${gets[@]}"
mem_row shim-nocache "$pid_shim"
say ""

# ---- 5c. wrong passwords without the failed-login limit ----
section "5c. a wrong password, failed-login limit off (--auth.failures.max=0: every call is one yescrypt check and a 401)"
restart_shim --auth.failures.max=0
say "   command: http_load -c C -n REQS -w 1 -t $secs -m POST -u $base/GetEngineStatus -H 'Authorization: Basic <wrong password>' (expects 401)"
for c in 1 8; do
    run_load http shim_wrong_password "$c" "${bad[@]}" -n 100000 -w 1 -t "$secs"
done
say ""

# ---- 5d. Bearer JWT ----
section "5d. GetEngineStatus with a Bearer JWT (HS256) instead of Basic"
if [ -n "$bearer" ]; then
    restart_shim --auth.jwt.hs256.key.file="$tmp/jwt.key" --auth.jwt.issuer="$jwt_iss" --auth.jwt.audience=erpsync
    code=$(curl -s -o "$tmp/bearer.json" -w '%{http_code}' -X POST -H "$bearer" "http://127.0.0.1:$hport$base/GetEngineStatus")
    [ "$code" = 200 ] || die "the Bearer token was refused ($code): $(cat "$tmp/bearer.json")"
    say "   token: HS256, claims iss=$jwt_iss aud=erpsync sub=bench-jwt tenant=tenant-bench role=admin exp=now+2h (PyJWT), ${#token} bytes"
    say "   command: http_load -c C -n REQS -w 1 -t $secs -m POST -u $base/GetEngineStatus -H 'Authorization: Bearer ...'"
    bear=(-p "$hport" -m POST -u "$base/GetEngineStatus" -H "$bearer" -e 200)
    for c in 1 8 32; do
        run_load http shim_GetEngineStatus_bearer "$c" "${bear[@]}" -n 100000 -w 1 -t "$secs"
    done
    mem_row shim-jwt "$pid_shim"
else
    say "   skipped: PyJWT is missing (pip install pyjwt)"
fi
say ""

# ---- 5e. WebAPI options on one request shape ----
oc=8
section "5e. WebAPI options on GetEngineStatus: $oc connections, Basic (cached), engine running (StatusMessage carries a date, rendered with ICU)"
restart_shim
curl -fs -X POST -H "$auth" -H "Content-Type: application/json" -d '{"Run": true}' \
    "http://127.0.0.1:$hport$base/ChangeEngineStatus" >/dev/null || die "ChangeEngineStatus {\"Run\": true} failed"
running_with_date() { # the first iteration done: "next iteration at <date>"
    curl -fs -X POST -H "$auth" "http://127.0.0.1:$hport$base/GetEngineStatus" | grep -q '"IsRunning":true.*next iteration at'
}
wait_until 20 "the engine to run with a next iteration" running_with_date
variant() { # NAME: sets vpath, vhdr (curl/http_load -H arguments) and vdesc
    vpath=$base/GetEngineStatus vhdr=()
    case $1 in
    json) vdesc="plain JSON" ;;
    xml) vdesc="XML (Accept: application/xml)"; vhdr=(-H "Accept: application/xml") ;;
    nb_oslo) vdesc="Accept-Language: nb, SO-TimeZone: Europe/Oslo"
        vhdr=(-H "Accept-Language: nb" -H "SO-TimeZone: Europe/Oslo") ;;
    nb_oslo_offset) vdesc="the same + includeTZOffset"
        vhdr=(-H "Accept-Language: nb" -H "SO-TimeZone: Europe/Oslo, includeTZOffset") ;;
    select) vdesc="\$select=IsRunning,TableRight/Mask"; vpath="$base/GetEngineStatus?\$select=IsRunning,TableRight/Mask" ;;
    all) vdesc="XML + nb + Oslo + includeTZOffset + \$select"
        vpath="$base/GetEngineStatus?\$select=IsRunning,TableRight/Mask"
        vhdr=(-H "Accept: application/xml" -H "Accept-Language: nb" -H "SO-TimeZone: Europe/Oslo, includeTZOffset") ;;
    esac
}
# Three rounds of all variants, one after the other. The summary averages
# the rounds in which both of the shim's HTTP threads worked (a round whose
# 8 connections all sat on one thread measures that, not the option).
options="json xml nb_oslo nb_oslo_offset select all"
say "   command: http_load -c $oc -n 100000 -w 5 -t $secs -m POST -u PATH -H 'Authorization: Basic ...' [-H ...], per variant, three rounds:"
for v in $options; do
    variant "$v"
    code=$(curl -s -o "$tmp/opt-$v.body" -w '%{http_code}' -X POST -H "$auth" "${vhdr[@]}" "http://127.0.0.1:$hport$vpath")
    bytes=$(wc -c <"$tmp/opt-$v.body")
    echo "webapi,$v,$oc,body_bytes,$bytes" >>"$csv"
    say "   $v: $vdesc; PATH $vpath; answer $code, $bytes bytes"
    [ "$code" = 200 ] || say "   NOTE: $v answered $code: $(head -c 300 "$tmp/opt-$v.body")"
done
msg=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["StatusMessage"])' "$tmp/opt-nb_oslo_offset.body" 2>/dev/null || echo '?')
say "   StatusMessage with nb, Europe/Oslo, includeTZOffset: $msg"
rounds="webapi webapi_r2 webapi_r3"
for round in $rounds; do
    for v in $options; do
        variant "$v"
        run_load "$round" "$v" "$oc" "${gets[@]}" -u "$vpath" "${vhdr[@]}" -n 100000 -w 5 -t "$secs"
    done
done
curl -fs -X POST -H "$auth" -H "Content-Type: application/json" -d '{"Run": false}' \
    "http://127.0.0.1:$hport$base/ChangeEngineStatus" >/dev/null || say "   NOTE: ChangeEngineStatus {\"Run\": false} failed"
mem_row shim-webapi "$pid_shim"
say ""

state_bytes=$(wc -c <"$tmp/state/$engine.state.json" 2>/dev/null || echo 0)
say "the agent's state file is now $state_bytes bytes (rewritten and fsynced for every command)"
echo "state,file,1,bytes,$state_bytes" >>"$csv"
say ""

# ---- where a ChangeEngineStatus spends its time (Kafka timestamps) ----
breakdown=""
if command -v kcat >/dev/null 2>&1; then
    for t in erpsync.commands erpsync.status; do
        timeout 60 kcat -C -b "$broker" -t "$t" -e -q -J -X isolation.level=read_committed \
            >"$tmp/$t.json" 2>/dev/null || true
    done
    breakdown=$(for c in 1 4 16; do
        [ -s "$tmp/ces-c$c.log" ] || continue
        echo "  ChangeEngineStatus with $c connection(s):"
        python3 "$here/breakdown.py" --param "$c" "$tmp/ces-c$c.log" "$tmp/erpsync.commands.json" \
            "$tmp/erpsync.status.json" "$csv" || true
    done)
fi
timeouts=$((shim_timeouts + $(shim_metric erpsync_shim_requests_timed_out_total)))
echo "shim,metrics,1,timeouts,$timeouts" >>"$csv"

# ---- 6. agent restart on the devbroker ----
# The devbroker (librdkafka's mock cluster) accepts transactional offset
# commits but does not store them, so a restarted agent starts again from
# the first command of its partition and works through all of them before
# it reaches a new one.
section "6. agent restart on the devbroker (the mock cluster does not store transactional offset commits)"
sent=$((shim_sent + $(shim_metric erpsync_shim_commands_sent_total)))
say "   commands in the topic so far: $sent from the shims + $((burst + 20)) from bench_agent_burst"
lines0=$(wc -l <"$tmp/agent.log")
forget_pid "$pid_agent"
start_agent
say "   agent restarted; command: $tools/bench_agent_burst -b $broker -e $engine -n 1 (time to the first new answer)"
"$tools/bench_agent_burst" -b "$broker" -e "$engine" -n 1 -L agent-restart -o "$csv" | tee_txt ||
    say "   (no answer within 60 s)"
sleep 1
dups=$(tail -n +"$((lines0 + 1))" "$tmp/agent.log" | grep -c 'was applied before' || true)
expired=$(tail -n +"$((lines0 + 1))" "$tmp/agent.log" | grep -c 'not applied' || true)
say "   after the restart the agent re-answered $dups old commands as duplicates (status + NoChange audit each)"
say "   and audited $expired old commands as Expired (older than its ring of 1024 remembered ids)"
echo "restart,agent,1,duplicates,$dups" >>"$csv"
echo "restart,agent,1,expired,$expired" >>"$csv"
say ""

# ---- 7. what the 10 ms fetch wait costs on the devbroker ----
# The devbroker (librdkafka's mock cluster) answers an empty Fetch only after
# the full fetch.wait.max.ms, even when a record arrives meanwhile, so every
# consumer hop waits for it. Same measurements with 1 ms on a fresh devbroker,
# so the two runs share no history.
n8=$((N / 2))
forget_pid "$pid_shim"
forget_pid "$pid_agent"
forget_pid "$pid_broker"
kport=$(free_port)
state=$tmp/state-fw1
mkdir -p "$state"
start_broker
start_erpsync -X fetch.wait.max.ms=1
section "7. fetch.wait.max.ms=1 instead of erpsync's default 10 (the devbroker answers an empty fetch only after the full wait)"
say "   fresh devbroker $broker; agent and shim started with -X fetch.wait.max.ms=1"
say "   command: $tools/bench_kafka_rtt -b $broker -n $n8 -w 20 -f 1 -m plain,txn-audit-fsync -d $state"
"$tools/bench_kafka_rtt" -b "$broker" -n "$n8" -w 20 -f 1 -m plain,txn-audit-fsync -d "$state" -o "$csv" | tee_txt
say "   command: http_load -c 1 -n $n8 -w 20 (same request as 3.)"
cpu_begin
sleep 3
cpu_end idle idle-fw1 0 0
ces1=(-p "$hport" -m POST -u "$base/ChangeEngineStatus" -H "$auth"
    -H "Content-Type: application/json" -d '{"Run": true}' -d '{"Run": false}'
    -e 200 -o "$csv" -S ces -L ChangeEngineStatus-fw1)
"$tools/http_load" "${ces1[@]}" -c 1 -n "$n8" -w 20 -t 120 | tee_txt || say "   (run failed)"
say ""

# ---- 8. read your writes across shims (tests/bench/ryw.sh) ----
# Processes of its own (devbroker, a real single-node Kafka, agent, three
# shims, nginx); its tables also go to $out/ryw.txt and ryw.csv.
# BENCH_RYW=0 skips it.
if [ "${BENCH_RYW:-1}" = 1 ]; then
    BENCH_RESULTS=$out "$here/ryw.sh" "$build" | tee_txt || say "   (ryw.sh failed)"
    say ""
fi

# ---- summary tables ----
row_lat() { # LABEL SECTION NAME PARAM
    printf '%-34s %8s %8s %8s %8s %8s\n' "$1" "$(fmt "$(get "$2" "$3" "$4" p50_ms)")" \
        "$(fmt "$(get "$2" "$3" "$4" p90_ms)")" "$(fmt "$(get "$2" "$3" "$4" p99_ms)")" \
        "$(fmt "$(get "$2" "$3" "$4" max_ms)")" "$(fmt "$(get "$2" "$3" "$4" mean_ms)")"
}
row_ratio() { # LABEL SECTION NAME PARAM  (erpsync c=1 over this baseline)
    local m out=""
    for m in p50_ms p90_ms p99_ms max_ms mean_ms; do
        out="$out $(printf '%8s' "$(ratio "$(get ces ChangeEngineStatus 1 $m)" "$(get "$2" "$3" "$4" $m)")")"
    done
    printf '%-34s%s\n' "$1" "$out"
}
{
    echo
    echo "==================================== SUMMARY ===================================="
    echo
    echo "Table 1. Latency: erpsync ChangeEngineStatus (HTTP, 1 connection) vs raw Kafka round trips (ms)"
    printf '%-34s %8s %8s %8s %8s %8s\n' "" p50 p90 p99 max mean
    row_lat "kafka plain (1 hop)" kafka_rtt plain 1
    row_lat "kafka txn (2 hops + commit)" kafka_rtt txn 1
    row_lat "kafka txn + audit record" kafka_rtt txn-audit 1
    row_lat "kafka txn + audit + state fsync" kafka_rtt txn-audit-fsync 1
    row_lat "kafka txn+audit+fsync, with DR cb" kafka_rtt txn-audit-fsync-dr 1
    row_lat "erpsync ChangeEngineStatus" ces ChangeEngineStatus 1
    row_lat "  of which: yescrypt check (alone)" micro yescrypt 1
    row_lat "  of which: state write+fsync (alone)" micro fsync 1
    echo "inside the responder of the txn+audit+fsync baseline, per request:"
    row_lat "  commit_transaction()" kafka_rtt txn-audit-fsync:commit 1
    row_lat "  commit_transaction(), with DR cb" kafka_rtt txn-audit-fsync-dr:commit 1
    row_lat "  send_offsets_to_transaction()" kafka_rtt txn-audit-fsync:send-offsets 1
    row_lat "  state write + fsync" kafka_rtt txn-audit-fsync:state-fsync 1
    row_lat "kafka plain, fetch.wait.max.ms=1" kafka_rtt plain-fw1 1
    row_lat "kafka txn+audit+fsync, fetch wait 1" kafka_rtt txn-audit-fsync-fw1 1
    row_lat "erpsync, -X fetch.wait.max.ms=1" ces ChangeEngineStatus-fw1 1
    echo "ratio erpsync / baseline:"
    row_ratio "  / kafka plain" kafka_rtt plain 1
    row_ratio "  / kafka txn" kafka_rtt txn 1
    row_ratio "  / kafka txn + audit + fsync" kafka_rtt txn-audit-fsync 1
    printf '%-34s%s\n' "  fetch wait 1: erpsync / txn+a+f" "$(for m in p50_ms p90_ms p99_ms max_ms mean_ms; do printf ' %8s' "$(ratio "$(get ces ChangeEngineStatus-fw1 1 $m)" "$(get kafka_rtt txn-audit-fsync-fw1 1 $m)")"; done)"
    if [ -n "$breakdown" ]; then
        echo
        echo "Table 1b. Where a ChangeEngineStatus spends its time (ms; from Kafka record timestamps,"
        echo "          which have 1 ms resolution, so a segment under 1 ms can come out negative)."
        echo "          shim in: HTTP + authentication (credential cache) + produce;"
        echo "          to agent: delivery + agent fetch + apply + state fsync, up to the status produce;"
        echo "          back: transaction commit + read_committed visibility + shim fetch + answer"
        echo "$breakdown"
    fi
    echo
    echo "Table 2. HTTP: shim GetEngineStatus (read your writes, Basic, credential cache on: the defaults) vs nginx with the same body"
    printf '%-5s %9s %6s %6s %3s | %9s %6s %6s | %9s %6s %6s | %7s %7s | %9s %7s\n' conns "shim r/s" p50 p99 thr "nginx r/s" p50 p99 \
        "close r/s" p50 p99 "/nginx" "/close" "healthz/s" "conn/rq"
    for c in 1 8 32; do
        printf '%-5s %9s %6s %6s %3s | %9s %6s %6s | %9s %6s %6s | %7s %7s | %9s %7s\n' "$c" \
            "$(fmt "$(get http shim_GetEngineStatus $c rps)" 1)" \
            "$(fmt "$(get http shim_GetEngineStatus $c p50_ms)")" \
            "$(fmt "$(get http shim_GetEngineStatus $c p99_ms)")" \
            "$(get cpu_http shim_GetEngineStatus $c shim_http_threads_busy)" \
            "$(fmt "$(get http nginx_POST $c rps)" 1)" \
            "$(fmt "$(get http nginx_POST $c p50_ms)")" \
            "$(fmt "$(get http nginx_POST $c p99_ms)")" \
            "$(fmt "$(get http nginx_POST_close $c rps)" 1)" \
            "$(fmt "$(get http nginx_POST_close $c p50_ms)")" \
            "$(fmt "$(get http nginx_POST_close $c p99_ms)")" \
            "$(ratio "$(get http shim_GetEngineStatus $c rps)" "$(get http nginx_POST $c rps)")" \
            "$(ratio "$(get http shim_GetEngineStatus $c rps)" "$(get http nginx_POST_close $c rps)")" \
            "$(fmt "$(get http shim_healthz $c rps)" 1)" \
            "$(awk -v a="$(get http shim_GetEngineStatus $c reconnects)" -v b="$(get http shim_GetEngineStatus $c n)" \
                'BEGIN { if (a == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }')"
    done
    echo "(close: nginx with the client sending 'Connection: close'; /nginx and /close: shim r/s over those;"
    echo " thr: the shim's HTTP threads that did at least 10% of its HTTP work (of http.threads=2; 1 at c>1: all connections on one thread);"
    echo " healthz: the shim without auth; conn/rq: new TCP connections per shim request, 1.00 when the shim closes every connection)"
    echo
    echo "Table 2a. GetEngineStatus by credential, requests/s (same body; nginx from table 2)"
    printf '%-5s %10s %10s %10s | %10s %10s | %8s %8s %8s | %9s %9s\n' conns "Basic" "Basic" "Bearer" "nginx" "nginx" \
        "cached" "no cache" "Bearer" "no cache" "Bearer"
    printf '%-5s %10s %10s %10s | %10s %10s | %8s %8s %8s | %9s %9s\n' "" "cached" "no cache" "HS256" "keep-alive" "close" \
        "/nginx" "/nginx" "/nginx" "/cached" "/cached"
    for c in 1 8 32; do
        printf '%-5s %10s %10s %10s | %10s %10s | %8s %8s %8s | %9s %9s\n' "$c" \
            "$(fmt "$(get http shim_GetEngineStatus $c rps)" 1)" \
            "$(fmt "$(get http shim_GetEngineStatus_nocache $c rps)" 1)" \
            "$(fmt "$(get http shim_GetEngineStatus_bearer $c rps)" 1)" \
            "$(fmt "$(get http nginx_POST $c rps)" 1)" \
            "$(fmt "$(get http nginx_POST_close $c rps)" 1)" \
            "$(ratio "$(get http shim_GetEngineStatus $c rps)" "$(get http nginx_POST $c rps)")" \
            "$(ratio "$(get http shim_GetEngineStatus_nocache $c rps)" "$(get http nginx_POST $c rps)")" \
            "$(ratio "$(get http shim_GetEngineStatus_bearer $c rps)" "$(get http nginx_POST $c rps)")" \
            "$(ratio "$(get http shim_GetEngineStatus_nocache $c rps)" "$(get http shim_GetEngineStatus $c rps)")" \
            "$(ratio "$(get http shim_GetEngineStatus_bearer $c rps)" "$(get http shim_GetEngineStatus $c rps)")"
    done
    echo "latency p50 / p99 (ms):"
    for c in 1 8 32; do
        printf '%-5s' "$c"
        for l in shim_GetEngineStatus shim_GetEngineStatus_nocache shim_GetEngineStatus_bearer nginx_POST nginx_POST_close; do
            printf ' %16s' "$(fmt "$(get http $l $c p50_ms)") / $(fmt "$(get http $l $c p99_ms)")"
        done
        echo
    done
    echo "      (columns: Basic cached, Basic no cache, Bearer, nginx keep-alive, nginx close)"
    one=$(awk -F, '$1 ~ /^cpu_(http|webapi)/ && $4 == "shim_http_threads_busy" && $5 == 1 && $3 > 1 { printf "%s%s c=%s", sep, $2, $3; sep = ", " }' "$csv")
    echo "shim runs with C > 1 whose connections all sat on one HTTP thread: ${one:-none}"
    ys=$(get micro yescrypt 1 p50_ms)
    echo "yescrypt alone: $(fmt "$ys") ms per check (p50), one at a time -> $(awk -v m="$ys" 'BEGIN { if (m > 0) printf "%.0f", 1000 / m; else print "-" }') checks/s per HTTP thread (http.threads=2)"
    for c in 1 8; do
        echo "wrong password, failed-login limit off, $c connection(s): $(fmt "$(get http shim_wrong_password $c rps)" 1) r/s, p50 $(fmt "$(get http shim_wrong_password $c p50_ms)") ms, p99 $(fmt "$(get http shim_wrong_password $c p99_ms)") ms ($(codes http shim_wrong_password $c))"
    done
    echo "wrong password, default limit, 8 connections: $(fmt "$(get http shim_wrong_password_limited 8 rps)" 1) r/s, p50 $(fmt "$(get http shim_wrong_password_limited 8 p50_ms)") ms ($(codes http shim_wrong_password_limited 8))"
    for spec in ":8" ":32" "_nocache:8"; do
        sfx=${spec%%:*} c=${spec##*:}
        echo "shim /healthz on 1 connection beside $c connections of GetEngineStatus ($([ -n "$sfx" ] && echo "cache off" || echo "cache on")): p50 $(fmt "$(get http_under_load shim_healthz_during_GetEngineStatus${sfx}_c$c 1 p50_ms)") ms, p99 $(fmt "$(get http_under_load shim_healthz_during_GetEngineStatus${sfx}_c$c 1 p99_ms)") ms, max $(fmt "$(get http_under_load shim_healthz_during_GetEngineStatus${sfx}_c$c 1 max_ms)") ms (background: $(codes http_bg shim_GetEngineStatus_bg$sfx $c))"
    done
    echo "  (idle: /healthz p50 $(fmt "$(get http shim_healthz 1 p50_ms)") ms)"
    echo "shim CPU per request at 8 connections (ms): GetEngineStatus cache on $(fmt "$(get cpu_http shim_GetEngineStatus 8 shim_ms_per_req)" 3), cache off $(fmt "$(get cpu_http shim_GetEngineStatus_nocache 8 shim_ms_per_req)" 3), Bearer $(fmt "$(get cpu_http shim_GetEngineStatus_bearer 8 shim_ms_per_req)" 3); /healthz $(fmt "$(get cpu_http shim_healthz 8 shim_ms_per_req)" 3)"
    echo "  cache off minus cache on: $(awk -v a="$(get cpu_http shim_GetEngineStatus_nocache 8 shim_ms_per_req)" -v b="$(get cpu_http shim_GetEngineStatus 8 shim_ms_per_req)" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.3f", a - b }') ms (yescrypt alone, p50: $(fmt "$ys") ms)"
    echo
    echo "Table 2c. WebAPI options on GetEngineStatus, $oc connections, Basic (cached); engine running, so StatusMessage"
    echo "          carries a date rendered with ICU. Three rounds of all variants; values are the mean of the rounds in"
    echo "          which both shim HTTP threads worked (used: those rounds / all); ratios against plain JSON, same treatment"
    printf '%-46s %5s %8s %5s %5s %6s %4s | %5s %5s %5s %5s\n' variant bytes "r/s" p50 p99 "CPU ms" used "r/s" p50 p99 CPU
    for v in $options stopped; do
        if [ "$v" = stopped ]; then
            secs_=http lab=shim_GetEngineStatus vdesc="plain JSON, engine stopped (sect. 5, no date)" b=$body_bytes
        else
            variant "$v"
            secs_=$rounds lab=$v b=$(get webapi "$v" $oc body_bytes)
        fi
        printf '%-46s %5s %8s %5s %5s %6s %4s | %5s %5s %5s %5s\n' "$vdesc" "$b" \
            "$(fmt "$(balmean "$secs_" $lab $oc rps)" 0)" "$(fmt "$(balmean "$secs_" $lab $oc p50_ms)")" \
            "$(fmt "$(balmean "$secs_" $lab $oc p99_ms)")" "$(fmt "$(balmean "$secs_" $lab $oc shim_ms_per_req cpu_)" 3)" \
            "$(balused "$secs_" $lab $oc)" \
            "$(ratio "$(balmean "$secs_" $lab $oc rps)" "$(balmean "$rounds" json $oc rps)")" \
            "$(ratio "$(balmean "$secs_" $lab $oc p50_ms)" "$(balmean "$rounds" json $oc p50_ms)")" \
            "$(ratio "$(balmean "$secs_" $lab $oc p99_ms)" "$(balmean "$rounds" json $oc p99_ms)")" \
            "$(ratio "$(balmean "$secs_" $lab $oc shim_ms_per_req cpu_)" "$(balmean "$rounds" json $oc shim_ms_per_req cpu_)")"
    done
    echo "(CPU ms: the shim's CPU per request; ratios: this variant / plain JSON; the stopped-engine row is one run of section 5)"
    echo "per round, requests/s and busy HTTP threads:"
    for v in $options; do
        printf '  %-15s' "$v"
        for r in $rounds; do
            printf ' %9s (%s thr, %s)' "$(fmt "$(get $r $v $oc rps)" 0)" "$(get cpu_$r $v $oc shim_http_threads_busy)" "$(codes $r $v $oc)"
        done
        echo
    done
    echo
    echo "Table 3. ChangeEngineStatus throughput (every call goes through Kafka and the agent)"
    printf '%-6s %8s %10s %8s %8s %8s %s\n' conns n "req/s" p50 p99 max "status codes"
    for c in 1 4 16; do
        printf '%-6s %8s %10s %8s %8s %8s %s\n' "$c" "$(fmt "$(get ces ChangeEngineStatus $c n)" 0)" \
            "$(fmt "$(get ces ChangeEngineStatus $c rps)" 1)" \
            "$(fmt "$(get ces ChangeEngineStatus $c p50_ms)")" \
            "$(fmt "$(get ces ChangeEngineStatus $c p99_ms)")" \
            "$(fmt "$(get ces ChangeEngineStatus $c max_ms)")" "$(codes ces ChangeEngineStatus $c)"
    done
    echo "shim 504 answers (no status before the deadline) in the whole run: ${timeouts:-0}"
    echo "the agent alone, $burst commands queued at once (no shim, no password checks): $(fmt "$(get agent_burst agent $burst rps)" 1) commands/s,"
    echo "  per command p50 $(fmt "$(get agent_burst agent $burst p50_ms)" 0) ms, max $(fmt "$(get agent_burst agent $burst max_ms)" 0) ms (waiting in the queue included);"
    echo "  agent CPU $(fmt "$(get cpu_agent_burst agent $burst agent_ms_per_req)" 3) ms per command"
    echo "after an agent restart on the devbroker: first new command answered after $(fmt "$(get agent_burst agent-restart 1 max_ms)" 0) ms;"
    echo "  $(get restart agent 1 duplicates) old commands re-answered as duplicates, $(get restart agent 1 expired) audited Expired"
    echo
    echo "Table 4. CPU time per request (ms, from /proc/PID/stat; includes each process's idle polling)"
    printf '%-34s %8s %8s %10s %8s\n' "" shim agent devbroker nginx
    for spec in "ces ChangeEngineStatus 1" "ces ChangeEngineStatus 16" "http shim_GetEngineStatus 8" \
        "http shim_GetEngineStatus_nocache 8" "http shim_GetEngineStatus_bearer 8" "webapi json 8" "webapi all 8" \
        "http shim_healthz 8" "http nginx_POST 8" "http nginx_POST_close 8"; do
        set -- $spec
        printf '%-34s %8s %8s %10s %8s\n' "$2 c=$3" \
            "$(fmt "$(get "cpu_$1" "$2" "$3" shim_ms_per_req)" 3)" \
            "$(fmt "$(get "cpu_$1" "$2" "$3" agent_ms_per_req)" 3)" \
            "$(fmt "$(get "cpu_$1" "$2" "$3" devbroker_ms_per_req)" 3)" \
            "$(fmt "$(get "cpu_$1" "$2" "$3" nginx_ms_per_req)" 3)"
    done
    for l in idle idle-fw1; do
        printf '%-34s %7s%% %7s%% %9s%% %7s%%\n' "$l (CPU % of one core, no load)" \
            "$(fmt "$(get cpu_idle $l 0 shim_cpu_pct)" 1)" "$(fmt "$(get cpu_idle $l 0 agent_cpu_pct)" 1)" \
            "$(fmt "$(get cpu_idle $l 0 devbroker_cpu_pct)" 1)" "$(fmt "$(get cpu_idle $l 0 nginx_cpu_pct)" 1)"
    done
    echo "(idle-fw1: agent and shim with -X fetch.wait.max.ms=1)"
    echo "(per-request CPU of an HTTP server runs on the same 2 CPUs as the load generator)"
    echo
    echo "Table 5. Memory after the load (KiB, /proc/PID/status; nginx = master + workers; agent, devbroker, nginx after section 5)"
    printf '%-12s %10s %10s\n' process VmHWM VmRSS
    for p in agent shim shim-nocache shim-jwt shim-webapi devbroker nginx; do
        printf '%-12s %10s %10s\n' "$p" "$(get memory $p 1 vmhwm_kib)" "$(get memory $p 1 vmrss_kib)"
    done
    echo "(shim: after section 5, cache on; shim-nocache after 5b, shim-jwt after 5d, shim-webapi after 5e: each a fresh process)"
} | tee_txt

# ---- plots, when matplotlib is there ----
if python3 -c 'import matplotlib' 2>/dev/null; then
    # Into docs/img only for the default results; a run elsewhere keeps its
    # plots next to its results.
    plots=$src/docs/img
    [ -n "${BENCH_RESULTS:-}" ] && plots=$out
    python3 "$here/plot.py" "$csv" "$plots" | tee_txt || say "plot.py failed"
else
    say "(no matplotlib: pip install matplotlib, then python3 tests/bench/plot.py $csv docs/img)"
fi
say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "results: $txt and $csv"
