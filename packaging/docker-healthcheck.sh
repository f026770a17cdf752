#!/bin/bash
# HEALTHCHECK of the erpsync image, for whichever program runs as pid 1:
# the shim is healthy when GET /readyz answers 200 (Kafka reachable, status
# topic read); the agent while it runs (it exits on what it cannot survive).
set -u
mapfile -d '' -t argv </proc/1/cmdline
case "${argv[0]:-}" in
*erpsync-shim)
    port=${ERPSYNC_LISTEN_PORT:-8080}
    for a in "${argv[@]}"; do
        case "$a" in --listen.port=*) port=${a#--listen.port=} ;; esac
    done
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
    head -n 1 <&3 | grep -q ' 200 '
    ;;
*) exit 0 ;;
esac
