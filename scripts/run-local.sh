#!/usr/bin/env bash
# make run: a Kafka broker, one agent and one shim on localhost, in the
# foreground. Ctrl-C, SIGTERM or SIGHUP (the terminal closed) stops all of
# them, newest first; if this script dies some other way (SIGKILL), nothing it
# started outlives it. Any failure exits non-zero and names its cause.
#
# Settings from the environment:
#   ERPSYNC_BROKER        auto (default), kafka or devbroker. auto runs Apache
#                         Kafka (KRaft, tests/kafka/kafka.sh) when Java is
#                         installed, else erpsync-devbroker (librdkafka's mock,
#                         which only librdkafka clients can read)
#   ERPSYNC_KAFKA_PORT    Kafka's port on 127.0.0.1 (9092)
#   ERPSYNC_HTTP_PORT     the shim's REST port on 127.0.0.1 (8080)
#   ERPSYNC_ENGINE        the engine id (demo)
#   ERPSYNC_RUN_DIR       state, users file and logs (.run)
#   ERPSYNC_DEMO_USER / ERPSYNC_DEMO_PASSWORD  demo credentials (else generated)
set -euo pipefail

build=${1:-build}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kport=${ERPSYNC_KAFKA_PORT:-9092}
hport=${ERPSYNC_HTTP_PORT:-8080}
engine=${ERPSYNC_ENGINE:-demo}
dir=${ERPSYNC_RUN_DIR:-.run}
broker_kind=${ERPSYNC_BROKER:-auto}
user=${ERPSYNC_DEMO_USER:-demo}
password=${ERPSYNC_DEMO_PASSWORD:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}

# Children this script started, newest first, with their names; the pid of
# the watchdog that stops them if this script is killed.
pids=()
names=()
kafka_dir=""
guard=""

say() { printf '%s\n' "$*" 2>/dev/null || true; }
fail() {
    printf 'make run: %s\n' "$*" >&2
    exit 1
}

# True while pid runs (a zombie child does not count).
alive() {
    local st
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# SIGTERM to one child, SIGKILL after 15 s, then reaped.
stop_one() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        say "make run: ${2:-$pid} did not stop within 15 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Newest first, each finished before the next: the agent commits while the
# broker is still there.
stop_all() {
    local i
    for i in "${!pids[@]}"; do
        stop_one "${pids[i]}" "${names[i]}"
    done
    pids=()
    if [[ -n "$kafka_dir" ]]; then
        "$src/tests/kafka/kafka.sh" stop --dir "$kafka_dir" >/dev/null 2>&1 || true
        kafka_dir=""
    fi
    if [[ -n "$guard" ]]; then
        kill -TERM "$guard" 2>/dev/null || true
        wait "$guard" 2>/dev/null || true
    fi
}

# A failure (rc != 0) or the end of the script: stop everything, keep rc.
on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP PIPE
    stop_all
    exit "$rc"
}

# A stop someone asked for: a clean stop exits 0.
on_signal() {
    trap - EXIT INT TERM HUP PIPE
    say ""
    say "make run: $1: stopping ${names[*]:-nothing}${kafka_dir:+ and Kafka}"
    stop_all
    exit 0
}

trap on_exit EXIT
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGHUP' HUP
trap 'on_signal SIGPIPE' PIPE

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Runs a program in a session of its own (Ctrl-C reaches only this script,
# which stops them in order) that gets SIGTERM should this script die.
start_child() {
    local name=$1
    shift
    setpriv --pdeathsig TERM setsid "$@" >"$dir/$name.log" 2>&1 </dev/null &
    pids=("$!" "${pids[@]}")
    names=("$name" "${names[@]}")
    printf '%s\n' "${pids[@]}" >"$dir/pids"
}

# Started (in a session of its own) only when Kafka runs: the JVMs are not
# our children, so pdeathsig cannot reach them. If this script disappears
# without stopping them (SIGKILL), the watchdog does.
start_guard() {
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null; do sleep 1; done
        exec "$2" stop --dir "$3"' guard "$$" "$src/tests/kafka/kafka.sh" \
        "$kafka_dir" >/dev/null 2>&1 </dev/null &
    guard=$!
}

# Fails with the last lines of a child's log.
child_failed() {
    local name=$1 what=$2
    printf 'make run: %s %s; last lines of %s/%s.log:\n' "$name" "$what" \
        "$dir" "$name" >&2
    tail -n 8 "$dir/$name.log" | sed 's/^/    /' >&2
    exit 1
}

# Apache Kafka needs Java, and Maven once to fetch its jars
# (tests/kafka/kafka.sh caches them under ~/.m2).
kafka_possible() {
    command -v java >/dev/null 2>&1 || return 1
    command -v mvn >/dev/null 2>&1 ||
        compgen -G "${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}/../erpsync-kafka/classpath-*.txt" >/dev/null
}

choose_broker() {
    case "$broker_kind" in
    devbroker | kafka) ;;
    auto)
        if kafka_possible; then
            broker_kind=kafka
        else
            broker_kind=devbroker
            say "make run: no Java (or no Maven to fetch Kafka once), so the" \
                "broker is erpsync-devbroker, which only librdkafka clients" \
                "(kcat, erpsyncctl) can read"
        fi
        ;;
    *) fail "ERPSYNC_BROKER must be auto, kafka or devbroker, not '$broker_kind'" ;;
    esac
}

start_devbroker() {
    local i
    rm -f "$dir/broker" # a stale one would hide a broker that failed
    start_child devbroker "$build/devbroker/erpsync-devbroker" \
        --port="$kport" --port.file="$dir/broker"
    for ((i = 0; i < 100; i++)); do
        [[ -s "$dir/broker" ]] && break
        alive "${pids[0]}" || child_failed devbroker "exited during start-up"
        sleep 0.1
    done
    [[ -s "$dir/broker" ]] || child_failed devbroker "did not start within 10 s"
    broker=$(<"$dir/broker")
    broker_name="erpsync-devbroker (librdkafka clients only)"
}

start_kafka() {
    kafka_dir="$(cd "$dir" && pwd)/kafka"
    rm -rf "$kafka_dir"
    mkdir -p "$kafka_dir"
    start_guard
    say "make run: starting Apache Kafka 3.8.1 (KRaft) on 127.0.0.1:$kport ..."
    if ! "$src/tests/kafka/kafka.sh" start --dir "$kafka_dir" --port "$kport" \
        >"$dir/kafka.log" 2>&1 ||
        ! "$src/tests/kafka/kafka.sh" create-topics --dir "$kafka_dir" \
            >>"$dir/kafka.log" 2>&1; then
        child_failed kafka "did not start"
    fi
    broker=$(<"$kafka_dir/bootstrap") || fail "no $kafka_dir/bootstrap after Kafka started"
    broker_name="Apache Kafka 3.8.1, KRaft (any Kafka client)"
}

# Waits for the shim's /readyz while every child still runs.
wait_ready() {
    local i n
    for ((i = 0; i < 300; i++)); do
        for n in "${!pids[@]}"; do
            alive "${pids[n]}" || child_failed "${names[n]}" "exited during start-up"
        done
        if curl -fs "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    child_failed shim "did not become ready within 30 s"
}

prepare() {
    local p hash
    for p in "$build/agent/erpsync-agent" "$build/shim/erpsync-shim" \
        "$build/devbroker/erpsync-devbroker"; do
        [[ -x "$p" ]] || fail "$p is not built (run: make build)"
    done
    command -v setpriv >/dev/null || fail "setpriv is missing (apt-get install util-linux)"
    [[ "$kport" =~ ^[0-9]+$ && "$hport" =~ ^[0-9]+$ ]] ||
        fail "ERPSYNC_KAFKA_PORT and ERPSYNC_HTTP_PORT must be port numbers"
    port_taken "$kport" && fail "port $kport (Kafka) is in use; set ERPSYNC_KAFKA_PORT"
    port_taken "$hport" && fail "port $hport (REST) is in use; set ERPSYNC_HTTP_PORT"
    mkdir -p "$dir/state" || fail "cannot create $dir"
    rm -f "$dir/pids"
    umask 077
    hash=$(printf '%s\n' "$password" | "$build/shim/erpsync-shim" --hash-password) ||
        fail "could not hash the demo password"
    printf '%s:%s:%s:admin\n' "$user" "$hash" "tenant-$engine" >"$dir/users"
    printf '%s:%s\n' "tenant-$engine" "$engine" >"$dir/tenants"
}

banner() {
    local ctl_line=""
    if [[ -x "$build/ctl/erpsyncctl" ]]; then
        ctl_line="  $build/ctl/erpsyncctl --bootstrap.servers=$broker watch
"
    fi
    cat <<EOT

erpsync is running (logs in $dir/):
  Kafka              $broker  ($broker_name)
  REST (shim)        http://127.0.0.1:$hport/api/v1/Agents/ErpSync/
  engine             $engine
  demo credentials   $user / $password

Start the engine:
  curl -s -u '$user:$password' -H 'Content-Type: application/json' \\
       -d '{"Run": true}' http://127.0.0.1:$hport/api/v1/Agents/ErpSync/ChangeEngineStatus

Watch the status topic:
${ctl_line}  kcat -C -b $broker -t erpsync.status -X isolation.level=read_committed -f '%k %h %s\\n'

Ctrl-C stops everything.
EOT
}

main() {
    local n
    choose_broker
    prepare
    if [[ "$broker_kind" == kafka ]]; then start_kafka; else start_devbroker; fi
    start_child agent "$build/agent/erpsync-agent" --engine.id="$engine" \
        --bootstrap.servers="$broker" --state.dir="$dir/state"
    start_child shim "$build/shim/erpsync-shim" --bootstrap.servers="$broker" \
        --users.file="$dir/users" --tenants.file="$dir/tenants" --listen.port="$hport"
    wait_ready
    banner
    # Signals end this wait at once; a child that exits ends the run.
    while :; do
        wait -n "${pids[@]}" 2>/dev/null || true
        for n in "${!pids[@]}"; do
            alive "${pids[n]}" || child_failed "${names[n]}" "exited"
        done
    done
}

main
