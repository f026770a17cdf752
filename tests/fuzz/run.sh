#!/usr/bin/env bash
# Fuzz smoke run for CI: builds every libFuzzer target with clang (ASan +
# UBSan), regenerates the seed corpus, fuzzes each target for N seconds on a
# throw-away copy of its corpus and prints one line per target.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 20, all)
#
# The build goes to build-fuzz/ under the repository root (ERPSYNC_FUZZ_BUILD
# overrides).
#
# Each target first replays its known reproducers (tests/fuzz/crashes/
# <target>-*), so a bug stays red until it is fixed, then fuzzes from its
# seeds. Exits 1 when a reproducer still crashes or fuzzing found a crash (or
# leak, timeout, out-of-memory); the inputs are kept in
# build-fuzz/artifacts/<target>/. The committed corpus is never written to.
set -euo pipefail

secs=${1:-20}
shift || true
case $secs in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
    ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ERPSYNC_FUZZ_BUILD:-$root/build-fuzz}
artifacts=$build/artifacts
logs=$build/logs

# ---- tools ----
if ! command -v clang >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "run.sh: installing clang (libFuzzer) from the distribution"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            $("$root/scripts/packages.sh" fuzz) >/dev/null
    else
        echo "run.sh: clang is missing; install it (apt-get install clang)" >&2
        exit 2
    fi
fi
for tool in cmake pkg-config python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run.sh: $tool is missing (scripts/install-deps.sh installs it)" >&2
        exit 2
    fi
done
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null 2>&1; then
    export ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ---- build ----
mkdir -p "$build"
if ! cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang >"$build/configure.log" 2>&1; then
    cat "$build/configure.log" >&2
    exit 2
fi
jobs=$(nproc 2>/dev/null || echo 2)
if ! cmake --build "$build" -j "$jobs" >"$build/build.log" 2>&1; then
    cat "$build/build.log" >&2
    exit 2
fi

# ---- corpus ----
python3 "$here/make_corpus.py"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets <"$build/targets.txt"
fi
mkdir -p "$artifacts" "$logs"

# ---- run ----
work=$(mktemp -d)
# The targets that parse files make a private directory under TMPDIR; one that
# crashes cannot remove it, so give them one that goes away with $work.
mkdir -p "$work/tmp"
export TMPDIR=$work/tmp
fuzz_pid=
cleanup() {
    if [ -n "$fuzz_pid" ]; then
        kill -TERM "$fuzz_pid" 2>/dev/null || true
        wait "$fuzz_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The place a log blames: "file.c:LINE" of the first sanitizer report or
# failed check, for telling a known bug from a new one.
crash_site() {
    grep -m 1 -E 'runtime error|check failed|^SUMMARY: AddressSanitizer|^    #0 ' "$1" |
        grep -oE '[A-Za-z0-9_./-]+\.c:[0-9]+' | head -n 1 || true
}

# Starts a command in the background and waits for it, so a signal to this
# script reaches the trap at once and the trap stops exactly that process.
run_bg() {
    local out=$1
    shift
    "$@" >"$out" 2>&1 &
    fuzz_pid=$!
    set +e
    wait "$fuzz_pid"
    local rc=$?
    set -e
    fuzz_pid=
    return $rc
}

failed=0
rows=()
failures=()
for t in "${targets[@]}"; do
    bin=$build/$t
    if [ ! -x "$bin" ]; then
        echo "run.sh: no such target: $t" >&2
        exit 2
    fi
    log=$logs/$t.log
    mkdir -p "$artifacts/$t" "$work/replay"
    rm -f "$logs/$t".replay-*.log

    # 1. Known reproducers, one at a time: which still crash, and where.
    known_total=0
    known_red=0
    known_sites=()
    for repro in "$here/crashes/$t"-*; do
        [ -f "$repro" ] || continue
        known_total=$((known_total + 1))
        rlog=$logs/$t.replay-$(basename "$repro").log
        if run_bg "$rlog" "$bin" -artifact_prefix="$work/replay/" "$repro"; then
            rm -f "$rlog"
        else
            known_red=$((known_red + 1))
            known_sites+=("$(crash_site "$rlog") crashes/$(basename "$repro")")
            failures+=("$t: known bug still present: $repro
      $(grep -m 1 -E 'runtime error|check failed|SUMMARY' "$rlog" | cut -c1-200)
      log: $rlog")
        fi
    done
    if [ "$known_total" = 0 ]; then
        known=-
    else
        known="$known_red/$known_total crash"
    fi

    # 2. Fuzz from the seeds, on a copy.
    corpus=$work/corpus/$t
    mkdir -p "$corpus"
    if [ -d "$here/corpus/$t" ]; then
        cp -R "$here/corpus/$t/." "$corpus/"
    fi
    before=$(ls -A "$artifacts/$t")
    start=$(date +%s.%N)
    rc=0
    run_bg "$log" "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -dict="$here/erpsync.dict" \
        -artifact_prefix="$artifacts/$t/" "$corpus" || rc=$?
    end=$(date +%s.%N)

    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ -z "$runs" ]; then
        runs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
    fi
    elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

    found=()
    while IFS= read -r f; do
        [ -n "$f" ] && found+=("$artifacts/$t/$f")
    done < <(comm -13 <(printf '%s\n' "$before" | sort) \
        <(ls -A "$artifacts/$t" | sort))

    if [ "$rc" = 0 ] && [ ${#found[@]} = 0 ]; then
        result=ok
    elif [ ${#found[@]} -gt 0 ]; then
        kind=$(basename "${found[0]}")
        kind=${kind%%-*}
        [ "$kind" = slow ] && kind=slow-unit
        site=$(crash_site "$log")
        result="$kind (new)"
        for ks in "${known_sites[@]}"; do
            if [ -n "$site" ] && [ "${ks%% *}" = "$site" ]; then
                result="$kind (at $site, as ${ks#* })"
                break
            fi
        done
        for f in "${found[@]}"; do
            failures+=("$t: $result: $f
      $(grep -m 1 -E 'runtime error|check failed|SUMMARY' "$log" | cut -c1-200)
      replay: $bin $f")
        done
    else
        result="error (exit $rc, see $log)"
        failures+=("$t: $result")
    fi
    if [ "$result" != ok ] || [ "$known_red" != 0 ]; then
        failed=1
    fi
    rows+=("$(printf '%-20s %10s %7s  %-12s %s' "$t" "${runs:-?}" "$elapsed" "$known" "$result")")
    printf 'run.sh: %-20s known %-12s fuzz %s\n' "$t" "$known" "$result"
done

echo
printf '%-20s %10s %7s  %-12s %s\n' target runs seconds known result
printf '%-20s %10s %7s  %-12s %s\n' -------------------- ---------- ------- ------------ ------
printf '%s\n' "${rows[@]}"
echo
echo "known: reproducers in tests/fuzz/crashes/ that still crash"
echo "result: what $secs s of fuzzing from the seeds found"

if [ "$failed" != 0 ]; then
    echo
    echo "Failures (inputs in $artifacts/, logs in $logs/):"
    for f in "${failures[@]}"; do
        echo "  $f"
    done
    exit 1
fi
echo "run.sh: all targets clean"
