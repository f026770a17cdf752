#!/bin/sh
# packages.sh USE... - the Debian packages of each use (build, test, kafka,
# ci, fuzz, runtime) from packaging/debian-packages, space-separated.
# PACKAGES_FILE overrides the list's path (the Docker build copies it).
set -eu
list=${PACKAGES_FILE:-$(dirname "$0")/../packaging/debian-packages}
[ $# -gt 0 ] || { echo "usage: packages.sh USE..." >&2; exit 2; }
for use in "$@"; do
    grep -q "^$use " "$list" || { echo "packages.sh: no use \"$use\" in $list" >&2; exit 2; }
done
awk -v uses=" $* " 'index(uses, " " $1 " ") { for (i = 2; i <= NF; i++) printf "%s ", $i }' "$list" | xargs
