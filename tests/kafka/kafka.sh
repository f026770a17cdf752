#!/usr/bin/env bash
# Runs a real Apache Kafka (KRaft, combined broker+controller nodes) on
# loopback for the erpsync tests. The broker jars come from Maven (see
# pom.xml beside this script) and are cached in the local Maven repository.
#
#   kafka.sh start [--nodes 1|3] [--dir DIR] [--sasl] [--port P]
#   kafka.sh stop --dir DIR
#   kafka.sh create-topics --dir DIR [--replication N]
#   kafka.sh kill-node --dir DIR --node N
#   kafka.sh start-node --dir DIR --node N
#   kafka.sh leader --dir DIR --topic T [--partition P]
#   kafka.sh classpath
#
# start prints key=value lines on stdout, the last one being
# `bootstrap.servers=127.0.0.1:PORT[,...]`; everything meant for people goes
# to stderr. For fault tests, kill-node SIGKILLs one node's broker, start-node
# runs it again on its old data and ports (both print their timing on
# stderr only), and leader prints the node.id leading a partition (P
# defaults to 0). See README.md beside this script.
#
# Environment (all optional):
#   JAVA                      java binary (default: java on PATH)
#   MVN                       mvn binary (default: mvn on PATH)
#   KCAT                      kcat binary for the readiness checks (default: kcat
#                             on PATH; without it the Java TopicCommand is used)
#   MAVEN_REPO_LOCAL          local Maven repository (default ~/.m2/repository)
#   KAFKA_HEAP_OPTS           broker heap (default -Xms256m -Xmx512m)
#   KAFKA_GC_OPTS             broker GC options (default G1 as in Kafka's own scripts)
#   KAFKA_JVM_OPTS            extra broker JVM options, last on the command line
#                             (brokers run C1-only, -XX:TieredStopAtLevel=1: starts
#                             faster and smaller; -XX:TieredStopAtLevel=4 undoes it)
#   KAFKA_START_TIMEOUT       seconds to wait for the brokers (default 120)
#   KAFKA_STOP_TIMEOUT        seconds between SIGTERM and SIGKILL (default 20)
#   KAFKA_SASL_USER / KAFKA_SASL_PASSWORD    erpsync's SCRAM user (erpsync / erpsync-secret)
#   KAFKA_ADMIN_USER / KAFKA_ADMIN_PASSWORD  super user (admin / admin-secret)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
POM="$HERE/pom.xml"
PROG="kafka.sh"

JAVA=${JAVA:-java}
MVN=${MVN:-mvn}
KCAT=${KCAT:-kcat}
MAVEN_REPO_LOCAL=${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_GC_OPTS=${KAFKA_GC_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent}
KAFKA_JVM_OPTS=${KAFKA_JVM_OPTS:-}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-120}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-20}
SASL_USER=${KAFKA_SASL_USER:-erpsync}
SASL_PASSWORD=${KAFKA_SASL_PASSWORD:-erpsync-secret}
ADMIN_USER=${KAFKA_ADMIN_USER:-admin}
ADMIN_PASSWORD=${KAFKA_ADMIN_PASSWORD:-admin-secret}
# JVM options for the short-lived command line tools: quick start, small heap.
TOOL_JVM_OPTS=(-Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)
MARKER=".erpsync-kafka"

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage() {
    sed -n '6,12p' "${BASH_SOURCE[0]}" | sed 's/^#   //' >&2
    exit 2
}
now() { printf '%s' "$EPOCHREALTIME"; }
now_ms() { local t=$EPOCHREALTIME; printf '%s' $((${t%.*} * 1000 + 10#${t#*.} / 1000)); }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# ---------------------------------------------------------------- classpath

CP=""
jar_bytes() { tr ':' '\n' <"$1" | xargs -d '\n' stat -c %s | awk '{ s += $1 } END { print s + 0 }'; }
jar_count() { tr ':' '\n' <"$1" | grep -c .; }

# True when the cached classpath file exists and every jar in it still does.
cache_valid() {
    local jar
    [[ -s "$1" ]] || return 1
    while IFS= read -r -d ':' jar; do
        [[ -f "$jar" ]] || return 1
    done < <(tr -d '\n' <"$1"; printf ':')
}

# Resolves the broker classpath with Maven once; later calls read the cached
# list (kept next to the local Maven repository, keyed by the pom's hash) and
# never start Maven again while every jar in it still exists.
resolve_classpath() {
    [[ -f "$POM" ]] || die "missing $POM"
    local key cache_dir cache_file
    key=$(sha256sum "$POM" | cut -c1-16)
    cache_dir="$(dirname "$MAVEN_REPO_LOCAL")/erpsync-kafka"
    cache_file="$cache_dir/classpath-$key.txt"
    if cache_valid "$cache_file"; then
        CP=$(<"$cache_file")
        log "classpath: $(jar_count "$cache_file") jars, $(mb "$(jar_bytes "$cache_file")") MB (cached, no download)"
        return 0
    fi
    command -v "$MVN" >/dev/null || die "mvn not found (needed once to fetch the Kafka jars; apt-get install maven)"
    mkdir -p "$cache_dir" "$MAVEN_REPO_LOCAL"
    # One resolver at a time (parallel test runs share the cache): whoever
    # waited for the lock finds the classpath the first one wrote.
    local lock_fd
    exec {lock_fd}>"$cache_dir/.lock"
    if command -v flock >/dev/null; then
        flock "$lock_fd"
        if cache_valid "$cache_file"; then
            exec {lock_fd}>&-
            CP=$(<"$cache_file")
            log "classpath: $(jar_count "$cache_file") jars, $(mb "$(jar_bytes "$cache_file")") MB (resolved by a parallel run)"
            return 0
        fi
    fi
    local before after tmp out t0
    t0=$(now)
    before=$(du -sb "$MAVEN_REPO_LOCAL" | cut -f1)
    tmp="$cache_dir/.classpath.$$.$RANDOM"
    out=$(mktemp)
    log "resolving the Kafka jars with Maven (first run only) ..."
    if ! "$MVN" -B -q -f "$POM" -Dmaven.repo.local="$MAVEN_REPO_LOCAL" \
        dependency:build-classpath -Dmdep.includeScope=runtime \
        -Dmdep.outputFile="$tmp" >"$out" 2>&1; then
        cat "$out" >&2
        rm -f "$tmp" "$out"
        exec {lock_fd}>&-
        die "Maven could not resolve the Kafka jars (see above)"
    fi
    rm -f "$out"
    if ! cache_valid "$tmp"; then
        rm -f "$tmp"
        exec {lock_fd}>&-
        die "Maven wrote an empty or broken classpath"
    fi
    mv -f "$tmp" "$cache_file"
    exec {lock_fd}>&-
    after=$(du -sb "$MAVEN_REPO_LOCAL" | cut -f1)
    CP=$(<"$cache_file")
    log "downloaded $(mb $((after - before))) MB into $MAVEN_REPO_LOCAL in $(elapsed "$t0") s;" \
        "classpath: $(jar_count "$cache_file") jars, $(mb "$(jar_bytes "$cache_file")") MB"
}

check_java() {
    command -v "$JAVA" >/dev/null || die "java not found (Kafka needs Java 11 or newer; apt-get install openjdk-17-jre-headless)"
    local v
    v=$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ { print $2 }')
    if ! [[ "$v" =~ ^[0-9]+$ ]] || ((v < 11)); then
        die "Kafka needs Java 11 or newer, $JAVA is ${v:-unknown}"
    fi
}

# Runs a Kafka command line tool class with the resolved classpath.
tool() {
    local class=$1; shift
    CLASSPATH="$CP" "$JAVA" "${TOOL_JVM_OPTS[@]}" \
        -Dlog4j.configuration="file:$DIR/tools-log4j.properties" "$class" "$@"
}

# ---------------------------------------------------------------- helpers

PORTS_TAKEN=" "
# A free loopback TCP port below the kernel's ephemeral range, not handed out
# before by this run.
free_port() {
    local p i
    for ((i = 0; i < 500; i++)); do
        p=$((20000 + RANDOM % 12000))
        [[ "$PORTS_TAKEN" == *" $p "* ]] && continue
        if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then continue; fi
        if ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then continue; fi
        PORTS_TAKEN+="$p "
        printf '%s' "$p"
        return 0
    done
    die "no free loopback port found"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A random Kafka cluster id: 16 random bytes, URL-safe base64 without padding.
random_cluster_id() {
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        [[ ${#id} -eq 22 && "$id" != -* ]] && { printf '%s' "$id"; return 0; }
    done
}

# True when PID is alive and is the broker of this DIR (guards against a
# recycled pid).
is_our_broker() {
    local pid=$1 cmd
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ "$cmd" == *kafka.Kafka* && "$cmd" == *"$DIR/"* ]]
}

# True while PID exists and is not a zombie (a JVM that is exiting has
# already lost its cmdline but may still hold its sockets).
running() {
    local st
    st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

rss_mb() {
    awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || printf '?'
}

# Stops the given pids: SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT s.
stop_pids() {
    local pid alive deadline i
    local -a live=()
    for pid in "$@"; do is_our_broker "$pid" && live+=("$pid"); done
    ((${#live[@]})) || return 0
    kill -TERM "${live[@]}" 2>/dev/null || true
    deadline=$(($(now_ms) + KAFKA_STOP_TIMEOUT * 1000))
    while :; do
        alive=()
        for pid in "${live[@]}"; do running "$pid" && alive+=("$pid"); done
        ((${#alive[@]})) || return 0
        if (($(now_ms) >= deadline)); then
            log "SIGKILL to ${alive[*]} (still running ${KAFKA_STOP_TIMEOUT}s after SIGTERM)"
            kill -KILL "${alive[@]}" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                alive=()
                for pid in "${live[@]}"; do running "$pid" && alive+=("$pid"); done
                ((${#alive[@]})) || return 0
                sleep 0.1
            done
            log "pids ${alive[*]} survived SIGKILL"
            return 1
        fi
        sleep 0.2
    done
}

parse_dir() {
    [[ -n "${DIR:-}" ]] || die "--dir DIR is required"
    mkdir -p "$DIR" 2>/dev/null || true
    DIR=$(cd "$DIR" 2>/dev/null && pwd) || die "cannot use directory $DIR"
}

# For the commands that work on a running cluster: DIR must exist.
open_dir() {
    local what=$1
    [[ -n "${DIR:-}" ]] || die "$what: --dir DIR is required"
    [[ -d "$DIR" ]] || die "$what: no directory $DIR"
    DIR=$(cd "$DIR" && pwd)
}

# ---------------------------------------------------------------- pid files
#
# DIR/pids lists the pid of every node that runs, DIR/nodeN/pid the pid of
# node N. Changes to DIR/pids hold DIR/.pids.lock (with flock, when present)
# and replace the file by a rename, so kill-node and start-node calls running
# at the same time on one DIR keep each other's changes.

with_pids_lock() {
    local fd rc=0
    exec {fd}>"$DIR/.pids.lock"
    if command -v flock >/dev/null; then flock "$fd"; fi
    "$@" || rc=$?
    exec {fd}>&-
    return "$rc"
}

# pids_update DROP ADD: removes pid DROP from DIR/pids and appends pid ADD
# (either may be empty).
pids_update() {
    local drop=$1 add=$2 pid tmp="$DIR/.pids.$$"
    : >"$tmp"
    if [[ -f "$DIR/pids" ]]; then
        while read -r pid; do
            if [[ -n "$pid" && "$pid" != "$drop" && "$pid" != "$add" ]]; then
                printf '%s\n' "$pid" >>"$tmp"
            fi
        done <"$DIR/pids"
    fi
    if [[ -n "$add" ]]; then printf '%s\n' "$add" >>"$tmp"; fi
    mv -f "$tmp" "$DIR/pids"
}

# Every pid recorded in DIR (DIR/pids and DIR/node*/pid), once each.
recorded_pids() {
    local f
    for f in "$DIR/pids" "$DIR"/node*/pid; do
        [[ -f "$f" ]] && cat "$f"
    done | awk 'NF && !seen[$1]++ { print $1 }'
}

# True when PID is a broker of this DIR running node N.
is_node() {
    local pid=$1 n=$2
    is_our_broker "$pid" || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$DIR/node$n/server.properties"
}

# Prints the pid of node N when it runs: the recorded pid whose command line
# names node N's server.properties (directories from an older kafka.sh have
# DIR/pids only).
node_pid() {
    local n=$1 pid
    while read -r pid; do
        if is_node "$pid" "$n"; then
            printf '%s' "$pid"
            return 0
        fi
    done < <(recorded_pids)
    return 1
}

# A node number that exists in DIR.
check_node() {
    local what=$1 n=$2
    [[ "$n" =~ ^[1-9]$ ]] || die "$what: --node must be a node number (1, 2, ...), not '${n:-}'"
    [[ -f "$DIR/node$n/server.properties" ]] || die "$what: $DIR has no node $n (no $DIR/node$n/server.properties)"
}

# The port of LISTENER (PLAINTEXT, CONTROLLER, ...) in node N's server.properties.
node_port() {
    local n=$1 name=$2
    sed -n 's/^listeners=//p' "$DIR/node$n/server.properties" | tr ',' '\n' |
        sed -n "s|^$name://[^:]*:\([0-9][0-9]*\)\$|\1|p"
}

# Sets NODE_ARGV to the command line that runs node N: the JVM and its
# options (from the environment), then kafka.Kafka and the node's properties.
node_argv() {
    local nd="$DIR/node$1"
    # shellcheck disable=SC2206  # the option strings are word lists
    NODE_ARGV=("$JAVA" $KAFKA_HEAP_OPTS $KAFKA_GC_OPTS
        -XX:TieredStopAtLevel=1 -XX:MaxDirectMemorySize=256m -Djava.awt.headless=true -Dkafka.logs.dir="$nd/logs"
        -Dlog4j.configuration="file:$DIR/log4j.properties"
        $KAFKA_JVM_OPTS kafka.Kafka "$nd/server.properties")
}

# ---------------------------------------------------------------- start

STARTED_PIDS=()
START_OK=0

on_start_exit() {
    local rc=$?
    ((START_OK)) && return 0
    trap - EXIT INT TERM
    if ((${#STARTED_PIDS[@]})); then
        log "start failed; stopping the nodes it started (${STARTED_PIDS[*]})"
        KAFKA_STOP_TIMEOUT=5 stop_pids "${STARTED_PIDS[@]}" || true
        rm -f "$DIR/pids" "$DIR"/node*/pid
    fi
    local f
    for f in "$DIR"/node*/logs/server.log "$DIR"/node*/stdout.log; do
        [[ -s "$f" ]] || continue
        printf '%s: ---- last lines of %s\n' "$PROG" "$f" >&2
        grep -E 'ERROR|FATAL|Exception|Caused by' "$f" | tail -n 15 >&2 || tail -n 15 "$f" >&2
    done
    exit $((rc == 0 ? 1 : rc))
}

write_log4j() {
    cat >"$DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.authorizer.logger=INFO
log4j.logger.org.apache.kafka.metadata.authorizer=INFO
EOF
    cat >"$DIR/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# Metadata check: the broker answers a Metadata request and knows all nodes.
broker_ready() {
    local port=$1 want=$2 out
    port_open "$port" || return 1
    if command -v "$KCAT" >/dev/null; then
        out=$("$KCAT" -L -b "127.0.0.1:$port" -t __erpsync_probe -m 5 2>/dev/null) || return 1
        grep -qE "^ *$want brokers:" <<<"$out"
    else
        tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" \
            --list >/dev/null 2>&1
    fi
}

cmd_start() {
    local nodes=1 sasl=0 port=""
    DIR=""
    while (($#)); do
        case "$1" in
        --nodes) nodes=${2:-}; shift 2 || die "--nodes needs a value" ;;
        --nodes=*) nodes=${1#*=}; shift ;;
        --dir) DIR=${2:-}; shift 2 || die "--dir needs a value" ;;
        --dir=*) DIR=${1#*=}; shift ;;
        --sasl) sasl=1; shift ;;
        --port) port=${2:-}; shift 2 || die "--port needs a value" ;;
        --port=*) port=${1#*=}; shift ;;
        -h | --help) usage ;;
        *) die "start: unknown argument '$1'" ;;
        esac
    done
    [[ "$nodes" =~ ^[1-5]$ ]] || die "--nodes must be 1 to 5 (1 or 3 are the tested ones), not '$nodes'"
    # A fixed PLAINTEXT port (make run's 9092) is for one node only.
    if [[ -n "$port" ]]; then
        [[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "--port must be a port number, not '$port'"
        ((nodes == 1)) || die "--port is for one node only"
        port_open "$port" && die "port $port is in use by another process"
        PORTS_TAKEN+="$port "
    fi
    if [[ -z "$DIR" ]]; then
        DIR="${TMPDIR:-/tmp}/erpsync-kafka.$$.$RANDOM"
        mkdir -m 700 "$DIR" || die "cannot create $DIR"
        touch "$DIR/$MARKER"
    fi
    mkdir -p "$DIR" || die "cannot create $DIR"
    DIR=$(cd "$DIR" && pwd)

    # DIR must be empty or a directory this script made before (then its old
    # nodes are wiped, once none of them runs any more).
    local pid
    while read -r pid; do
        is_our_broker "$pid" && die "a Kafka started in $DIR still runs (pid $pid); run: $0 stop --dir $DIR"
    done < <(recorded_pids)
    if [[ -n "$(ls -A "$DIR")" && ! -f "$DIR/$MARKER" ]]; then
        die "$DIR is not empty and was not made by $PROG; give an empty or new directory"
    fi
    rm -rf "$DIR"/node[0-9] "$DIR"/pids "$DIR"/bootstrap "$DIR"/bootstrap_sasl "$DIR"/*.properties \
        "$DIR"/cluster_id "$DIR"/nodes "$DIR"/acls.log "$DIR"/topics.log "$DIR"/classpath
    touch "$DIR/$MARKER"

    trap on_start_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    local t_start t_boot
    t_start=$(now)
    check_java
    resolve_classpath
    write_log4j

    local -a pport cport sport
    local i voters="" rf misr cid
    for ((i = 1; i <= nodes; i++)); do
        if [[ -n "$port" ]]; then pport[i]=$port; else pport[i]=$(free_port); fi
        cport[i]=$(free_port)
        ((sasl)) && sport[i]=$(free_port)
        voters+="${voters:+,}$i@127.0.0.1:${cport[i]}"
    done
    rf=$((nodes < 3 ? nodes : 3))
    misr=$((rf >= 3 ? 2 : 1))
    cid=$(random_cluster_id)
    printf '%s\n' "$cid" >"$DIR/cluster_id"
    printf '%s\n' "$nodes" >"$DIR/nodes"

    local ctl_jaas="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"$ADMIN_USER\" password=\"$ADMIN_PASSWORD\" user_$ADMIN_USER=\"$ADMIN_PASSWORD\";"
    local scram_jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$ADMIN_USER\" password=\"$ADMIN_PASSWORD\";"
    local nd props listeners advertised
    for ((i = 1; i <= nodes; i++)); do
        nd="$DIR/node$i"
        mkdir -p "$nd/data" "$nd/logs"
        props="$nd/server.properties"
        listeners="PLAINTEXT://127.0.0.1:${pport[i]},CONTROLLER://127.0.0.1:${cport[i]}"
        advertised="PLAINTEXT://127.0.0.1:${pport[i]}"
        if ((sasl)); then
            listeners+=",SASL_PLAINTEXT://127.0.0.1:${sport[i]}"
            advertised+=",SASL_PLAINTEXT://127.0.0.1:${sport[i]}"
        fi
        {
            echo "# written by tests/kafka/kafka.sh"
            echo "process.roles=broker,controller"
            echo "node.id=$i"
            echo "controller.quorum.voters=$voters"
            echo "controller.listener.names=CONTROLLER"
            echo "listeners=$listeners"
            echo "advertised.listeners=$advertised"
            echo "log.dirs=$nd/data"
            echo "num.partitions=4"
            echo "default.replication.factor=$rf"
            echo "min.insync.replicas=$misr"
            echo "offsets.topic.replication.factor=$rf"
            echo "offsets.topic.num.partitions=8"
            echo "transaction.state.log.replication.factor=$rf"
            echo "transaction.state.log.min.isr=$misr"
            echo "transaction.state.log.num.partitions=8"
            echo "group.initial.rebalance.delay.ms=0"
            echo "auto.create.topics.enable=false"
            echo "log.cleaner.backoff.ms=1000"
            echo "log.cleaner.dedupe.buffer.size=16777216"
            echo "log.retention.check.interval.ms=30000"
            echo "num.network.threads=2"
            echo "num.io.threads=4"
            echo "num.recovery.threads.per.data.dir=1"
            echo "socket.request.max.bytes=104857600"
            if ((sasl)); then
                echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
                echo "inter.broker.listener.name=SASL_PLAINTEXT"
                echo "sasl.enabled.mechanisms=SCRAM-SHA-256"
                echo "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256"
                echo "listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-256"
                echo "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=$scram_jaas"
                # SCRAM credentials live in the metadata log, which the
                # controllers cannot read before they run: PLAIN for them.
                echo "sasl.mechanism.controller.protocol=PLAIN"
                echo "listener.name.controller.sasl.enabled.mechanisms=PLAIN"
                echo "listener.name.controller.plain.sasl.jaas.config=$ctl_jaas"
                echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
                echo "super.users=User:$ADMIN_USER"
                echo "allow.everyone.if.no.acl.found=false"
            else
                echo "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
                echo "inter.broker.listener.name=PLAINTEXT"
            fi
        } >"$props"
    done

    # Format every node's storage (in parallel: one JVM each).
    local t_fmt
    t_fmt=$(now)
    local -a fmt_args=(format --cluster-id "$cid" --ignore-formatted)
    if ((sasl)); then
        fmt_args+=(--add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]"
            --add-scram "SCRAM-SHA-256=[name=$ADMIN_USER,password=$ADMIN_PASSWORD]")
    fi
    local -a fmt_pids=()
    for ((i = 1; i <= nodes; i++)); do
        tool kafka.tools.StorageTool "${fmt_args[@]}" --config "$DIR/node$i/server.properties" \
            >"$DIR/node$i/format.log" 2>&1 &
        fmt_pids[i]=$!
    done
    for ((i = 1; i <= nodes; i++)); do
        if ! wait "${fmt_pids[i]}"; then
            cat "$DIR/node$i/format.log" >&2
            die "formatting the storage of node $i failed"
        fi
    done
    log "formatted $nodes node(s), cluster id $cid, in $(elapsed "$t_fmt") s"

    # Start the nodes, each in its own session and process group.
    # The command line and the classpath are kept in DIR, so that start-node
    # runs a node again exactly as it ran first.
    t_boot=$(now)
    : >"$DIR/pids"
    printf '%s\n' "$CP" >"$DIR/classpath"
    for ((i = 1; i <= nodes; i++)); do
        nd="$DIR/node$i"
        node_argv "$i"
        printf '%s\0' "${NODE_ARGV[@]}" >"$nd/cmdline"
        CLASSPATH="$CP" setsid "${NODE_ARGV[@]}" >"$nd/stdout.log" 2>&1 </dev/null &
        pid=$!
        STARTED_PIDS+=("$pid")
        printf '%s\n' "$pid" >>"$DIR/pids"
        printf '%s\n' "$pid" >"$nd/pid"
    done

    # Wait until every node answers a metadata request that lists all nodes.
    local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) ready
    local -a up=()
    while :; do
        ready=0
        for ((i = 1; i <= nodes; i++)); do
            pid=${STARTED_PIDS[i - 1]}
            if ! kill -0 "$pid" 2>/dev/null; then
                die "node $i (pid $pid) exited during start-up; logs in $DIR/node$i"
            fi
            if [[ -z "${up[i]:-}" ]] && broker_ready "${pport[i]}" "$nodes"; then
                up[i]=1
            fi
            [[ -n "${up[i]:-}" ]] && ready=$((ready + 1))
        done
        ((ready == nodes)) && break
        ((SECONDS < deadline)) || die "brokers not ready after ${KAFKA_START_TIMEOUT}s ($ready of $nodes)"
        sleep 0.3
    done

    local bootstrap="" bootstrap_sasl=""
    for ((i = 1; i <= nodes; i++)); do
        bootstrap+="${bootstrap:+,}127.0.0.1:${pport[i]}"
        ((sasl)) && bootstrap_sasl+="${bootstrap_sasl:+,}127.0.0.1:${sport[i]}"
    done
    printf '%s\n' "$bootstrap" >"$DIR/bootstrap"

    if ((sasl)); then
        printf '%s\n' "$bootstrap_sasl" >"$DIR/bootstrap_sasl"
        # librdkafka names (kcat -F, erpsync's configuration).
        {
            echo "security.protocol=SASL_PLAINTEXT"
            echo "sasl.mechanisms=SCRAM-SHA-256"
            echo "sasl.username=$SASL_USER"
            echo "sasl.password=$SASL_PASSWORD"
        } >"$DIR/sasl.properties"
        {
            echo "security.protocol=SASL_PLAINTEXT"
            echo "sasl.mechanisms=SCRAM-SHA-256"
            echo "sasl.username=$ADMIN_USER"
            echo "sasl.password=$ADMIN_PASSWORD"
        } >"$DIR/sasl_admin.properties"
        # Java client names, for the Kafka command line tools.
        {
            echo "security.protocol=SASL_PLAINTEXT"
            echo "sasl.mechanism=SCRAM-SHA-256"
            echo "sasl.jaas.config=$scram_jaas"
        } >"$DIR/admin.properties"
        grant_acls "$bootstrap_sasl"
    fi

    START_OK=1
    trap - EXIT INT TERM

    local rss=""
    for ((i = 1; i <= nodes; i++)); do
        pid=${STARTED_PIDS[i - 1]}
        rss+=" node$i(pid $pid)=$(rss_mb "$pid")MB"
    done
    log "started $nodes node(s) in $(elapsed "$t_start") s (JVM boot to ready: $(elapsed "$t_boot") s); RSS:$rss"
    log "logs: $DIR/node*/logs/server.log; stop with: $0 stop --dir $DIR"
    echo "dir=$DIR"
    if ((sasl)); then
        echo "sasl.bootstrap.servers=$bootstrap_sasl"
        echo "sasl.properties=$DIR/sasl.properties"
    fi
    echo "bootstrap.servers=$bootstrap"
}

# ACLs for the erpsync user (the admin user is a super user; ANONYMOUS, the
# principal of the PLAINTEXT listener, gets nothing).
grant_acls() {
    local bs=$1 t0 p
    t0=$(now)
    local -a common=(--bootstrap-server "$bs" --command-config "$DIR/admin.properties"
        --add --force --allow-principal "User:$SASL_USER")
    local -a pids=()
    : >"$DIR/acls.log"
    tool kafka.admin.AclCommand "${common[@]}" --topic '*' \
        --operation Read --operation Write --operation Describe --operation Create \
        --operation DescribeConfigs >>"$DIR/acls.log" 2>&1 &
    pids+=($!)
    tool kafka.admin.AclCommand "${common[@]}" --group '*' \
        --operation Read --operation Describe >>"$DIR/acls.log" 2>&1 &
    pids+=($!)
    wait "${pids[0]}" || { cat "$DIR/acls.log" >&2; die "adding the topic ACLs failed"; }
    wait "${pids[1]}" || { cat "$DIR/acls.log" >&2; die "adding the group ACLs failed"; }
    pids=()
    tool kafka.admin.AclCommand "${common[@]}" --transactional-id '*' \
        --operation Write --operation Describe >>"$DIR/acls.log" 2>&1 &
    pids+=($!)
    tool kafka.admin.AclCommand "${common[@]}" --cluster \
        --operation IdempotentWrite --operation Create --operation Describe >>"$DIR/acls.log" 2>&1 &
    pids+=($!)
    wait "${pids[0]}" || { cat "$DIR/acls.log" >&2; die "adding the transactional-id ACLs failed"; }
    wait "${pids[1]}" || { cat "$DIR/acls.log" >&2; die "adding the cluster ACLs failed"; }
    log "ACLs for User:$SASL_USER added in $(elapsed "$t0") s (listed in $DIR/acls.log)"
}

# ---------------------------------------------------------------- stop

cmd_stop() {
    DIR=""
    while (($#)); do
        case "$1" in
        --dir) DIR=${2:-}; shift 2 || die "--dir needs a value" ;;
        --dir=*) DIR=${1#*=}; shift ;;
        -h | --help) usage ;;
        *) die "stop: unknown argument '$1'" ;;
        esac
    done
    [[ -n "$DIR" ]] || die "stop: --dir DIR is required"
    [[ -d "$DIR" ]] || die "stop: no directory $DIR"
    DIR=$(cd "$DIR" && pwd)
    if [[ ! -f "$DIR/pids" ]] && ! compgen -G "$DIR/node*/pid" >/dev/null; then
        log "nothing to stop: no $DIR/pids"
        return 0
    fi
    local -a pids=()
    local pid t0
    while read -r pid; do pids+=("$pid"); done < <(recorded_pids)
    t0=$(now)
    if stop_pids "${pids[@]}"; then
        rm -f "$DIR/pids" "$DIR"/node*/pid
        log "stopped ${#pids[@]} node(s) (${pids[*]}) in $(elapsed "$t0") s"
    else
        die "could not stop all of ${pids[*]}"
    fi
}

# ---------------------------------------------------------------- topics

cmd_create_topics() {
    local rf=""
    DIR=""
    while (($#)); do
        case "$1" in
        --dir) DIR=${2:-}; shift 2 || die "--dir needs a value" ;;
        --dir=*) DIR=${1#*=}; shift ;;
        --replication) rf=${2:-}; shift 2 || die "--replication needs a value" ;;
        --replication=*) rf=${1#*=}; shift ;;
        -h | --help) usage ;;
        *) die "create-topics: unknown argument '$1'" ;;
        esac
    done
    [[ -n "$DIR" ]] || die "create-topics: --dir DIR is required"
    [[ -f "$DIR/bootstrap" ]] || die "create-topics: no $DIR/bootstrap (start Kafka with --dir $DIR first)"
    DIR=$(cd "$DIR" && pwd)
    if [[ -z "$rf" ]]; then
        local n
        n=$(cat "$DIR/nodes" 2>/dev/null || echo 1)
        rf=$((n < 3 ? n : 3))
    fi
    [[ "$rf" =~ ^[1-9]$ ]] || die "--replication must be a number from 1 to 9, not '$rf'"

    check_java
    resolve_classpath
    local bs t0
    local -a conn kc
    if [[ -f "$DIR/admin.properties" ]]; then
        bs=$(<"$DIR/bootstrap_sasl")
        conn=(--bootstrap-server "$bs" --command-config "$DIR/admin.properties")
        kc=(-b "$bs" -F "$DIR/sasl_admin.properties")
    else
        bs=$(<"$DIR/bootstrap")
        conn=(--bootstrap-server "$bs")
        kc=(-b "$bs")
    fi
    t0=$(now)
    # name, then topic configs
    local -a topics=(
        "erpsync.commands cleanup.policy=delete retention.ms=3600000"
        "erpsync.status cleanup.policy=compact"
        "erpsync.audit cleanup.policy=delete retention.ms=2592000000"
        "erpsync.commands.dlq cleanup.policy=delete"
    )
    local spec name cfg i
    local -a args pids=() names=()
    : >"$DIR/topics.log"
    for spec in "${topics[@]}"; do
        read -r name cfg <<<"$spec"
        args=(--create --if-not-exists --topic "$name" --partitions 4 --replication-factor "$rf")
        for cfg in ${spec#* }; do args+=(--config "$cfg"); done
        tool org.apache.kafka.tools.TopicCommand "${conn[@]}" "${args[@]}" >>"$DIR/topics.log" 2>&1 &
        pids+=($!)
        names+=("$name")
        # two at a time: this machine class has 2 cores
        if ((${#pids[@]} == 2)); then
            for i in 0 1; do
                wait "${pids[i]}" || { cat "$DIR/topics.log" >&2; die "creating topic ${names[i]} failed"; }
            done
            pids=() names=()
        fi
    done
    for i in "${!pids[@]}"; do
        wait "${pids[i]}" || { cat "$DIR/topics.log" >&2; die "creating topic ${names[i]} failed"; }
    done

    # Wait until every partition of every topic has a leader on the brokers.
    if command -v "$KCAT" >/dev/null; then
        local deadline=$((SECONDS + 60)) out ok
        while :; do
            ok=1
            for spec in "${topics[@]}"; do
                read -r name _ <<<"$spec"
                out=$("$KCAT" "${kc[@]}" -L -t "$name" -m 5 2>/dev/null) || { ok=0; break; }
                grep -qE "topic \"$name\" with [1-9][0-9]* partitions" <<<"$out" || { ok=0; break; }
                grep -qE 'leader -1|Broker: ' <<<"$out" && { ok=0; break; }
            done
            ((ok)) && break
            ((SECONDS < deadline)) || die "topics created but partitions have no leader after 60 s"
            sleep 0.3
        done
    fi
    log "topics ready (new ones with replication $rf, existing ones left as they are) in $(elapsed "$t0") s: erpsync.commands erpsync.status erpsync.audit erpsync.commands.dlq"
}

# ---------------------------------------------------------------- faults

# kill-node: SIGKILL to node N's broker (its pid only), then wait until the
# process is gone.
cmd_kill_node() {
    local n=""
    DIR=""
    while (($#)); do
        case "$1" in
        --dir) DIR=${2:-}; shift 2 || die "--dir needs a value" ;;
        --dir=*) DIR=${1#*=}; shift ;;
        --node) n=${2:-}; shift 2 || die "--node needs a value" ;;
        --node=*) n=${1#*=}; shift ;;
        -h | --help) usage ;;
        *) die "kill-node: unknown argument '$1'" ;;
        esac
    done
    open_dir kill-node
    check_node kill-node "$n"
    local pid t0 i
    pid=$(node_pid "$n") || die "kill-node: node $n is not running (no live broker pid recorded for it in $DIR)"
    t0=$(now)
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        running "$pid" || break
        sleep 0.05
    done
    running "$pid" && die "kill-node: node $n (pid $pid) still runs 10 s after SIGKILL"
    with_pids_lock pids_update "$pid" ""
    rm -f "$DIR/node$n/pid"
    log "node $n (pid $pid) killed with SIGKILL, gone after $(elapsed "$t0") s"
}

START_NODE_PID=""
START_NODE_DIR=""
START_NODE_OK=0

on_start_node_exit() {
    local rc=$?
    ((START_NODE_OK)) && return 0
    trap - EXIT INT TERM
    if [[ -n "$START_NODE_PID" ]]; then
        log "start-node failed; stopping the broker it started (pid $START_NODE_PID)"
        KAFKA_STOP_TIMEOUT=5 stop_pids "$START_NODE_PID" || true
        with_pids_lock pids_update "$START_NODE_PID" "" || true
        rm -f "$START_NODE_DIR/pid"
    fi
    local f
    for f in "$START_NODE_DIR/logs/server.log" "$START_NODE_DIR/stdout.log"; do
        [[ -s "$f" ]] || continue
        printf '%s: ---- last lines of %s\n' "$PROG" "$f" >&2
        grep -E 'ERROR|FATAL|Exception|Caused by' "$f" | tail -n 15 >&2 || tail -n 15 "$f" >&2
    done
    exit $((rc == 0 ? 1 : rc))
}

# True when the broker on PORT answers a Metadata request and lists node N
# among the live brokers.
node_ready() {
    local port=$1 n=$2 out
    port_open "$port" || return 1
    if command -v "$KCAT" >/dev/null; then
        out=$("$KCAT" -L -b "127.0.0.1:$port" -t __erpsync_probe -m 5 2>/dev/null) || return 1
        grep -qE "^ *broker $n at " <<<"$out"
    else
        tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" \
            --list >/dev/null 2>&1
    fi
}

# start-node: runs node N again with its server.properties, data and ports,
# and the JVM command line start used for it; no formatting.
cmd_start_node() {
    local n=""
    DIR=""
    while (($#)); do
        case "$1" in
        --dir) DIR=${2:-}; shift 2 || die "--dir needs a value" ;;
        --dir=*) DIR=${1#*=}; shift ;;
        --node) n=${2:-}; shift 2 || die "--node needs a value" ;;
        --node=*) n=${1#*=}; shift ;;
        -h | --help) usage ;;
        *) die "start-node: unknown argument '$1'" ;;
        esac
    done
    open_dir start-node
    check_node start-node "$n"
    local nd="$DIR/node$n" pid port p
    if pid=$(node_pid "$n"); then
        die "start-node: node $n already runs (pid $pid)"
    fi
    compgen -G "$nd/data/meta.properties" >/dev/null ||
        die "start-node: $nd/data is not formatted (start the cluster with: $0 start --dir $DIR)"
    port=$(node_port "$n" PLAINTEXT)
    [[ -n "$port" ]] || die "start-node: no PLAINTEXT listener in $nd/server.properties"
    for p in $(sed -n 's/^listeners=//p' "$nd/server.properties" | grep -oE ':[0-9]+(,|$)' | tr -d ':,'); do
        port_open "$p" && die "start-node: port $p of node $n is in use by another process"
    done

    # The classpath start used, unless one of its jars is gone.
    if cache_valid "$DIR/classpath"; then
        CP=$(<"$DIR/classpath")
    else
        check_java
        resolve_classpath
    fi
    # The command line start used (directories made by an older kafka.sh
    # have none: then the JVM options come from the environment).
    local -a argv
    if [[ -s "$nd/cmdline" ]]; then
        mapfile -d '' -t argv <"$nd/cmdline"
    else
        log "no $nd/cmdline; JVM options from the environment"
        node_argv "$n"
        argv=("${NODE_ARGV[@]}")
    fi

    START_NODE_DIR=$nd
    trap on_start_node_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    local t0
    t0=$(now)
    printf '%s: ---- start-node %s\n' "$PROG" "$(date -u +%FT%TZ)" >>"$nd/stdout.log"
    CLASSPATH="$CP" setsid "${argv[@]}" >>"$nd/stdout.log" 2>&1 </dev/null &
    pid=$!
    START_NODE_PID=$pid
    with_pids_lock pids_update "" "$pid"
    printf '%s\n' "$pid" >"$nd/pid"

    local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    while :; do
        running "$pid" || die "node $n (pid $pid) exited during start-up; logs in $nd"
        node_ready "$port" "$n" && break
        ((SECONDS < deadline)) || die "node $n not ready after ${KAFKA_START_TIMEOUT}s"
        sleep 0.2
    done
    START_NODE_OK=1
    trap - EXIT INT TERM
    log "node $n (pid $pid) started again in $(elapsed "$t0") s (127.0.0.1:$port answers and lists broker $n); RSS $(rss_mb "$pid") MB"
}

# leader: prints the node.id that leads partition P of topic T now.
cmd_leader() {
    local topic="" part=0
    DIR=""
    while (($#)); do
        case "$1" in
        --dir) DIR=${2:-}; shift 2 || die "--dir needs a value" ;;
        --dir=*) DIR=${1#*=}; shift ;;
        --topic) topic=${2:-}; shift 2 || die "--topic needs a value" ;;
        --topic=*) topic=${1#*=}; shift ;;
        --partition) part=${2:-}; shift 2 || die "--partition needs a value" ;;
        --partition=*) part=${1#*=}; shift ;;
        -h | --help) usage ;;
        *) die "leader: unknown argument '$1'" ;;
        esac
    done
    open_dir leader
    [[ -n "$topic" ]] || die "leader: --topic T is required"
    [[ "$part" =~ ^[0-9]+$ ]] || die "leader: --partition must be a number, not '$part'"
    [[ -f "$DIR/bootstrap" ]] || die "leader: no $DIR/bootstrap (start Kafka with --dir $DIR first)"
    local bs leader
    local -a kc
    if [[ -f "$DIR/sasl_admin.properties" ]]; then
        bs=$(<"$DIR/bootstrap_sasl")
        kc=(-b "$bs" -F "$DIR/sasl_admin.properties")
    else
        bs=$(<"$DIR/bootstrap")
        kc=(-b "$bs")
    fi
    if command -v "$KCAT" >/dev/null; then
        local json
        json=$("$KCAT" "${kc[@]}" -L -J -t "$topic" -m 5 2>/dev/null) || die "leader: no metadata from $bs"
        if command -v jq >/dev/null; then
            leader=$(jq -r --arg t "$topic" --argjson p "$part" '
                [.topics[]? | select(.topic == $t)][0] as $x
                | if $x == null then "no topic"
                  elif $x.error then "topic error: \($x.error)"
                  else ([$x.partitions[]? | select(.partition == $p)][0] as $q
                        | if $q == null then "no partition"
                          elif $q.error then "partition error: \($q.error)"
                          else ($q.leader | tostring) end)
                  end' <<<"$json") || die "leader: cannot parse kcat's metadata"
        else
            leader=$(python3 -c '
import json, sys
t, p = sys.argv[1], int(sys.argv[2])
m = json.load(sys.stdin)
x = next((x for x in m.get("topics", []) if x.get("topic") == t), None)
if x is None:
    print("no topic")
elif x.get("error"):
    print("topic error: %s" % x["error"])
else:
    q = next((q for q in x.get("partitions", []) if q.get("partition") == p), None)
    if q is None:
        print("no partition")
    elif q.get("error"):
        print("partition error: %s" % q["error"])
    else:
        print(q["leader"])
' "$topic" "$part" <<<"$json") || die "leader: cannot parse kcat's metadata"
        fi
    else
        # Without kcat: the Java TopicCommand's describe output.
        check_java
        resolve_classpath
        local -a conn=(--bootstrap-server "$bs")
        [[ -f "$DIR/admin.properties" ]] && conn+=(--command-config "$DIR/admin.properties")
        leader=$(tool org.apache.kafka.tools.TopicCommand "${conn[@]}" --describe --topic "$topic" 2>/dev/null |
            awk -v p="$part" '{ for (i = 1; i < NF; i++) { if ($i == "Partition:") q = $(i + 1); if ($i == "Leader:" && q == p) { print $(i + 1); exit } } }') || true
        [[ -n "$leader" ]] || leader="no partition"
    fi
    [[ "$leader" == -1 || "$leader" == none ]] && leader="no leader now"
    [[ "$leader" =~ ^[0-9]+$ ]] || die "leader: $topic partition $part: $leader"
    printf '%s\n' "$leader"
}

# ---------------------------------------------------------------- main

main() {
    (($#)) || usage
    [[ "$KAFKA_START_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT must be whole seconds"
    [[ "$KAFKA_STOP_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_STOP_TIMEOUT must be whole seconds"
    local cmd=$1; shift
    case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    create-topics) cmd_create_topics "$@" ;;
    kill-node) cmd_kill_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    leader) cmd_leader "$@" ;;
    classpath)
        resolve_classpath
        printf '%s\n' "$CP"
        ;;
    -h | --help | help) usage ;;
    *) die "unknown command '$cmd' (start, stop, create-topics, kill-node, start-node, leader, classpath)" ;;
    esac
}

main "$@"
