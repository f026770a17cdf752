# lib.sh - shell helpers shared by run.sh, ryw.sh, batch_burst.sh and fleet.sh (sourced, not run):
# processes stopped by pid only, the temporary directory removed (its logs
# kept on failure), free loopback ports, waiting with a bound, and nginx
# serving one fixed body. Uses the caller's $tmp and $out.

die() {
    echo "${0##*/}: $*" >&2
    exit 1
}

alive() { # PID: running and not a zombie
    [ -r "/proc/$1/stat" ] && ! awk '{ exit !($3 == "Z") }' "/proc/$1/stat" 2>/dev/null
}

stop_pid() { # PID: SIGTERM, up to 15 s, then SIGKILL; only this pid
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 150); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        echo "${0##*/}: pid $pid ignored SIGTERM for 15 s; SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

remove_tmp() { # RC: $tmp goes; on failure (RC != 0) its logs go to $out/failed-logs
    local rc=$1
    [ -n "$tmp" ] && [ -d "$tmp" ] || return 0
    if [ "$rc" -ne 0 ]; then
        mkdir -p "$out/failed-logs"
        cp "$tmp"/*.log "$out/failed-logs/" 2>/dev/null || true
        echo "${0##*/}: failed (exit $rc); logs in $out/failed-logs/" >&2
    fi
    rm -rf "$tmp"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_until() { # SECONDS WHAT COMMAND...
    local secs=$1 what=$2 i
    shift 2
    for i in $(seq $((secs * 10))); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    die "timed out after ${secs}s waiting for $what"
}

# nginx_conf DIR PORT BODY_FILE: DIR/nginx.conf for nginx -p DIR, 2 workers
# (as the shim's 2 HTTP threads), keep-alive without limits, answering
# every path with the body (and /status.json from DIR/www).
nginx_conf() {
    local dir=$1 port=$2 body
    body=$(sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g" "$3")
    mkdir -p "$dir/nginx-tmp"
    cat >"$dir/nginx.conf" <<NGINX
worker_processes 2;
error_log $dir/nginx-error.log warn;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/nginx-tmp/body;
    proxy_temp_path $dir/nginx-tmp/proxy;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    keepalive_timeout 65;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$port;
        default_type application/json;
        location = /status.json { root $dir/www; }
        location / { return 200 '$body'; }
    }
}
NGINX
}

burst_tool() { # SRC: the path of bench_agent_burst, built when missing or stale
    local src=$1 exe=$1/build/bench-tools/bench_agent_burst
    if [ ! -x "$exe" ] || [ "$src/tests/bench/bench_agent_burst.c" -nt "$exe" ]; then
        cmake -S "$src/tests/bench" -B "$src/build/bench-tools" >/dev/null
        cmake --build "$src/build/bench-tools" --target bench_agent_burst >/dev/null
    fi
    echo "$exe"
}

own_kafka() { # SRC DIR [NODES]: a real Kafka of its own in DIR (kafka.sh)
    "$1/tests/kafka/kafka.sh" start --dir "$2" --nodes "${3:-1}" >/dev/null
}
