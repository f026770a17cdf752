#!/usr/bin/env bash
# Renders the pictures of docs/ from their text sources (Graphviz).
set -euo pipefail
cd "$(dirname "$0")"
command -v dot >/dev/null || { echo "render.sh: needs Graphviz: apt-get install graphviz" >&2; exit 1; }
dot -Tpng -Gdpi=110 architecture.dot -o img/architecture.png
echo "docs/img/architecture.png"
