#!/bin/sh
# make run: devbroker, one agent and one shim on localhost, in the foreground.
# Ctrl-C (or SIGTERM) stops all three. Settings from the environment:
#   ERPSYNC_DEMO_USER / ERPSYNC_DEMO_PASSWORD  demo credentials (else generated)
#   ERPSYNC_KAFKA_PORT (9092), ERPSYNC_HTTP_PORT (8080), ERPSYNC_ENGINE (demo)
#   ERPSYNC_RUN_DIR (.run)  state, users file and logs
set -eu

build=${1:-build}
bin="$build"
kport=${ERPSYNC_KAFKA_PORT:-9092}
hport=${ERPSYNC_HTTP_PORT:-8080}
engine=${ERPSYNC_ENGINE:-demo}
dir=${ERPSYNC_RUN_DIR:-.run}
user=${ERPSYNC_DEMO_USER:-demo}
password=${ERPSYNC_DEMO_PASSWORD:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}

mkdir -p "$dir/state"
umask 077
hash=$(printf '%s\n' "$password" | "$bin/shim/erpsync-shim" --hash-password)
printf '%s:%s:%s:admin\n' "$user" "$hash" "tenant-$engine" >"$dir/users"
printf '%s:%s\n' "tenant-$engine" "$engine" >"$dir/tenants"

pids=""
stop() {
    trap - INT TERM EXIT
    echo
    echo "stopping shim, agent and devbroker"
    # Only the processes this script started, newest first, each finished
    # before the next: the agent commits while the broker is still there.
    for p in $pids; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    exit 0
}
trap stop INT TERM EXIT

# Each in a session of its own: Ctrl-C reaches only this script, which then
# stops them in order (shim, agent, broker) so the agent can still commit.
setsid "$bin/devbroker/erpsync-devbroker" --port="$kport" --port.file="$dir/broker" \
    >"$dir/devbroker.log" 2>&1 &
pids="$! $pids"
i=0
while [ ! -s "$dir/broker" ]; do
    i=$((i + 1))
    if [ $i -gt 50 ]; then
        echo "devbroker did not start; see $dir/devbroker.log" >&2
        cat "$dir/devbroker.log" >&2
        exit 1
    fi
    sleep 0.1
done
broker=$(cat "$dir/broker")

setsid "$bin/agent/erpsync-agent" --engine.id="$engine" --bootstrap.servers="$broker" \
    --state.dir="$dir/state" >"$dir/agent.log" 2>&1 &
pids="$! $pids"
setsid "$bin/shim/erpsync-shim" --bootstrap.servers="$broker" --users.file="$dir/users" --tenants.file="$dir/tenants" \
    --listen.port="$hport" >"$dir/shim.log" 2>&1 &
pids="$! $pids"
echo "$pids" >"$dir/pids"

i=0
until curl -fs "http://127.0.0.1:$hport/readyz" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "shim did not become ready; see $dir/shim.log" >&2
        tail -5 "$dir/shim.log" >&2
        exit 1
    fi
    sleep 0.1
done

cat <<EOT

erpsync is running (logs in $dir/):
  Kafka (devbroker)  $broker
  REST (shim)        http://127.0.0.1:$hport/api/v1/Agents/ErpSync/
  engine             $engine
  demo credentials   $user / $password

Start the engine:
  curl -s -u '$user:$password' -H 'Content-Type: application/json' \\
       -d '{"Run": true}' http://127.0.0.1:$hport/api/v1/Agents/ErpSync/ChangeEngineStatus

Watch the status topic:
  kcat -C -b $broker -t erpsync.status -X isolation.level=read_committed -f '%k %h %s\\n'

Ctrl-C stops everything.
EOT
while :; do sleep 1; done
