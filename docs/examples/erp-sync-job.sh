#!/bin/sh
# An example sync job for erpsync-agent (job.command). One run is one
# iteration: do one pass of work, then exit. Exit 0 means Succeeded; any
# other code means Failed, and the last line written to stderr becomes the
# iteration's Detail in the status event.
#
#   erpsync-agent --engine.id=acme --job.command=/opt/erp/erp-sync-job.sh \
#       --job.args="--connection acme-erp" --job.timeout.ms=600000
set -eu

connection=${2:-default}
echo "iteration $ERPSYNC_ITERATION of engine $ERPSYNC_ENGINE_ID" \
     "(previous: $ERPSYNC_PREVIOUS_OUTCOME), connection $connection"

# Stop promptly and cleanly when the engine is stopped or the agent exits:
# erpsync sends SIGTERM to the whole process group, SIGKILL after
# job.kill.grace.ms.
trap 'echo "interrupted; partial batch rolled back" >&2; exit 143' TERM

# Replace this with the real work: poll the ERP connection for changes and
# push them on. Here: pretend to sync for a second.
sleep 1
echo "synced 0 changes from $connection" >&2
