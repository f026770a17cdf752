#!/bin/sh
# Writes a man page (section 1) for an erpsync program from its --help: the
# settings table prints --help, so the page lists exactly the settings,
# defaults and bounds the program accepts. Run by the build (target `man`).
#
#   scripts/gen-man.sh PROGRAM VERSION OUT
set -eu

[ $# -eq 3 ] || { echo "usage: gen-man.sh PROGRAM VERSION OUT" >&2; exit 2; }
prog=$1
version=$2
out=$3
name=$(basename "$prog")

case "$name" in
erpsync-agent) what="runs one ERP sync engine, driven by commands on Kafka" ;;
erpsync-shim) what="the WebAPI ErpSync REST front door of erpsync" ;;
erpsyncctl) what="read engine status and audit, send commands, from Kafka" ;;
erpsync-devbroker) what="a development Kafka broker (librdkafka's mock cluster)" ;;
*) what="an erpsync program" ;;
esac

# A sanitizer build's leak report must not fail the build.
help=$(ASAN_OPTIONS=detect_leaks=0 "$prog" --help) || {
    echo "gen-man.sh: $prog --help failed" >&2
    exit 1
}
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
mkdir -p "$(dirname "$out")"

upper=$(printf '%s' "$name" | tr 'a-z' 'A-Z')
{
    printf '.TH %s 1 "" "erpsync %s" "erpsync manual"\n' "$upper" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$name" "$what"
    printf '%s\n' "$help" | awk '
        # roff: a backslash is \e; a leading dot or quote would be a request.
        function esc(s) { gsub(/\\/, "\\e", s); return s }
        function line(s) { s = esc(s); sub(/^[.\047]/, "\\\\\\&&", s); return s }
        BEGIN { part = "synopsis"; print ".SH SYNOPSIS"; print ".nf" }
        /^Options:$/ { print ".fi"; print ".SH OPTIONS"; part = "options"; next }
        /^Settings:$/ { print ".SH SETTINGS"; part = "settings"; next }
        part == "synopsis" { if ($0 != "") print line($0); next }
        part == "options" && /^  -/ {
            opt = substr($0, 3); flag = opt; sub(/  +.*/, "", flag)
            text = opt; sub(/^[^ ]+( [^ ]+)?  +/, "", text)
            printf ".TP\n.B %s\n%s\n", esc(flag), line(text); next
        }
        part == "settings" && /^  [^ ]/ {
            setting = $1; type = $2; rest = $0; sub(/^.*default: /, "", rest)
            printf ".TP\n.BR %s \" (%s, default: %s)\"\n", esc(setting), type, esc(rest); next
        }
        part == "settings" && /^      / { t = $0; sub(/^ +/, "", t); print line(t); next }
    '
    cat <<'EOT'
.SH ENVIRONMENT
Every setting is also read from
.BR ERPSYNC_ NAME :
the setting name in upper case with dots and dashes as underscores
(engine.id is ERPSYNC_ENGINE_ID). Precedence, lowest first: defaults, the
files given with \-c, the environment, the command line.
.SH FILES
A config file holds one
.I name = value
per line; lines starting with # are comments;
.I kafka.<property> = value
passes a librdkafka property through, as \-X does.
.SH EXIT STATUS
0 on success and after \-\-help, \-\-version or a valid \-\-check;
2 for a bad setting, file or argument. See docs/configuration.md for each
program's other codes.
.SH SEE ALSO
.BR erpsync-agent (1),
.BR erpsync-shim (1),
.BR erpsyncctl (1),
.BR erpsync-devbroker (1)
EOT
} >"$tmp"
mv -f "$tmp" "$out"
trap - EXIT
